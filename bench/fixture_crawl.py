"""Time one `defnews crawl` of the test fixture web and count what it stored.

    python bench/fixture_crawl.py

Prints the wall time of the real command on the two-site fixture web of tests/web/fixtureweb.py
(RSS, Atom, sitemap index, listings, robots.txt, redirect, 500-then-200, 404, PDF, oversized
page, windows-1256) and the articles stored against those expected.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.web.fixtureweb import config_yaml, expected, start_web  # noqa: E402


def main() -> int:
    web, sites = start_web()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "fixture.db"
            cfg = Path(tmp) / "config.yaml"
            cfg.write_text(config_yaml(sites, f"sqlite:///{db}"), encoding="utf-8")
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            started = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "crawler.cli", "--config", str(cfg), "crawl"],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            wall = time.perf_counter() - started
            con = sqlite3.connect(db)
            urls = {u for (u,) in con.execute("SELECT url FROM stories")}
            con.close()
    finally:
        web.stop()
    want = set(expected(sites))
    print(r.stdout)
    print(f"exit {r.returncode}; stored {len(urls & want)} / expected {len(want)}; "
          f"unexpected {len(urls - want)}; crawl wall time {wall:.2f} s")
    print(f"BENCH fixture_stored={len(urls & want)} fixture_expected={len(want)} crawl_s={wall:.2f}")
    return 0 if urls == want and r.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
