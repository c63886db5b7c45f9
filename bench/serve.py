"""The web reader under load: river, story page and search latency (p50/p95) and requests/s
with 8 concurrent clients, on 100 000 stories, SQLite then PostgreSQL.

    python bench/serve.py [--n 100000] [--clients 8] [--requests 400] [--only sqlite|postgresql]

Stories are written straight into the schema (the crawler's dedup is not what is measured
here), through storage.search.search_columns like every stored story, so the search index
is the real one. Words follow the frequencies of the labelled Arabic pages
(tests/fixtures/quality) with a long Zipf tail of rarer words, so a common word matches most
stories and a rare one a handful, as in a real archive. 10% of the stories are copies of an
earlier one. The SQLite file is kept under /tmp between runs (rebuilt when --n changes);
the PostgreSQL schema is dropped at the end.

`defnews serve` runs in its own process (uvicorn, as a user starts it); the clients are
threads with keep-alive connections on 127.0.0.1. Targets: search p95 <= 50 ms, river p95
<= 20 ms.
"""

from __future__ import annotations

import argparse
import collections
import glob
import http.client
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from storage.db import open_db  # noqa: E402
from storage.models import Story  # noqa: E402
from storage.search import search_columns  # noqa: E402
from tests.web.readerdata import serving  # noqa: E402

PG_URL = os.environ.get("DEFNEWS_TEST_PG", "postgresql+psycopg://127.0.0.1:5432/test")
SOURCES = [f"source-{i:02d}" for i in range(24)]
START = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
CONFIG = "database: sqlite:///unused.db\nsources:\n" + "".join(
    f"  - name: {s}\n    url: https://{s}.example/\n" for s in SOURCES)


def vocabulary(rng: random.Random, tail: int = 40_000) -> tuple[list[str], list[float]]:
    """Words and weights: the real pages' counts, then a Zipf tail of made-up words."""
    counts: collections.Counter[str] = collections.Counter()
    for f in glob.glob(str(ROOT / "tests/fixtures/quality/pages/*.json")):
        d = json.loads(Path(f).read_text(encoding="utf-8"))
        counts.update(re.findall(r"\w+", " ".join(d["paragraphs"]) + " " + d.get("title", "")))
    words = [w for w, _ in counts.most_common()]
    weights = [float(c) for _, c in counts.most_common()]
    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    floor = min(weights)
    for rank in range(1, tail + 1):
        words.append("".join(rng.choice(letters) for _ in range(rng.randint(4, 8))))
        weights.append(floor * 3 / rank ** 0.8)
    return words, weights


def build(url: str, n: int, seed: int = 7) -> None:
    """Write ``n`` stories into the database at ``url`` (schema by the migrations)."""
    rng = random.Random(seed)
    words, weights = vocabulary(rng)
    cum = list(__import__("itertools").accumulate(weights))
    engine, factory = open_db(url)
    started = time.monotonic()
    batch: list[dict] = []
    originals: list[int] = []

    def flush() -> None:
        with engine.begin() as conn:
            conn.execute(insert(Story.__table__), batch)
        batch.clear()

    for i in range(1, n + 1):
        when = START - timedelta(minutes=7 * (n - i))  # newest last, as a crawl stores them
        body = rng.choices(words, cum_weights=cum, k=300)
        title = " ".join(rng.choices(words, cum_weights=cum, k=9))
        paragraphs = "\n\n".join(" ".join(body[k:k + 60]) for k in range(0, 300, 60))
        copy = originals and rng.random() < 0.1
        row = {"id": i, "source": rng.choice(SOURCES), "url": f"https://bench.example/{i}",
               "title": title, "published_at": when, "date_source": "meta", "author": "",
               "language": "ar", "text": paragraphs, "fetched_at": when + timedelta(minutes=3),
               "fingerprint": "" if copy else uuid.UUID(int=rng.getrandbits(128)).hex,
               "duplicate_of": rng.choice(originals[-200:]) if copy else None,
               **search_columns(title, paragraphs)}
        if not copy:
            originals.append(i)
        batch.append(row)
        if len(batch) == 1000:
            flush()
    if batch:
        flush()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"  built {n} stories in {time.monotonic() - started:.0f} s")


def requests_for(kind: str, rng: random.Random, n: int) -> list[str]:
    """Paths a reader asks for: first and deeper river pages, filters, stories, searches."""
    if kind == "river":
        out = []
        for _ in range(200):
            r = rng.random()
            if r < 0.5:
                out.append("/")
            elif r < 0.8:  # a deeper page: a keyset position somewhere in the archive
                sid = rng.randint(1000, n)
                when = START - timedelta(minutes=7 * (n - sid))
                out.append(f"/?before={int(when.timestamp() * 1e6)}_{sid}")
            else:
                out.append(f"/?source={rng.choice(SOURCES)}")
        return out
    if kind == "story":
        return [f"/story/{rng.randint(1, n)}" for _ in range(200)]
    words, _ = vocabulary(random.Random(7))
    queries = (["القوات", "الجيش", "جديدة", "اسرائيل", "الدفاع الجوي", "صاروخ", "المناورات",
                "وزارة الدفاع", "طائرات مسيرة", "الصين"] + words[200:230] + words[2000:2020]
               + words[20000:20010])
    out = []
    for _ in range(200):
        q = quote(rng.choice(queries))
        r = rng.random()
        out.append(f"/?q={q}" if r < 0.6 else f"/?q={q}&sort=time" if r < 0.85
                   else f"/?q={q}&source={rng.choice(SOURCES)}")
    return out


def load(base: str, paths: list[str], clients: int, total: int) -> tuple[list[float], float, int]:
    """``total`` requests from ``clients`` threads with keep-alive: latencies (s), wall
    time (s), non-200 count."""
    host, port = base.replace("http://", "").split(":")
    lat: list[float] = []
    bad = [0]
    lock = threading.Lock()
    counter = iter(range(total))

    def worker(k: int) -> None:
        rng = random.Random(k)
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        mine: list[float] = []
        while True:
            with lock:
                if next(counter, None) is None:
                    break
            path = rng.choice(paths)
            t = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t)
            if resp.status != 200:
                with lock:
                    bad[0] += 1
        conn.close()
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, time.perf_counter() - started, bad[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc): the server's own cost per request,
    which a machine shared with other work does not inflate the way it inflates latency."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def measure(name: str, url: str, n: int, clients: int, total: int) -> None:
    cfg = Path(tempfile.mkdtemp()) / "config.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    rng = random.Random(3)
    with serving(url, cfg, timeout=300, quiet=True) as (base, proc):
        load(base, requests_for("river", rng, n)[:20], 2, 40)  # warm the caches
        for kind in ("river", "story", "search"):
            paths = requests_for(kind, rng, n)
            cpu = cpu_seconds(proc.pid)
            lat, wall, bad = load(base, paths, clients, total)
            cpu = cpu_seconds(proc.pid) - cpu
            print(f"  {name:10} {kind:6} p50 {statistics.median(lat) * 1000:6.1f} ms  "
                  f"p95 {pct(lat, 95) * 1000:6.1f} ms  {len(lat) / wall:6.0f} req/s  "
                  f"server CPU {cpu / len(lat) * 1000:5.1f} ms/request"
                  + (f"  ({bad} not 200)" if bad else ""))
        print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=400, help="per kind of page")
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    ap.add_argument("--pg-schema", metavar="NAME",
                    help="keep the PostgreSQL stories in this schema (built once, reused; "
                         "drop it yourself) instead of a throw-away one")
    args = ap.parse_args()
    print(f"defnews serve, {args.n} stories, {args.clients} clients, {args.requests} requests a kind")
    if args.only in (None, "sqlite"):
        path = Path(tempfile.gettempdir()) / f"defnews-bench-serve-{args.n}.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            try:
                build(url, args.n)
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        measure("sqlite", url, args.n, args.clients, args.requests)
    if args.only in (None, "postgresql") and args.pg_schema:
        url = kept_schema(args.pg_schema, args.n)
        measure("postgresql", url, args.n, args.clients, args.requests)
    elif args.only in (None, "postgresql"):
        from tests.web.aggsite import pg_schema

        with pg_schema(PG_URL, f"bench_serve_{uuid.uuid4().hex[:8]}") as url:
            build(url, args.n)
            measure("postgresql", url, args.n, args.clients, args.requests)


def kept_schema(name: str, n: int) -> str:
    """A PostgreSQL schema holding ``n`` bench stories, built on first use."""
    from sqlalchemy import create_engine

    admin = create_engine(PG_URL)
    with admin.begin() as con:
        exists = con.execute(text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"),
                             {"s": name}).first()
        if not exists:
            con.execute(text(f'CREATE SCHEMA "{name}"'))
    admin.dispose()
    url = f"{PG_URL}?options=-csearch_path%3D{name}"
    engine, _ = open_db(url)
    with engine.connect() as con:
        have = con.execute(text("SELECT count(*) FROM stories")).scalar()
    engine.dispose()
    if have != n:
        if have:
            raise SystemExit(f"schema {name} holds {have} stories, not {n}: drop it first")
        build(url, n)
    return url


if __name__ == "__main__":
    main()
