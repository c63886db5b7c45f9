"""Throughput of `defnews crawl` against the extraction limit and what a user runs instead.

    python bench/throughput.py --n 2000

One run, one machine, all traffic on 127.0.0.1:
  1. builds N distinct article pages from the 181 real Zyte pages (cached on disk) and
     serves them, with RSS feeds (100 entries each) and a sitemap index, from a server
     process listening on several loopback ports (each port is a "site");
  2. limit: trafilatura.extract alone over the N pages, a process per core (pages/s);
  3. defnews: the real `defnews crawl` into a fresh SQLite file (pages/s end to end, CPU
     seconds per page and peak RSS of its process tree: parent + pool workers);
  4. peers: trafilatura's command line on the URL list with its parallel downloads, and a
     plain feedparser + urllib + trafilatura loop.
The last line is the BENCH line. Ratios are what to compare across machines, not times.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, BenchSite, TreeMeter, Web, ensure_pages  # noqa: E402

MIB = 2**20


@dataclass
class Result:
    name: str
    pages: int
    seconds: float
    cpu: float = 0.0
    peak_rss: int = 0
    peak_pss: int = 0
    peak_split: list[int] = field(default_factory=list)
    main_cpu: float = 0.0
    timeline: list[tuple[float, int, int]] = field(default_factory=list)

    def rss_profile(self) -> str:
        """Summed RSS at 25/50/75/100 % of the run: flat memory shows as flat numbers."""
        if not self.timeline:
            return ""
        picks = [self.timeline[min(len(self.timeline) - 1, int(len(self.timeline) * q))] for q in (0.25, 0.5, 0.75, 1.0)]
        return "rss over the run (tree, main process): " + ", ".join(
            f"{t:.0f}s {r / MIB:.0f} MiB ({m / MIB:.0f})" for t, r, m in picks)

    @property
    def pps(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    def line(self, n: int) -> str:
        s = f"{self.name:<16} {self.pages:>6} pages {self.seconds:8.1f} s {self.pps:8.1f} pages/s"
        if self.cpu:
            s += f"  cpu {self.cpu / n * 1000:6.1f} ms/page"
        if self.peak_rss:
            s += f"  peak rss {self.peak_rss / MIB:7.0f} MiB"
        if self.peak_pss:
            s += f" (pss {self.peak_pss / MIB:.0f} MiB)"
        return s


# -- the limit ----------------------------------------------------------------------------

_PAGES: Path | None = None


def _extract_one(i: int) -> tuple[bool, float]:
    """Extract page i; returns (found text, CPU seconds it took in this worker)."""
    import trafilatura

    assert _PAGES is not None
    c0 = time.process_time()
    ok = trafilatura.extract((_PAGES / f"{i}.html").read_bytes()) is not None
    return ok, time.process_time() - c0


def limit(pages: Path, n: int, procs: int) -> Result:
    """trafilatura.extract alone, pages read from disk, one process per core."""
    global _PAGES
    _PAGES = pages
    import trafilatura  # noqa: F401  (loaded before the fork: workers start warm)

    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(procs) as pool:
        pool.map(_extract_one, range(min(n, procs * 2)))  # warm-up, not timed
        t0 = time.perf_counter()
        ok, cpu = 0, 0.0
        for found, spent in pool.imap_unordered(_extract_one, range(n), chunksize=4):
            ok += found
            cpu += spent
        dt = time.perf_counter() - t0
    if ok < n:
        print(f"  limit: trafilatura found no text in {n - ok} of {n} pages", flush=True)
    return Result("limit", n, dt, cpu=cpu)


# -- metered subprocesses -----------------------------------------------------------------

def metered(name: str, cmd: list[str], n: int, *, cwd: Path, env: dict[str, str] | None = None,
            stdout: int | None = subprocess.PIPE) -> tuple[Result, str]:
    """Runs cmd, sampling its process tree; wall time from start to exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=stdout,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    meter = TreeMeter(proc.pid).start()
    out, err = proc.communicate()
    dt = time.perf_counter() - t0
    meter.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        print(f"{name} exited {proc.returncode}:\n{err[-3000:]}", file=sys.stderr)
        raise SystemExit(1)
    rusage_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    res = Result(name, n, dt, cpu=max(meter.cpu_seconds, rusage_cpu), peak_rss=meter.peak_rss,
                 peak_pss=meter.peak_pss, peak_split=meter.peak_split, main_cpu=meter.main_cpu,
                 timeline=meter.timeline)
    return res, (out or "") + (err or "")


def bench_config(site: BenchSite, db: Path, concurrency: int) -> str:
    """One source over every port (allowed_domains is by host); no per-domain delay.

    All pages are on 127.0.0.1, so the per-domain politeness of a real config
    (download_delay, per_domain_concurrency) would serialise the crawl: here they are
    set to what a crawl of many domains effectively gets.
    """
    feeds = "".join(f"\n      - {u}" for u in site.feed_urls())
    return f"""database: sqlite:///{db}
crawl:
  obey_robots: true
  concurrency: {concurrency}
  per_domain_concurrency: {concurrency}
  download_delay: 0
  timeout: 60
sources:
  - name: bench
    url: {site.base()}/
    feeds:{feeds}
    sitemaps: [{site.sitemap_url()}]
    allowed_domains: [127.0.0.1]
    relevance_filter: false
"""


def defnews(site: BenchSite, workdir: Path, n: int, concurrency: int, profile: str | None) -> Result:
    run = workdir / f"defnews-{n}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    db = run / "defnews.db"
    cfg = run / "config.yaml"
    cfg.write_text(bench_config(site, db, concurrency), encoding="utf-8")
    cmd = [sys.executable, "-m", "crawler.cli", "--config", str(cfg), "crawl"]
    if profile:
        fmt = {".json": "speedscope", ".svg": "flamegraph"}.get(Path(profile).suffix, "raw")
        cmd = ["py-spy", "record", "--subprocesses", "-r", "50", "-f", fmt, "-o", profile, "--", *cmd]
    res, out = metered("defnews", cmd, n, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})
    con = sqlite3.connect(db)
    try:
        stored, dups = con.execute(
            "SELECT count(*), count(duplicate_of) FROM stories").fetchone()
    finally:
        con.close()
    print(f"  defnews stored {stored} stories ({dups} marked duplicate) of {n} pages", flush=True)
    if stored + 50 < n:
        print(out[-3000:], file=sys.stderr)
    return res


def trafilatura_exe() -> str:
    """trafilatura's console script of the interpreter running this benchmark.

    pip puts it beside ``sys.executable`` (the venv's bin/); that directory need not be on
    PATH (a venv used without activating it), and a PATH hit may be another install's.
    """
    beside = Path(sys.executable).parent / "trafilatura"
    if beside.exists():
        return str(beside)
    found = shutil.which("trafilatura")
    if found is None:
        raise SystemExit(f"trafilatura's command line is neither beside {sys.executable} nor on PATH")
    return found


def trafilatura_cli(site: BenchSite, workdir: Path, n: int, parallel: int) -> Result:
    run = workdir / f"trafilatura-{n}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    urls = run / "urls.txt"
    urls.write_text("\n".join(site.urls()) + "\n")
    # Loopback is blocked (SSRF protection) and each site is slept on for 5 s by default:
    # both off, as download_delay is 0 for defnews.
    cfg = run / "trafilatura.cfg"
    default = Path(__import__("trafilatura").__file__).parent / "settings.cfg"
    text = default.read_text()
    text = text.replace("SLEEP_TIME = 5.0", "SLEEP_TIME = 0").replace("SSRF_PROTECTION = on", "SSRF_PROTECTION = off")
    cfg.write_text(text)
    exe = trafilatura_exe()
    out = run / "out"
    res, _ = metered("trafilatura-cli", [exe, "--config-file", str(cfg), "-i", str(urls),
                                         "--parallel", str(parallel), "-o", str(out)], n, cwd=run)
    done = sum(1 for _ in out.rglob("*.txt")) if out.exists() else 0
    print(f"  trafilatura cli wrote {done} of {n} documents", flush=True)
    return res


def plain_loop(site: BenchSite, n: int) -> Result:
    script = Path(__file__).resolve().parent / "plain_loop.py"
    res, out = metered("plain-loop", [sys.executable, str(script), *site.feed_urls()], n, cwd=ROOT)
    print(f"  plain loop extracted {out.split()[0] if out.split() else '?'} of {n} pages", flush=True)
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=2000, help="distinct article pages (default 2000)")
    p.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "defnews-bench",
                   help="pages (cached), databases and outputs")
    p.add_argument("--ports", type=int, default=8, help="loopback sites the pages are spread over")
    p.add_argument("--concurrency", type=int, default=32, help="defnews crawl.concurrency")
    p.add_argument("--parallel", type=int, default=16, help="trafilatura --parallel (download threads)")
    p.add_argument("--only", choices=["limit", "defnews", "cli", "loop", "peers"], action="append", default=[],
                   help="run only these parts (repeatable; peers = cli + loop); the BENCH line needs "
                        "limit, defnews and cli")
    p.add_argument("--profile", metavar="OUT", help="run defnews under py-spy: OUT.svg flamegraph, OUT.json speedscope, else collapsed stacks")
    args = p.parse_args(argv)
    parts = set(args.only or ["limit", "defnews", "peers"])
    if "peers" in parts:
        parts |= {"cli", "loop"}
    n, cores = args.n, os.cpu_count() or 1
    workdir = args.workdir.resolve()
    t0 = time.perf_counter()
    pages = ensure_pages(workdir, n)
    size = sum((pages / f"{i}.html").stat().st_size for i in range(n))
    print(f"pages: {n} distinct pages, {size / n / 1024:.0f} KiB mean, in {pages} "
          f"({time.perf_counter() - t0:.0f} s to prepare); {cores} cores; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    print(f"defnews config: download_delay 0, concurrency {args.concurrency} = per_domain_concurrency "
          f"(every site is 127.0.0.1: what a crawl of many domains gets); pages on {args.ports} ports", flush=True)
    results: dict[str, Result] = {}
    with Web(pages, n, ports=args.ports) as site:
        if "limit" in parts:
            results["limit"] = limit(pages, n, cores)
            print(results["limit"].line(n), flush=True)
        if "defnews" in parts:
            results["defnews"] = defnews(site, workdir, n, args.concurrency, args.profile)
            r = results["defnews"]
            print(r.line(n) + f"  (main process {r.main_cpu / n * 1000:.1f} ms/page)", flush=True)
            print(f"  {r.rss_profile()}", flush=True)
            print("  rss per process at the peak (main first): "
                  + ", ".join(f"{x / MIB:.0f}" for x in r.peak_split) + " MiB", flush=True)
        if "cli" in parts:
            results["trafilatura-cli"] = trafilatura_cli(site, workdir, n, args.parallel)
            print(results["trafilatura-cli"].line(n), flush=True)
        if "loop" in parts:
            results["plain-loop"] = plain_loop(site, n)
            print(results["plain-loop"].line(n), flush=True)

    def pps(name: str) -> float:
        return results[name].pps if name in results else float("nan")

    def cpu_ms(name: str) -> float:
        return results[name].cpu / n * 1000 if name in results else float("nan")

    d, lim, cli = pps("defnews"), pps("limit"), pps("trafilatura-cli")
    # CPU per page does not depend on what else the machine runs; wall-clock ratios do.
    cpu_ratio = cpu_ms("limit") / cpu_ms("defnews")
    print(f"defnews / limit = {d / lim:.2f} (target >= 0.8); defnews / trafilatura cli = {d / cli:.2f} "
          f"(target >= 1.5); defnews / plain loop = {d / pps('plain-loop'):.2f}; "
          f"limit cpu / defnews cpu per page = {cpu_ratio:.2f}; load average {os.getloadavg()[0]:.1f}")
    rss = results["defnews"].peak_rss / MIB if "defnews" in results else float("nan")
    pss = results["defnews"].peak_pss / MIB if "defnews" in results else float("nan")
    print(f"BENCH n={n} defnews_pps={d:.1f} limit_pps={lim:.1f} ratio={d / lim:.2f} "
          f"trafilatura_cli_pps={cli:.1f} peak_rss_mb={rss:.0f} "
          f"plain_loop_pps={pps('plain-loop'):.1f} cpu_ms_per_page={cpu_ms('defnews'):.1f} "
          f"limit_cpu_ms_per_page={cpu_ms('limit'):.1f} cpu_ratio={cpu_ratio:.2f} peak_pss_mb={pss:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
