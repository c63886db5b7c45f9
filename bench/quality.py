"""Extraction quality of defnews against bare trafilatura, on the same pages, side by side.

    python bench/quality.py [--data /work/shared/data] [--no-zyte] [--workers N] [-v] [--templates] [--learn]

Sets, reported apart and together:
1. old: the labelled Arabic set written with the first rules (tests/fixtures/quality/pages);
2. new: unseen templates the issue-11 rules were written against, and
3. held: unseen templates written at the same time and never tuned on
   (tests/fixtures/quality/unseen, built by make_unseen.py; "set" in each .json);
4. real: the three real Arabic pages of <data>/real-arabic, against other projects' output;
   for each: body precision/recall at character level, boilerplate leaked, title
   exact-match, date (day-only dates must be that day at 00:00 UTC, CONTRACT.md), author;
5. the Zyte article-extraction benchmark (<data>/zyte-article-benchmark, 181 mostly English
   pages): body F1 the way its evaluate.py computes it (4-token shingles, per-page
   normalised, precision and recall averaged), as a regression check that the Arabic
   rules never cut general text.

The main figures learn nothing per source (learned boilerplate starts empty, as on a new
source). With --learn, each page is run again with the lines its site's *other* pages share
(leave-one-out, threshold 2, as storage/learned.py would learn them): no page learns from
itself, and held-apart pages learn only from held-apart pages.

"bare trafilatura" is trafilatura.bare_extraction with its defaults (with_metadata=True so
it reports a title, date and author).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from difflib import SequenceMatcher
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIXTURES = ROOT / "tests" / "fixtures" / "quality" / "pages"
UNSEEN = ROOT / "tests" / "fixtures" / "quality" / "unseen"
DEFAULT_DATA = ROOT.parent / "shared" / "data"
_WS = re.compile(r"\s+")
_STRAY = re.compile(r"[\u0600-\u06ff\u060c] \. [\u0600-\u06ff]")
TOOLS = ("defnews", "trafilatura")


# ----------------------------------------------------------------------------- running
def run_defnews(body: bytes, url: str, tz: str = "UTC", fetched_at: datetime | None = None,
                learned: frozenset[str] = frozenset()) -> dict:
    from crawler.text.extract import extract_record

    rec = extract_record(body, url, timezone_name=tz, fetched_at=fetched_at or datetime.now(timezone.utc),
                         learned=learned)
    if rec is None:
        return dict(text="", title="", date=None, author="", language="")
    return dict(text=rec.text, title=rec.title, date=rec.published_at, author=rec.author,
                language=rec.language, date_source=rec.date_source)


def run_trafilatura(body: bytes, url: str, tz: str = "UTC", fetched_at: datetime | None = None) -> dict:
    import trafilatura

    from crawler.text.extract import decode_html

    doc = trafilatura.bare_extraction(decode_html(body), url=url, with_metadata=True)
    if doc is None:
        return dict(text="", title="", date=None, author="", language="")
    d = doc.as_dict()
    date = None
    if d.get("date"):
        try:  # trafilatura reports a day: that calendar day at 00:00 UTC (CONTRACT.md)
            date = datetime.fromisoformat(d["date"][:10]).replace(tzinfo=timezone.utc)
        except ValueError:
            date = None
    return dict(text=d.get("text") or "", title=d.get("title") or "", date=date,
                author=d.get("author") or "", language=d.get("language") or "")


def run(tool: str, body: bytes, url: str, tz: str = "UTC", fetched_at: datetime | None = None) -> dict:
    return (run_defnews if tool == "defnews" else run_trafilatura)(body, url, tz, fetched_at)


# ----------------------------------------------------------------------------- scoring
def squash(text: str) -> str:
    return _WS.sub(" ", text or "").strip()


def char_precision_recall(expected: str, got: str) -> tuple[float, float]:
    """Characters of the output found, in order, in the expected body (and vice versa)."""
    e, g = squash(expected), squash(got)
    if not e and not g:
        return 1.0, 1.0
    if not e or not g:
        return (0.0 if g else 1.0), (0.0 if e else 1.0)
    matched = sum(b.size for b in SequenceMatcher(None, e, g, autojunk=False).get_matching_blocks())
    return matched / len(g), matched / len(e)


def _label_lines(lines: list[str], label: str) -> int:
    """Short lines that are the one-word label, alone or leading ("المشاهدات: 532")."""
    n = 0
    for line in lines:
        words = line.strip(" :.-|").split()
        if words and len(words) <= 12 and (words[0].strip(":.|-") == label):
            n += 1
    return n


def leaks(text: str, boilerplate: list[str], title: str, expected: str = "") -> list[str]:
    """Furniture found in the body more often than in the story itself: the listed strings,
    headline repeats, stray " . ". A credit the story itself quotes ("القاهرة (أ ف ب) -")
    is counted only beyond its occurrences in the expected text."""
    found = []
    lines = [squash(x) for x in text.splitlines() if x.strip()]
    exp_lines = [squash(x) for x in expected.splitlines() if x.strip()]
    flat, exp_flat = squash(text), squash(expected)
    for item in boilerplate:
        item_s = squash(item)
        if item == " . ":
            if _STRAY.search(flat):
                found.append("' . '")
        elif " " in item_s or ":" in item_s or "(" in item_s:
            found += [item_s] * max(0, flat.count(item_s) - exp_flat.count(item_s))
        else:  # a one-word label: a short line of its own or leading one
            found += [item_s] * max(0, _label_lines(lines, item_s) - _label_lines(exp_lines, item_s))
    t = squash(title)
    if t and len(t.split()) >= 3:
        found += ["headline repeat"] * max(0, flat.count(t) - exp_flat.count(t))
    return found


def date_ok(expected: dict, got: datetime | None, tool: str) -> bool:
    """Minute/hour precision: the instant. Day precision (a date printed without a time of
    day): CONTRACT.md stores that calendar day at 00:00 UTC, so the value must be exactly it."""
    if not expected.get("date"):
        return got is None
    if got is None:
        return False
    want = datetime.fromisoformat(expected["date"])
    precision = expected.get("date_precision", "minute")
    if precision == "day":
        return got.astimezone(timezone.utc) == want.astimezone(timezone.utc)
    if tool == "trafilatura":  # trafilatura reports days only: its day must be the local day
        zone = ZoneInfo(expected.get("timezone") or "UTC")
        return got.date() == want.astimezone(zone).date()
    slack = timedelta(minutes=61) if precision == "hour" else timedelta(seconds=60)
    return abs(got - want) <= slack


def shingles(text: str, n: int = 4) -> Counter:
    tokens = re.findall(r"\w+", text or "")
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i:i + n])


def shingle_tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    """As the Zyte benchmark's evaluate.py: counts normalised so every page weighs the same."""
    t, p = shingles(true), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def prf(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    def p(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))

    def r(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))

    precision = statistics.mean(p(*x) for x in rows if x[0] + x[1] > 0)
    recall = statistics.mean(r(*x) for x in rows if x[0] + x[2] > 0)
    return precision, recall, 2 * precision * recall / (precision + recall)


# ----------------------------------------------------------------------------- sets
SETS = ("old", "new", "held", "real")


def load_labelled(folder: Path = FIXTURES, default_set: str = "old") -> list[tuple[str, bytes, dict]]:
    out = []
    for html_path in sorted(folder.glob("*.html")):
        exp = json.loads(html_path.with_suffix(".json").read_text(encoding="utf-8"))
        exp.setdefault("set", default_set)
        out.append((html_path.stem, html_path.read_bytes(), exp))
    return out


def labelled_pages() -> list[tuple[str, bytes, dict]]:
    """The old set (written with the first rules), then the unseen templates: "new" (the
    issue-11 rules were written against them) and "held" (never tuned on)."""
    return load_labelled(FIXTURES, "old") + load_labelled(UNSEEN, "new")


def score_labelled_page(args: tuple) -> dict:
    tool, name, body, exp, *rest = args
    fetched = datetime.fromisoformat(exp["fetched_at"])
    if rest and rest[0]:
        got = run_defnews(body, exp["url"], exp.get("timezone", "UTC"), fetched, learned=rest[0])
    else:
        got = run(tool, body, exp["url"], exp.get("timezone", "UTC"), fetched)
    expected_text = "\n\n".join(exp["paragraphs"])
    p, r = char_precision_recall(expected_text, got["text"])
    leaked = leaks(got["text"], exp.get("boilerplate", []), exp["title"], expected_text)
    return dict(name=name, tool=tool, set=exp["set"], template=exp.get("template", name.split("-")[0]),
                precision=p, recall=r, leaks=leaked,
                title=squash(got["title"]) == squash(exp["title"]),
                date=date_ok(exp, got["date"], tool), got_date=got["date"],
                author=squash(got["author"]) == squash(exp.get("author", "")),
                language=got["language"] == exp.get("language", "ar"))


def cleaned_text(args: tuple[str, bytes, dict]) -> tuple[str, str]:
    name, body, exp = args
    got = run_defnews(body, exp["url"], exp.get("timezone", "UTC"), datetime.fromisoformat(exp["fetched_at"]))
    return name, got["text"]


def leave_one_out_learned(pages: list[tuple[str, bytes, dict]], texts: dict[str, str],
                          threshold: int = 2) -> dict[str, frozenset[str]]:
    """Per page, the lines its site's *other* pages share (>= threshold of them), as
    storage.learned would learn them: a page never learns from itself."""
    from crawler.text.learned import candidate_lines

    by_site: dict[str, list[str]] = {}
    for name, _, exp in pages:
        by_site.setdefault(f"{exp['set']}:{exp.get('site', name)}", []).append(name)
    cands = {name: candidate_lines(texts.get(name, "")) for name, _, _ in pages}
    out: dict[str, frozenset[str]] = {}
    for names in by_site.values():
        for name in names:
            counts: Counter = Counter()
            lines: dict[str, str] = {}
            for other in names:
                if other != name:
                    counts.update(cands[other].keys())
                    lines.update(cands[other])
            out[name] = frozenset(lines[h] for h, n in counts.items() if n >= threshold)
    return out


def summarise(rows: list[dict]) -> dict:
    """The set's figures; author/language only over rows that carry them."""
    if not rows:
        return {}

    def mean_of(key: str) -> float:
        vals = [x[key] for x in rows if x.get(key) is not None]
        return statistics.mean(vals) if vals else float("nan")

    return dict(
        pages=len(rows),
        median_precision=statistics.median(x["precision"] for x in rows),
        median_recall=statistics.median(x["recall"] for x in rows),
        mean_precision=statistics.mean(x["precision"] for x in rows),
        mean_recall=statistics.mean(x["recall"] for x in rows),
        min_precision=min(x["precision"] for x in rows),
        min_recall=min(x["recall"] for x in rows),
        leaks=sum(len(x["leaks"]) for x in rows),
        pages_with_leaks=sum(1 for x in rows if x["leaks"]),
        title=mean_of("title"), date=mean_of("date"), author=mean_of("author"), language=mean_of("language"),
        templates=len({x["template"] for x in rows}),
    )


def real_pages(data: Path) -> list[dict]:
    """The three real pages with what their projects expect.

    Dates: LBC's is in its expected file. CNN's and Assabah's expected files have none;
    the values here are what the pages print under the headline: "الأربعاء، 28 آب/اغسطس
    2013، آخر تحديث 14:00 (GMT+0400)" (an instant) and "الجمعة 8 فيفري 2019" (a day:
    00:00 UTC by the contract)."""
    d = data / "real-arabic"
    out = []
    cnn_meta = json.loads((d / "arabic.cnn.com-syria-clashes.metadata.json").read_text(encoding="utf-8"))
    out.append(dict(name="cnn-arabic", body=(d / "arabic.cnn.com-syria-clashes.html").read_bytes(),
                    url=cnn_meta["url"], tz="Asia/Dubai", title=cnn_meta["title"],
                    text=(d / "arabic.cnn.com-syria-clashes.expected.txt").read_text(encoding="utf-8"),
                    language=cnn_meta["language"], date=datetime(2013, 8, 28, 10, 0, tzinfo=timezone.utc),
                    precision="minute"))
    ass = json.loads((d / "assabah.com.tn-article.expected.json").read_text(encoding="utf-8"))
    out.append(dict(name="assabah", body=(d / "assabah.com.tn-article.html").read_bytes(), url=ass["url"],
                    tz="Africa/Tunis", title=ass["title"], with_=ass["with"], without=ass["without"],
                    language="ar", date=datetime(2019, 2, 8, tzinfo=timezone.utc), precision="day"))
    lbc = json.loads((d / "lbcgroup.tv.expected.json").read_text(encoding="utf-8"))["V1"]
    paras = [p for s in lbc["body"]["sections"] for p in s["paragraphs"]]
    out.append(dict(name="lbc", body=gzip.decompress((d / "lbcgroup.tv-2026-01-08.html.gz").read_bytes()),
                    url="https://www.lbcgroup.tv/news/lifestyle/898682/ar", tz="Asia/Beirut",
                    title=lbc["title"], text="\n\n".join(paras), language="ar",
                    date=datetime.fromisoformat(lbc["publishing_date"]), precision="minute"))
    return out


def score_real_page(args: tuple[str, dict]) -> dict:
    """A row like the labelled ones. Assabah has snippets, not a body: precision is the
    share of "without" snippets absent, recall the share of "with" snippets present, and
    each "without" snippet present is a leak."""
    tool, page = args
    got = run(tool, page["body"], page["url"], page["tz"], datetime(2026, 1, 9, tzinfo=timezone.utc))
    row = dict(name=page["name"], tool=tool, set="real", template=page["name"],
               title=squash(got["title"]) == squash(page["title"]),
               language=(got["language"] == "ar") if tool == "defnews" else None,
               author=None, got_date=got["date"], leaks=[])
    if "text" in page:
        row["precision"], row["recall"] = char_precision_recall(page["text"], got["text"])
    else:
        flat = squash(got["text"])
        row["recall"] = sum(1 for s in page["with_"] if s in flat) / len(page["with_"])
        row["precision"] = sum(1 for s in page["without"] if s not in flat) / len(page["without"])
        row["leaks"] = [s for s in page["without"] if s in flat]
    exp = dict(date=page["date"].isoformat(), date_precision=page["precision"], timezone=page["tz"])
    row["date"] = date_ok(exp, got["date"], tool)
    return row


def zyte_page(args: tuple[str, str, str]) -> tuple[str, tuple, tuple]:
    path, truth, url = args
    body = gzip.decompress(Path(path).read_bytes())
    ours = run_defnews(body, url)["text"]
    bare = run_trafilatura(body, url)["text"]
    return Path(path).name, shingle_tp_fp_fn(truth, ours), shingle_tp_fp_fn(truth, bare)


def zyte_report(pool: ProcessPoolExecutor, data: Path, limit: int | None) -> dict[str, tuple] | None:
    root = data / "zyte-article-benchmark"
    truth_path = root / "ground-truth.json"
    if not truth_path.exists():
        return None
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    jobs = [(str(root / "html" / f"{k}.html.gz"), v.get("articleBody", ""), v.get("url", ""))
            for k, v in sorted(truth.items()) if (root / "html" / f"{k}.html.gz").exists()]
    jobs = jobs[:limit] if limit else jobs
    rows = list(pool.map(zyte_page, jobs, chunksize=4))
    return dict(pages=len(rows), defnews=prf([r[1] for r in rows]), trafilatura=prf([r[2] for r in rows]))


# ----------------------------------------------------------------------------- main
METRICS = [
    ("median_precision", "body precision (median)", "{:.3f}", ">= 0.98"),
    ("median_recall", "body recall (median)", "{:.3f}", ">= 0.97"),
    ("mean_precision", "body precision (mean)", "{:.3f}", ""),
    ("mean_recall", "body recall (mean)", "{:.3f}", ""),
    ("min_recall", "body recall (worst page)", "{:.3f}", ""),
    ("leaks", "boilerplate leaked (lines)", "{}", "0"),
    ("pages_with_leaks", "pages with a leak", "{}", "0"),
    ("title", "title exact-match", "{:.3f}", ">= 0.95"),
    ("date", "date right (same day)", "{:.3f}", ">= 0.98"),
    ("author", "author accuracy", "{:.3f}", ""),
    ("language", "language = ar", "{:.3f}", ""),
]


def print_table(summaries: dict[str, dict], out=sys.stdout) -> None:
    cols = [k for k, v in summaries.items() if v]
    print(f"{'metric':<28}" + "".join(f"{c:>16}" for c in cols) + "   target", file=out)
    print(f"{'pages':<28}" + "".join(f"{summaries[c]['pages']:>16}" for c in cols), file=out)
    print(f"{'templates':<28}" + "".join(f"{summaries[c]['templates']:>16}" for c in cols), file=out)
    for key, label, fmt, target in METRICS:
        print(f"{label:<28}" + "".join(f"{fmt.format(summaries[c][key]):>16}" for c in cols) + f"   {target}", file=out)


def page_line(x: dict) -> str:
    flags = "".join(k[0].upper() if x.get(k) is False else "." for k in ("title", "date", "author", "language"))
    got = x["got_date"].isoformat() if x.get("got_date") else "-"
    return (f"  {x['tool']:<11} {x['set']:<4} {x['name']:<36} P={x['precision']:.3f} R={x['recall']:.3f} "
            f"{flags} date={got} leaks={x['leaks'][:4]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding real-arabic/ and zyte-article-benchmark/")
    ap.add_argument("--no-zyte", action="store_true", help="skip the 181-page regression run")
    ap.add_argument("--zyte-limit", type=int, default=None)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--defnews-only", action="store_true", help="skip bare trafilatura on the Arabic sets")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="one line per page of the old and new sets (held-apart pages stay aggregate)")
    ap.add_argument("--show-held", action="store_true", help="also list held-apart pages one by one (not while tuning)")
    ap.add_argument("--templates", action="store_true", help="figures per template (old and new sets)")
    ap.add_argument("--learn", action="store_true",
                    help="also run defnews with learned lines, leave-one-out per site (threshold 2)")
    args = ap.parse_args(argv)
    tools = ("defnews",) if args.defnews_only else TOOLS

    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        pages = labelled_pages()
        rows = list(pool.map(score_labelled_page, [(t, n, b, e) for t in tools for n, b, e in pages], chunksize=2))
        reals = real_pages(args.data) if (args.data / "real-arabic").exists() else []
        rows += list(pool.map(score_real_page, [(t, p) for p in reals for t in tools]))
        for tool in tools:
            mine = [x for x in rows if x["tool"] == tool]
            summaries = {s: summarise([x for x in mine if x["set"] == s]) for s in SETS}
            summaries["old+new+real"] = summarise([x for x in mine if x["set"] != "held"])
            summaries["whole"] = summarise(mine)
            print(f"\n== {tool}: old set / unseen templates (new, held apart) / real pages ==")
            print_table(summaries)
            if args.templates:
                for tpl in sorted({x["template"] for x in mine if x["set"] in ("old", "new")}):
                    s = summarise([x for x in mine if x["template"] == tpl and x["set"] in ("old", "new")])
                    print(f"  {tpl:<16} pages={s['pages']:<3} P={s['median_precision']:.3f} R={s['median_recall']:.3f} "
                          f"leaks={s['leaks']:<3} title={s['title']:.2f} date={s['date']:.2f} author={s['author']:.2f}")
            if args.verbose:
                for x in mine:
                    if x["set"] != "held" or args.show_held:
                        print(page_line(x))

        if args.learn:
            texts = dict(pool.map(cleaned_text, [(n, b, e) for n, b, e in pages], chunksize=2))
            learned = leave_one_out_learned(pages, texts)
            lrows = list(pool.map(score_labelled_page, [("defnews", n, b, e, learned[n]) for n, b, e in pages],
                                  chunksize=2))
            summaries = {s: summarise([x for x in lrows if x["set"] == s]) for s in SETS if s != "real"}
            summaries["whole"] = summarise(lrows)
            print(f"\n== defnews with learned lines (each page learns only from its site's other pages,"
                  f" threshold 2; {sum(1 for v in learned.values() if v)} pages had lines to learn) ==")
            print_table(summaries)
            if args.verbose:
                for x in lrows:
                    if x["set"] != "held" or args.show_held:
                        print(page_line(x))

        if not args.no_zyte:
            z = zyte_report(pool, args.data, args.zyte_limit)
            if z:
                print(f"\n== Zyte article benchmark ({z['pages']} pages, 4-token shingles): regression check ==")
                print(f"{'':<14}{'precision':>10}{'recall':>10}{'F1':>8}")
                for tool in TOOLS:
                    p, r, f = z[tool]
                    print(f"{tool:<14}{p:>10.3f}{r:>10.3f}{f:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
