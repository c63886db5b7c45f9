"""Extraction quality of defnews against bare trafilatura, on the same pages, side by side.

    python bench/quality.py [--data /work/shared/data] [--no-zyte] [--workers N] [-v]

Three sets:
1. the labelled Arabic set (tests/fixtures/quality/pages): body precision/recall at
   character level, boilerplate lines leaked, title exact-match, date and author accuracy;
2. the three real Arabic pages of <data>/real-arabic, scored against other projects'
   expected output;
3. the Zyte article-extraction benchmark (<data>/zyte-article-benchmark, 181 mostly English
   pages): body F1 the way its evaluate.py computes it (4-token shingles, per-page
   normalised, precision and recall averaged), as a regression check that the Arabic
   rules never cut general text.

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
DEFAULT_DATA = ROOT.parent / "shared" / "data"
_WS = re.compile(r"\s+")
_STRAY = re.compile(r"[\u0600-\u06ff\u060c] \. [\u0600-\u06ff]")
TOOLS = ("defnews", "trafilatura")


# ----------------------------------------------------------------------------- running
def run_defnews(body: bytes, url: str, tz: str = "UTC", fetched_at: datetime | None = None) -> dict:
    from crawler.text.extract import extract_record

    rec = extract_record(body, url, timezone_name=tz, fetched_at=fetched_at or datetime.now(timezone.utc))
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
        try:  # trafilatura reports a day; read it as midnight in the source's zone
            date = datetime.fromisoformat(d["date"]).replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)
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


def leaks(text: str, boilerplate: list[str], title: str) -> list[str]:
    """Furniture found in the body: listed strings, headline repeats, stray " . "."""
    found = []
    lines = [squash(x) for x in text.splitlines() if x.strip()]
    flat = squash(text)
    for item in boilerplate:
        item_s = squash(item)
        if item == " . ":
            if _STRAY.search(flat):
                found.append("' . '")
        elif " " in item_s or ":" in item_s:
            if item_s in flat:
                found.append(item_s)
        elif any(line.strip(" :.-|") == item_s for line in lines):  # a one-word label: a line of its own
            found.append(item_s)
    t = squash(title)
    if t and len(t.split()) >= 3:
        found += ["headline repeat"] * flat.count(t)
    return found


def date_ok(expected: dict, got: datetime | None, tool: str) -> bool:
    if not expected.get("date"):
        return got is None
    if got is None:
        return False
    want = datetime.fromisoformat(expected["date"])
    zone = ZoneInfo(expected.get("timezone") or "UTC")
    precision = expected.get("date_precision", "minute")
    if tool == "trafilatura" or precision == "day":  # trafilatura reports days only
        return got.astimezone(zone).date() == want.astimezone(zone).date()
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
def load_labelled(folder: Path = FIXTURES) -> list[tuple[str, bytes, dict]]:
    out = []
    for html_path in sorted(folder.glob("*.html")):
        exp = json.loads(html_path.with_suffix(".json").read_text(encoding="utf-8"))
        out.append((html_path.stem, html_path.read_bytes(), exp))
    return out


def score_labelled_page(args: tuple[str, str, bytes, dict]) -> dict:
    tool, name, body, exp = args
    fetched = datetime.fromisoformat(exp["fetched_at"])
    got = run(tool, body, exp["url"], exp.get("timezone", "UTC"), fetched)
    expected_text = "\n\n".join(exp["paragraphs"])
    p, r = char_precision_recall(expected_text, got["text"])
    leaked = leaks(got["text"], exp.get("boilerplate", []), exp["title"])
    return dict(name=name, tool=tool, precision=p, recall=r, leaks=leaked,
                title=squash(got["title"]) == squash(exp["title"]),
                date=date_ok(exp, got["date"], tool),
                author=squash(got["author"]) == squash(exp.get("author", "")),
                language=got["language"] == exp.get("language", "ar"))


def labelled_report(pool: ProcessPoolExecutor, verbose: bool) -> dict[str, dict]:
    pages = load_labelled()
    jobs = [(tool, name, body, exp) for tool in TOOLS for name, body, exp in pages]
    results = list(pool.map(score_labelled_page, jobs))
    summary: dict[str, dict] = {}
    for tool in TOOLS:
        rows = [x for x in results if x["tool"] == tool]
        summary[tool] = dict(
            pages=len(rows),
            median_precision=statistics.median(x["precision"] for x in rows),
            median_recall=statistics.median(x["recall"] for x in rows),
            mean_precision=statistics.mean(x["precision"] for x in rows),
            mean_recall=statistics.mean(x["recall"] for x in rows),
            leaks=sum(len(x["leaks"]) for x in rows),
            pages_with_leaks=sum(1 for x in rows if x["leaks"]),
            title=statistics.mean(x["title"] for x in rows),
            date=statistics.mean(x["date"] for x in rows),
            author=statistics.mean(x["author"] for x in rows),
            language=statistics.mean(x["language"] for x in rows),
            templates=len({e.get("template", n.split("-")[0]) for n, _, e in pages}),
        )
        if verbose:
            for x in rows:
                flags = "".join(k[0].upper() if not x[k] else "." for k in ("title", "date", "author", "language"))
                print(f"  {tool:<11} {x['name']:<36} P={x['precision']:.3f} R={x['recall']:.3f} "
                      f"{flags} leaks={x['leaks'][:4]}")
    return summary


def real_pages(data: Path) -> list[dict]:
    """The three real pages with what their projects expect."""
    d = data / "real-arabic"
    out = []
    cnn_meta = json.loads((d / "arabic.cnn.com-syria-clashes.metadata.json").read_text(encoding="utf-8"))
    out.append(dict(name="cnn-arabic", body=(d / "arabic.cnn.com-syria-clashes.html").read_bytes(),
                    url=cnn_meta["url"], tz="Asia/Dubai", title=cnn_meta["title"],
                    text=(d / "arabic.cnn.com-syria-clashes.expected.txt").read_text(encoding="utf-8"),
                    language=cnn_meta["language"], date=None))
    ass = json.loads((d / "assabah.com.tn-article.expected.json").read_text(encoding="utf-8"))
    out.append(dict(name="assabah", body=(d / "assabah.com.tn-article.html").read_bytes(), url=ass["url"],
                    tz="Africa/Tunis", title=ass["title"], with_=ass["with"], without=ass["without"],
                    language="ar", date=None))
    lbc = json.loads((d / "lbcgroup.tv.expected.json").read_text(encoding="utf-8"))["V1"]
    paras = [p for s in lbc["body"]["sections"] for p in s["paragraphs"]]
    out.append(dict(name="lbc", body=gzip.decompress((d / "lbcgroup.tv-2026-01-08.html.gz").read_bytes()),
                    url="https://www.lbcgroup.tv/news/lifestyle/898682/ar", tz="Asia/Beirut",
                    title=lbc["title"], text="\n\n".join(paras), language="ar",
                    date=datetime.fromisoformat(lbc["publishing_date"])))
    return out


def score_real_page(args: tuple[str, dict]) -> dict:
    tool, page = args
    got = run(tool, page["body"], page["url"], page["tz"], datetime(2026, 1, 9, tzinfo=timezone.utc))
    row = dict(name=page["name"], tool=tool, title=squash(got["title"]) == squash(page["title"]),
               language=got["language"] or "-", got_date=got["date"])
    if "text" in page:
        row["precision"], row["recall"] = char_precision_recall(page["text"], got["text"])
    else:
        flat = squash(got["text"])
        row["with"] = sum(1 for s in page["with_"] if s in flat) / len(page["with_"])
        row["without"] = sum(1 for s in page["without"] if s not in flat) / len(page["without"])
    if page["date"] is not None:
        row["date"] = got["date"] is not None and abs(got["date"] - page["date"]) <= timedelta(minutes=1)
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
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding real-arabic/ and zyte-article-benchmark/")
    ap.add_argument("--no-zyte", action="store_true", help="skip the 181-page regression run")
    ap.add_argument("--zyte-limit", type=int, default=None)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per labelled page")
    args = ap.parse_args(argv)

    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        lab = labelled_report(pool, args.verbose)
        print(f"\n== Labelled Arabic set: {lab['defnews']['pages']} pages, {lab['defnews']['templates']} site templates ==")
        print(f"{'metric':<28}{'defnews':>12}{'trafilatura':>14}   target")
        for key, label, fmt, target in [
            ("median_precision", "body precision (median)", "{:.3f}", ">= 0.98"),
            ("median_recall", "body recall (median)", "{:.3f}", ">= 0.97"),
            ("mean_precision", "body precision (mean)", "{:.3f}", ""),
            ("mean_recall", "body recall (mean)", "{:.3f}", ""),
            ("leaks", "boilerplate leaked (lines)", "{}", "0"),
            ("pages_with_leaks", "pages with a leak", "{}", "0"),
            ("title", "title exact-match", "{:.3f}", ">= 0.95"),
            ("date", "date accuracy", "{:.3f}", ">= 0.98"),
            ("author", "author accuracy", "{:.3f}", ""),
            ("language", "language = ar", "{:.3f}", ""),
        ]:
            print(f"{label:<28}{fmt.format(lab['defnews'][key]):>12}{fmt.format(lab['trafilatura'][key]):>14}   {target}")

        pages = real_pages(args.data) if (args.data / "real-arabic").exists() else []
        if pages:
            rows = list(pool.map(score_real_page, [(t, p) for p in pages for t in TOOLS]))
            print("\n== Real Arabic pages (expected output from newspaper4k / trafilatura / Fundus) ==")
            for p in pages:
                for tool in TOOLS:
                    r = next(x for x in rows if x["name"] == p["name"] and x["tool"] == tool)
                    body = (f"P={r['precision']:.3f} R={r['recall']:.3f}" if "precision" in r
                            else f"with={r['with']:.2f} without={r['without']:.2f}")
                    date = ("" if "date" not in r else f" date_ok={r['date']}")
                    got_date = r["got_date"].isoformat() if r["got_date"] else "-"
                    print(f"  {p['name']:<11} {tool:<12} {body:<24} title_ok={r['title']!s:<5} lang={r['language']:<3}"
                          f"{date} date={got_date}")

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
