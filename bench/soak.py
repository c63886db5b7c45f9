"""Flat for months: the scheduler over a thousand runs and more, sampled as it goes.

    python bench/soak.py [--runs 1000] [--sources 4] [--every 1] [--retention-s 60]

Runs the real `defnews schedule` on a loopback web of N sites (tests/web/aggsite.py, with
the listing and sitemap of bench/idle.py), every source on `every Ns` (short, so a
thousand runs take minutes, not months) and ``crawl.retention_days`` set to
``--retention-s`` seconds, so that retention is in force for most of the soak. Every
second it samples the scheduler's RSS, open file descriptors and threads, the zygote's
RSS, and the database files (main file, WAL). At the end it prints the series per tenth of the
runs and each figure's median over the first ten samples after 50 runs and over the
last 50 runs, their ratio (samples taken with no crawl running: each running crawl holds
a pipe and threads in the scheduler), and the database's growth per run over the
second half of the soak (when retention keeps the run records at a constant count).

Targets (issue 15): RSS and fds at the end within 10% of their value after 50 runs;
database growth 0 bytes per idle run after retention.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.idle import RUN_LINE, add_pages  # noqa: E402
from tests.web.aggsite import start_sites  # noqa: E402


def proc_status(pid: int) -> dict[str, int]:
    """RSS (KiB), threads and open fds of a process, from /proc."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Threads"):
                out[key] = int(value.split()[0])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, ValueError):
        pass
    return out


def children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def zygote_pid(scheduler: int) -> int | None:
    for child in children_of(scheduler):
        try:
            if b"crawler.zygote" in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
        except OSError:
            continue
    return None


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def write_config(path: Path, db: Path, sites: dict, every: int, retention_s: float) -> None:
    lines = [f"database: sqlite:///{db}", "crawl:", "  obey_robots: true", "  concurrency: 8",
             "  per_domain_concurrency: 4", "  download_delay: 0", "  timeout: 5", "  retries: 1",
             f"  retention_days: {retention_s / 86400:.8f}", "sources:"]
    for name, fs in sites.items():
        base = fs.site.base
        lines += [f"  - name: {name}", f"    url: {base}/", f"    feeds: [{fs.feed_url}]",
                  f"    schedule: every {every}s", "    article_pattern: '/20\\d\\d/\\d\\d/'",
                  f"    start_urls: [{base}/section/]", f"    sitemaps: [{base}/sitemap.xml]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--sources", type=int, default=4)
    ap.add_argument("--every", type=int, default=1, help="seconds between runs of a source")
    ap.add_argument("--retention-s", type=float, default=60.0, help="crawl.retention_days, in seconds")
    ap.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
    args = ap.parse_args()

    web, sites = start_sites(*((f"s{i}", f"127.0.0.{i}", 3) for i in range(1, args.sources + 1)))
    add_pages(sites)
    tmp = Path(tempfile.mkdtemp(prefix="defnews-soak-"))
    db, cfg, err = tmp / "soak.db", tmp / "config.yaml", tmp / "schedule.err"
    write_config(cfg, db, sites, args.every, args.retention_s)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DEFNEWS_CONFIG", None)
    env.pop("DEFNEWS_DB", None)
    samples: list[dict] = []
    t0 = time.monotonic()
    with open(err, "w+", encoding="utf-8") as errf:
        proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--config", str(cfg), "schedule"],
                                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=errf, start_new_session=True)
        try:
            while True:
                time.sleep(0.5)
                if proc.poll() is not None:
                    raise SystemExit("the scheduler died:\n" + err.read_text(encoding="utf-8")[-3000:])
                text = err.read_text(encoding="utf-8")
                runs = len(RUN_LINE.findall(text))
                s = proc_status(proc.pid)
                z = zygote_pid(proc.pid)
                zs = proc_status(z) if z else {}
                inflight = len(children_of(z)) if z else len(children_of(proc.pid))
                samples.append({"t": time.monotonic() - t0, "runs": runs, "inflight": inflight,
                                "rss": s.get("VmRSS", 0),
                                "fds": s.get("fds", 0), "threads": s.get("Threads", 0),
                                "zygote_rss": zs.get("VmRSS", 0), "db": size(db),
                                "wal": size(db.with_name(db.name + "-wal"))})
                if runs >= args.runs or time.monotonic() - t0 > args.timeout:
                    break
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            web.stop()
    text = err.read_text(encoding="utf-8")
    statuses: dict[str, int] = {}
    for m in RUN_LINE.finditer(text):
        statuses[m[3]] = statuses.get(m[3], 0) + 1
    crashes = len(re.findall(r"crashed|Traceback", text))

    # Figures move with the crawls in flight (each holds a pipe and a thread here), so
    # compare windows of samples taken at rest (no crawl running), not single samples: the
    # median over runs 50-100 against the median over the last 50 runs.
    end = samples[-1]
    rest = [s for s in samples if s["inflight"] == 0] or samples
    first = [s for s in rest if s["runs"] >= 50][:10]  # the first ten after 50 runs
    last = [s for s in rest if s["runs"] >= end["runs"] - 50] or rest[-10:]
    (tmp / "samples.json").write_text(json.dumps(samples), encoding="utf-8")
    print(f"samples: {tmp / 'samples.json'}")
    half = next((s for s in samples if s["runs"] >= end["runs"] // 2), samples[0])
    print(f"{end['runs']} runs of {args.sources} sources (every {args.every}s, retention {args.retention_s:.0f}s) "
          f"in {end['t']:.0f}s; statuses {statuses} (the last ones cut by the final SIGTERM); "
          f"crash lines in the log: {crashes}")
    print("the series (at rest: median of the samples with no crawl running, per window of runs):")
    print(f"{'runs':>10}{'samples':>9}{'rss KiB':>10}{'fds':>6}{'threads':>8}{'zygote KiB':>12}{'db B':>10}{'wal B':>10}")
    step = max(end["runs"] // 10, 1)
    for lo in range(0, end["runs"], step):
        win = [s for s in rest if lo <= s["runs"] < lo + step]
        if win:
            med = {k: statistics.median(s[k] for s in win) for k in ("rss", "fds", "threads", "zygote_rss", "db", "wal")}
            print(f"{f'{lo}-{lo + step}':>10}{len(win):>9}{med['rss']:>10.0f}{med['fds']:>6.0f}{med['threads']:>8.0f}"
                  f"{med['zygote_rss']:>12.0f}{med['db']:>10.0f}{med['wal']:>10.0f}")
    span = f"runs {first[0]['runs']}-{first[-1]['runs']}"
    print(f"{'median at rest over':24}{span:>15}{'last 50 runs':>15}{'max':>12}{'ratio':>10}")
    ratios = {}
    for key, unit in (("rss", "KiB"), ("fds", ""), ("threads", ""), ("zygote_rss", "KiB"), ("db", "B"), ("wal", "B")):
        a, b = statistics.median(s[key] for s in first), statistics.median(s[key] for s in last)
        ratios[key] = b / a if a else float("nan")
        print(f"{key + ' ' + unit:24}{a:>15.0f}{b:>15.0f}{max(s[key] for s in samples):>12}{ratios[key]:>10.3f}")
    runs_2nd = end["runs"] - half["runs"]
    growth = (end["db"] - half["db"]) / runs_2nd if runs_2nd else float("nan")
    print(f"database main file growth over the second half ({runs_2nd} runs): {end['db'] - half['db']} B "
          f"= {growth:.1f} B per run")
    print(f"BENCH soak_runs={end['runs']} rss_ratio={ratios['rss']:.3f} fds_ratio={ratios['fds']:.3f} "
          f"threads_ratio={ratios['threads']:.3f} zygote_rss_ratio={ratios['zygote_rss']:.3f} "
          f"db_growth_b_per_run={growth:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
