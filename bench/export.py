"""Export speed and memory: `defnews export` over a million synthetic stories.

    python bench/export.py            # 1,000,000 stories
    python bench/export.py --n 20000  # quicker

Writes N synthetic Arabic stories (about 1.3 KB of text each, a tenth without a
publication date) into a fresh SQLite file with the real schema, then runs the real
`defnews export --format csv` twice: over the first tenth (by --until) and over all of
them. Peak RSS of the export process must not grow with the number of rows: the two runs
are printed side by side. The last line is the BENCH line (the full export).
"""

from __future__ import annotations

from typing import Iterator

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, TreeMeter  # noqa: E402

MIB = 2**20
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
SOURCES = ["defense-arab", "sdarabia", "rt-military", "aljazeera", "alarabiya", "bbc-arabic",
           "aawsat", "sputnik-arabic", "france24-arabic", "dw-arabic"]
_WORDS = ("الجيش وزارة الدفاع القوات المسلحة مناورات عسكرية صواريخ منظومة الدفاع الجوي "
          "أعلنت اليوم في بيان رسمي أن التدريبات المشتركة شملت وحدات من البحرية والجوية "
          "وذلك في إطار التعاون بين البلدين لتعزيز الجاهزية القتالية ورفع الكفاءة").split()


def _sqlite_time(d: datetime) -> str:
    """The text SQLAlchemy stores for a UTC datetime on SQLite."""
    return d.strftime("%Y-%m-%d %H:%M:%S.%f")


def build_db(path: Path, n: int) -> None:
    """A fresh database with the real schema (migrations) and n stories."""
    from storage.db import open_db

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine, _ = open_db(f"sqlite:///{path}")
    engine.dispose()
    rng = random.Random(1)
    paragraphs = [" ".join(rng.choices(_WORDS, k=rng.randint(30, 60))) + "." for _ in range(997)]
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    sql = ("INSERT INTO stories (source, url, title, published_at, date_source, author, language, text,"
           " duplicate_of, fetched_at, relevance, fingerprint, guid, run_id)"
           " VALUES (?,?,?,?,?,?,?,?,NULL,?,?,?,?,1)")

    def rows(lo: int, hi: int) -> Iterator[tuple]:
        for i in range(lo, hi):
            when = START + timedelta(seconds=30 * i)
            text = "\n\n".join((paragraphs[i % 997], paragraphs[(i * 7) % 991], paragraphs[(i * 13) % 983],
                                f"الخبر رقم {i}."))
            src = SOURCES[i % len(SOURCES)]
            url = f"https://{src}.example/news/{i}"
            yield (src, url, f"=عنوان الخبر {i}: {paragraphs[i % 997][:60]}",
                   None if i % 10 == 9 else _sqlite_time(when), "meta", "مراسل" if i % 3 else "",
                   "ar", text, _sqlite_time(when + timedelta(minutes=5)), 0.9, f"{i:016x}", url)

    step = 20000
    for lo in range(0, n, step):
        with con:
            con.executemany(sql, rows(lo, min(n, lo + step)))
    con.close()


def run_export(db: Path, out: Path, n_rows: int,
               until: datetime | None = None) -> tuple[float, int, float, float]:
    """Runs `defnews export`; returns (seconds, rows written, peak RSS in bytes, CPU seconds)."""
    cmd = [sys.executable, "-m", "crawler.cli", "--db", f"sqlite:///{db}", "--config", os.devnull,
           "export", "--format", "csv", "--out", str(out)]
    if until is not None:
        cmd += ["--until", until.isoformat()]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    meter = TreeMeter(proc.pid, interval=0.05).start()
    _, err = proc.communicate()
    dt = time.perf_counter() - t0
    meter.stop()
    if proc.returncode != 0:
        raise SystemExit(f"export failed ({proc.returncode}): {err[-2000:]}")
    return dt, _count_csv(out), meter.peak_rss, meter.cpu_seconds


def _count_csv(path: Path) -> int:
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="synthetic stories (default 1,000,000)")
    p.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "defnews-bench")
    p.add_argument("--keep-db", action="store_true", help="reuse the database of a previous run of this N")
    args = p.parse_args(argv)
    n = args.n
    work = args.workdir.resolve() / f"export-{n}"
    work.mkdir(parents=True, exist_ok=True)
    db = work / "stories.db"
    t0 = time.perf_counter()
    if not (args.keep_db and db.exists()):
        build_db(db, n)
    print(f"database: {n} stories, {db.stat().st_size / MIB:.0f} MiB, built in {time.perf_counter() - t0:.0f} s",
          flush=True)
    tenth = n // 10
    # --until filters on published_at, else fetched_at (5 minutes later): the first tenth.
    until = START + timedelta(seconds=30 * (tenth - 1))
    small = run_export(db, work / "tenth.csv", tenth, until)
    full = run_export(db, work / "all.csv", n)
    for label, (dt, rows, rss, cpu) in (("tenth", small), ("all", full)):
        print(f"export {label:<5} {rows:>8} rows {dt:7.1f} s {rows / dt:9.0f} rows/s  cpu {cpu:6.1f} s  "
              f"peak rss {rss / MIB:5.0f} MiB", flush=True)
    if full[1] != n:
        print(f"warning: exported {full[1]} rows of {n}", file=sys.stderr)
    print(f"peak RSS all / tenth = {full[2] / small[2]:.2f} (flat: about 1)")
    dt, rows, rss, _ = full
    print(f"BENCH export_rows={rows} rows_per_s={rows / dt:.0f} peak_rss_mb={rss / MIB:.0f} "
          f"peak_rss_tenth_mb={small[2] / MIB:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
