"""What a scheduled run with nothing new costs: CPU, wall time and requests per idle run.

    python bench/idle.py [--sources 5] [--every 5] [--seconds 60] [--kind feed|mixed]

Runs the real `defnews schedule` on a loopback web of N sites (127.0.0.1 ... 127.0.0.N),
every source on `every Ns`. Each site serves an RSS feed that answers conditional GETs
with 304 (tests/web/aggsite.py), robots.txt and, with ``--kind mixed`` (the default), a
category listing of three pages and a sitemap. The first run of each source stores its
stories; after two runs of every source nothing changes any more, and the measuring
window opens: every run in it is an idle run.

Per idle run it reports
- CPU: user + system seconds of the scheduler's whole process tree over the window
  (the scheduler, any zygote, the crawl processes and their pool workers; a process's
  reaped children count through its cutime/cstime), divided by the runs in the window;
  and, where the run records carry it, the crawl's own CPU (``crawl_runs.cpu_s``);
- wall: the scheduler's own "run N ok in X.Xs" lines (spawn to exit);
- requests per source and run, by kind (robots, feed, sitemap, listing, article), from
  the web server's log.

The machine is shared: compare the figures of one run, not across busy moments.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.web.aggsite import start_sites  # noqa: E402
from tests.web.fixtureweb import listing, urlset  # noqa: E402
from tests.web.server import Resp  # noqa: E402

RUN_LINE = re.compile(r"source (\S+): run (\d+) (\w+) in ([\d.]+)s")
CLK = os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> tuple[float, int]:
    """(CPU seconds, processes) of `root` and its live descendants, reaped children included."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            raw = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        pid = int(d)
        parent[pid] = int(fields[1])
        ticks[pid] = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sum(ticks.get(p, 0) for p in tree) / CLK, len(tree)


def add_pages(sites: dict) -> None:
    """A three-page category listing and a sitemap per site, linking the feed's stories."""
    for fs in sites.values():
        paths = [a.path for a in fs.articles]
        site = fs.site
        site.routes["/robots.txt"] = Resp("User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        site.routes["/section/"] = Resp(listing(paths[:1], "/section/page/2/"))
        site.routes["/section/page/2/"] = Resp(listing(paths[1:2], "/section/page/3/"))
        site.routes["/section/page/3/"] = Resp(listing(paths[2:], None))
        site.routes["/sitemap.xml"] = Resp(urlset([site.url(p) for p in paths]), content_type="application/xml",
                                           headers={"Last-Modified": "Tue, 12 Sep 2023 13:10:00 GMT",
                                                    "ETag": '"s1"'})


def write_config(path: Path, db: Path, sites: dict, every: int, kind: str) -> None:
    lines = [f"database: sqlite:///{db}", "crawl:", "  obey_robots: true", "  concurrency: 8",
             "  per_domain_concurrency: 4", "  download_delay: 0", "  timeout: 5", "  retries: 1", "sources:"]
    for name, fs in sites.items():
        base = fs.site.base
        lines += [f"  - name: {name}", f"    url: {base}/", f"    feeds: [{fs.feed_url}]",
                  f"    schedule: every {every}s", "    article_pattern: '/20\\d\\d/\\d\\d/'"]
        if kind == "mixed":
            lines += [f"    start_urls: [{base}/section/]", f"    sitemaps: [{base}/sitemap.xml]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def kind_of(path: str) -> str:
    if path == "/robots.txt":
        return "robots"
    if path.startswith("/feed"):
        return "feed"
    if path.startswith("/sitemap"):
        return "sitemap"
    if path.startswith("/section"):
        return "listing"
    return "article"


def run_columns(db: Path) -> set[str]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return {r[1] for r in con.execute("PRAGMA table_info(crawl_runs)")}
    finally:
        con.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=int, default=5)
    ap.add_argument("--every", type=int, default=5, help="seconds between runs of a source")
    ap.add_argument("--seconds", type=float, default=60, help="length of the measuring window")
    ap.add_argument("--kind", choices=["feed", "mixed"], default="mixed",
                    help="feed: sources with a feed only; mixed: feed, sitemap and a 3-page listing")
    args = ap.parse_args()

    web, sites = start_sites(*((f"s{i}", f"127.0.0.{i}", 3) for i in range(1, args.sources + 1)))
    add_pages(sites)
    tmp = Path(tempfile.mkdtemp(prefix="defnews-idle-"))
    db, cfg, err = tmp / "idle.db", tmp / "config.yaml", tmp / "schedule.err"
    write_config(cfg, db, sites, args.every, args.kind)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DEFNEWS_CONFIG", None)
    env.pop("DEFNEWS_DB", None)
    with open(err, "w+", encoding="utf-8") as errf:
        proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--config", str(cfg), "schedule"],
                                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=errf, start_new_session=True)
        try:
            def runs() -> list[tuple[str, int, str, float]]:
                text = err.read_text(encoding="utf-8")
                return [(m[1], int(m[2]), m[3], float(m[4])) for m in RUN_LINE.finditer(text)]

            deadline = time.monotonic() + 300
            while True:  # warm-up: two runs of every source (the first one stores the stories)
                done = runs()
                if all(sum(1 for r in done if r[0] == n) >= 2 for n in sites):
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    print(err.read_text(encoding="utf-8")[-3000:])
                    raise SystemExit("the scheduler died or the warm-up took over 300 s")
                time.sleep(0.2)
            n0 = len(done)
            cpu0, _ = tree_cpu(proc.pid)
            hits0 = len(web.hits())
            t0 = time.monotonic()
            samples = []
            while time.monotonic() - t0 < args.seconds and proc.poll() is None:
                time.sleep(1.0)
                samples.append(tree_cpu(proc.pid)[1])
            window = runs()[n0:]
            cpu1, _ = tree_cpu(proc.pid)
            hits = web.hits()[hits0:]
            elapsed = time.monotonic() - t0
            sched_cpu = sum(int(x) for x in Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]) / CLK
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            web.stop()

    idle = [r for r in window if r[2] == "ok"]
    n = len(window)
    if not n:
        raise SystemExit("no run finished in the window")
    walls = [r[3] for r in idle]
    by_kind: dict[str, int] = {}
    for h in hits:
        k = kind_of(h.path)
        by_kind[k] = by_kind.get(k, 0) + 1
    cols = run_columns(db)
    crawl_cpu = ""
    if "cpu_s" in cols:
        ids = [r[1] for r in window]
        con = sqlite3.connect(db, timeout=30)
        vals = [v for (v,) in con.execute(
            f"SELECT cpu_s FROM crawl_runs WHERE id IN ({','.join('?' * len(ids))})", ids) if v is not None]
        con.close()
        if vals:
            crawl_cpu = f" crawl_cpu_s_median={statistics.median(vals):.3f}"
    stored = sqlite3.connect(db).execute("SELECT count(*) FROM stories").fetchone()[0]
    print(f"{args.sources} sources ({args.kind}), every {args.every}s; window {elapsed:.0f}s: {n} runs "
          f"({len(idle)} ok), {stored} stories stored in all")
    print(f"CPU of the process tree: {cpu1 - cpu0:.2f}s in the window = {(cpu1 - cpu0) / n:.3f}s per run "
          f"(scheduler process alone, whole life: {sched_cpu:.2f}s)")
    if walls:
        print(f"wall per run (scheduler's view): median {statistics.median(walls):.2f}s, max {max(walls):.2f}s")
    print("requests per run and source: " + ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(by_kind.items()))
          + f"; total {len(hits) / n:.2f}")
    print(f"processes in the tree (max sampled): {max(samples) if samples else 0}")
    print(f"BENCH idle_runs={n} cpu_s_per_run={(cpu1 - cpu0) / n:.3f} "
          f"wall_s_median={statistics.median(walls) if walls else float('nan'):.2f} "
          f"requests_per_run={len(hits) / n:.2f}{crawl_cpu}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
