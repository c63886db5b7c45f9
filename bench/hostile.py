"""What each hostile site costs a crawl: wall time, peak memory, and how the summary shows it.

    python bench/hostile.py                    # every site of tests/web/hostile.py, one crawl each
    python bench/hostile.py --only mute,gzip   # some of them
    python bench/hostile.py --timeout 30 --retries 2   # the shipped defaults

Each site (three ordinary articles and one hostile thing) is crawled alone by the real
`defnews crawl` in a fresh process against a fresh SQLite file. Printed per site: wall
time of the process, the source's own time from the summary, peak RSS of the largest
process (the crawl or a pool worker, from getrusage of the children), stories stored, and
the summary's lines for that source (skipped/failed by kind, errors, warnings).
"""

from __future__ import annotations

import argparse
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import defnews_cmd  # noqa: E402
from tests.web.hostile import SITES, hostile_config, start_hostile  # noqa: E402

MEASURE = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
           "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr); "
           "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")


def crawl_one(name: str, timeout: float, retries: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        h = start_hostile(Path(tmp))
        try:
            db = Path(tmp) / "h.db"
            cfg = Path(tmp) / "config.yaml"
            cfg.write_text(hostile_config(h, f"sqlite:///{db}", timeout=timeout, retries=retries, names=(name,)))
            started = time.monotonic()
            proc = subprocess.run([sys.executable, "-c", MEASURE, *defnews_cmd(), "--config", str(cfg), "crawl"],
                                  capture_output=True, text=True, cwd=ROOT, timeout=600,
                                  env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin:/usr/local/bin"})
            wall = time.monotonic() - started
            con = sqlite3.connect(db)
            stored = con.execute("SELECT count(*) FROM stories").fetchone()[0]
            con.close()
        finally:
            h.stop()
    rss = re.search(r"MAXRSS_KB (\d+)", proc.stdout)
    own = re.search(rf"time per source: .*\b{name} (\d+\.\d) s", proc.stdout)
    lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.startswith("  ") and "time per source" not in ln]
    return {"site": name, "rc": proc.returncode, "wall": wall, "own": float(own.group(1)) if own else None,
            "rss_mib": int(rss.group(1)) / 1024 if rss else None, "stored": stored, "lines": lines}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help="comma-separated site names")
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--retries", type=int, default=1)
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(SITES)
    print(f"crawl.timeout {args.timeout} s, crawl.retries {args.retries}, max_page_bytes 5 MB; "
          f"resource.getrusage before: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB (this script)")
    print(f"{'site':<10} {'rc':>2} {'wall s':>7} {'source s':>8} {'peak RSS MiB':>12} {'stored':>6}  summary")
    for name in names:
        r = crawl_one(name, args.timeout, args.retries)
        own = f"{r['own']:.1f}" if r["own"] is not None else "-"
        rss = f"{r['rss_mib']:.0f}" if r["rss_mib"] is not None else "-"
        first, *rest = r["lines"] or [""]
        print(f"{name:<10} {r['rc']:>2} {r['wall']:>7.1f} {own:>8} {rss:>12} {r['stored']:>6}  {first[:150]}")
        for line in rest:
            print(f"{'':<50}{line[:150]}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
