"""Where a page's CPU goes inside the worker: crawler.text.page.process_page, stage by stage.

    python bench/stages.py [--pages 300]

Runs process_page over the first N benchmark pages (bench/throughput.py builds and caches
them) in this one process, without and then with cProfile, and prints CPU ms per page of
each stage: its cumulative profiled time, scaled by unprofiled / profiled total (cProfile
slows Python code more than C code, so the split is approximate, the total is not).
`trafilatura.extract` alone on the same pages is printed beside it: the throughput
benchmark's limit.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ensure_pages  # noqa: E402

# (label, file suffix, function name): cumulative time of these functions.
STAGES = [
    ("process_page (total)", "text/page.py", "process_page"),
    ("  decode + lxml parse + meta/JSON-LD", "text/facts.py", "from_bytes"),
    ("    decode (encodings, control characters)", "text/decoding.py", "decode_html"),
    ("    lxml parse (bounded)", "text/parsing.py", "parse_page"),
    ("  prepare (captions, related boxes, tables)", "text/extract.py", "prepare_counting_tables"),
    ("    related-box scan", "text/extract.py", "drop_related_boxes"),
    ("  trafilatura bare_extraction", "trafilatura/core.py", "bare_extraction"),
    ("  recover_story_blocks", "text/extract.py", "recover_story_blocks"),
    ("  restore_subheadings", "text/extract.py", "restore_subheadings"),
    ("  site name (incl. trafilatura fallback)", "text/extract.py", "site_name_of"),
    ("  title", "text/extract.py", "choose_title"),
    ("  cleaning (judge_lines)", "text/clean.py", "judge_lines"),
    ("  resolve_date", "text/dates.py", "resolve_date"),
    ("  find_author (incl. trafilatura fallback)", "text/meta.py", "find_author"),
    ("  language", "text/language.py", "detect_language"),
    ("  relevance", "text/relevance.py", "explain"),
    ("  version hash", "text/revisions.py", "version_hash"),
    ("  dedup keys", "text/fingerprints.py", "dedup_keys"),
    ("  learned-line candidates", "text/learned.py", "candidates_of"),
    ("(trafilatura metadata fallback, lazily)", "text/extract.py", "_field"),
    ("(normalize, across the rows above)", "text/arabic.py", "normalize"),
    ("(find_dates, across the rows above)", "text/arabic.py", "find_dates"),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pages", type=int, default=300)
    p.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "defnews-bench")
    args = p.parse_args(argv)
    import trafilatura

    from crawler.items import FeedMeta, Page, SourceRules
    from crawler.text.page import process_page, warm_up

    folder = ensure_pages(args.workdir.resolve(), args.pages)
    bodies = [(folder / f"{i}.html").read_bytes() for i in range(args.pages)]
    now = datetime.now(timezone.utc)
    pages = [Page("bench", f"http://127.0.0.1/news/{i}/story-{i}.html", f"http://127.0.0.1/news/{i}/story-{i}.html",
                  b, "utf-8", now, FeedMeta(title=f"Bench story {i}", published=now, guid=str(i)))
             for i, b in enumerate(bodies)]
    rules = SourceRules("bench")
    warm_up()
    for page in pages[:20]:  # caches and the language model, as in a running worker
        process_page(page, rules)
    n = len(pages)

    c0 = time.process_time()
    for page in pages:
        process_page(page, rules)
    plain = (time.process_time() - c0) / n * 1000
    c0 = time.process_time()
    for body in bodies:
        trafilatura.extract(body)
    limit = (time.process_time() - c0) / n * 1000

    prof = cProfile.Profile()
    prof.enable()
    for page in pages:
        process_page(page, rules)
    prof.disable()
    stats = pstats.Stats(prof).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    total = sum(ct for (f, _, name), (_, _, _, ct, _) in stats.items()
                if f.endswith("text/page.py") and name == "process_page")
    scale = plain / (total / n * 1000) if total else 1.0
    print(f"{n} pages, load average {os.getloadavg()[0]:.1f}; CPU ms per page "
          f"(profiled split scaled by {scale:.2f})")
    for label, suffix, func in STAGES:
        ct = sum(v[3] for (f, _, name), v in stats.items() if f.endswith(suffix) and name == func)
        calls = sum(v[1] for (f, _, name), v in stats.items() if f.endswith(suffix) and name == func)
        print(f"{label:<56}{ct / n * 1000 * scale:8.1f}   ({calls / n:.2f} calls/page)")
    print(f"{'trafilatura.extract alone (the limit)':<56}{limit:8.1f}")
    print(f"STAGES pages={n} process_page_ms={plain:.1f} limit_ms={limit:.1f} ratio={limit / plain:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
