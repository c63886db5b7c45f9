"""Relevance filter on the labelled set: precision and recall, whole set and held-apart part.

    python bench/relevance.py            # figures, then the false keeps and the misses
    python bench/relevance.py --quiet    # figures only
    python bench/relevance.py --threshold 0.4
    python bench/relevance.py --pages    # through extraction, as `defnews extract --json` does

The set (tests/fixtures/relevance/) holds Arabic news stories and openings written or
paraphrased for it, labelled by reading: about a third defense news, the rest mostly other
news that borrows defense vocabulary (civil defence, defence lawyers, price wars, "the white
army", traffic radars, farm drones, space launches, sport, police, cyber, metaphors).
``heldout/`` is the part the rules were never tuned on: its figures are the honest ones.
A story counts as kept when its score reaches the threshold, as for a source with
``relevance_filter: true``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "tests" / "fixtures" / "relevance"
_FIELDS = ("id", "region", "kind", "label", "title", "text")


@dataclass(frozen=True)
class Story:
    id: str
    part: str  # "dev" | "heldout"
    region: str
    kind: str
    label: int  # 1 defense news, 0 not
    title: str
    text: str


def load_set(root: Path = SET) -> list[Story]:
    """Every labelled story, from rows ``[id, region, kind, label, title, text]`` or mappings."""
    out: list[Story] = []
    for part in ("dev", "heldout"):
        for path in sorted((root / part).glob("*.yaml")):
            for row in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                item = dict(zip(_FIELDS, row)) if isinstance(row, list) else row
                out.append(Story(str(item["id"]), part, str(item["region"]), str(item["kind"]),
                                 int(item["label"]), str(item["title"]), str(item["text"])))
    ids = Counter(s.id for s in out)
    dup = [i for i, n in ids.items() if n > 1]
    if dup:
        raise ValueError(f"duplicate ids in the relevance set: {dup}")
    return out


@dataclass(frozen=True)
class Figures:
    n: int
    positives: int
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def figures(stories: list[Story], kept: dict[str, bool]) -> Figures:
    tp = sum(1 for s in stories if s.label and kept[s.id])
    fp = sum(1 for s in stories if not s.label and kept[s.id])
    fn = sum(1 for s in stories if s.label and not kept[s.id])
    return Figures(len(stories), sum(s.label for s in stories), tp, fp, fn)


def as_page(s: Story) -> bytes:
    """A story as a plain news page, for the path a crawl takes (extraction, cleaning)."""
    from html import escape

    paras = "".join(f"<p>{escape(p)}</p>" for p in s.text.split(". ") if p.strip())
    return (f'<html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{escape(s.title)} | موقع</title>'
            f'</head><body><nav><a href="/">الرئيسية</a></nav><article><h1>{escape(s.title)}</h1>{paras}'
            f'</article><footer>جميع الحقوق محفوظة</footer></body></html>').encode("utf-8")


def evaluate(threshold: float | None = None, *, pages: bool = False
             ) -> tuple[list[Story], dict[str, float], dict[str, bool]]:
    """Scores of every story (``pages``: of the record extracted from it as a web page)."""
    from crawler.text.relevance import THRESHOLD, score

    t = THRESHOLD if threshold is None else threshold
    stories = load_set()
    if pages:
        from crawler.text.extract import extract_record

        scores = {}
        for s in stories:
            rec = extract_record(as_page(s), f"https://news.example/{s.id}")
            scores[s.id] = rec.relevance if rec is not None and rec.relevance is not None else 0.0
    else:
        scores = {s.id: score(s.title, s.text) for s in stories}
    return stories, scores, {i: v >= t for i, v in scores.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threshold", type=float, default=None, help="default: the filter's THRESHOLD")
    ap.add_argument("--quiet", action="store_true", help="figures only")
    ap.add_argument("--pages", action="store_true",
                    help="wrap each story as a news page and score what extraction makes of it")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    stories, scores, kept = evaluate(args.threshold, pages=args.pages)
    elapsed = time.perf_counter() - started
    hard = [s for s in stories if not s.label]
    print(f"{'part':<10}{'stories':>8}{'defense':>8}{'kept':>6}{'false keeps':>12}{'misses':>7}"
          f"{'precision':>10}{'recall':>8}")
    for name, part in (("whole", stories), ("dev", [s for s in stories if s.part == "dev"]),
                       ("held-apart", [s for s in stories if s.part == "heldout"])):
        f = figures(part, kept)
        print(f"{name:<10}{f.n:>8}{f.positives:>8}{f.tp + f.fp:>6}{f.fp:>12}{f.fn:>7}"
              f"{f.precision:>10.3f}{f.recall:>8.3f}")
    whole = figures(stories, kept)
    print(f"BENCH relevance precision={whole.precision:.3f} recall={whole.recall:.3f} "
          f"heldout_precision={figures([s for s in stories if s.part == 'heldout'], kept).precision:.3f} "
          f"heldout_recall={figures([s for s in stories if s.part == 'heldout'], kept).recall:.3f}")
    print(f"({len(stories)} stories {'as pages ' if args.pages else ''}in {elapsed:.1f} s)")
    if not args.quiet:
        fk = [s for s in hard if kept[s.id]]
        miss = [s for s in stories if s.label and not kept[s.id]]
        print(f"\nfalse keeps ({len(fk)}), by kind: "
              + ", ".join(f"{k} {n}" for k, n in Counter(s.kind for s in fk).most_common()))
        for s in fk:
            print(f"  {s.id:<10} {scores[s.id]:.3f} [{s.kind}] {s.title}")
        print(f"misses ({len(miss)}):")
        for s in miss:
            print(f"  {s.id:<10} {scores[s.id]:.3f} [{s.kind}] {s.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
