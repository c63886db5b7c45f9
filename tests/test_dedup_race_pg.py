"""Two real crawl processes store the same stories at once on PostgreSQL: one original each.

Each round runs in a fresh PostgreSQL schema (other tests share the database), and two
``python`` processes, released together by a barrier file, store the labelled set in
batches of 3 in different orders: each under its own URLs (exact and near-duplicate races
across processes) and under shared URLs (URL races). Afterwards every URL is one row,
every story (cluster) has exactly one original, every duplicate points at an original,
and no two stories were merged. Without the database constraints (unique URL, one
original per fingerprint, one claim per LSH bucket) the processes, each blind to the
other's uncommitted rows, store two originals of the same story.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "tests" / "fixtures" / "dedup" / "labelled.jsonl"

WORKER = r"""
import json, os, sys, time
from datetime import datetime, timezone
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from crawler.items import Record
from storage.stories import store_records

url, schema, items_path, go_path, batch, limit = sys.argv[1:7]
engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
factory = sessionmaker(engine, expire_on_commit=False)
items = json.load(open(items_path, encoding="utf-8"))
records = [Record(source=i["source"], url=i["url"], title=i["title"], text=i["text"], author="",
                  published_at=None, date_source="none", language="ar",
                  fetched_at=datetime.now(timezone.utc), guid=i["url"]) for i in items]
with engine.connect():  # connect before the start line, so both start storing together
    pass
print("ready", flush=True)
while not os.path.exists(go_path):
    time.sleep(0.001)
out = []
for start in range(0, len(records), int(batch)):
    out += [o.__dict__ for o in store_records(factory, records[start:start + int(batch)],
                                              recent_limit=int(limit))]
print(json.dumps(out), flush=True)
"""


def labelled() -> list[dict]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]


def workload(rows: list[dict], who: str, run: str, seed: int) -> list[dict]:
    """Every story under this process's own URL and under a URL both processes use."""
    import random

    items = [{**r, "url": f"https://{who}.race.example/{run}/{r['id']}"} for r in rows]
    items += [{**r, "url": f"https://shared.race.example/{run}/{r['id']}"} for r in rows]
    random.Random(seed).shuffle(items)
    return items


@pytest.fixture
def scratch_schema(pg_url):
    schema = f"race_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
    from storage.models import Base

    Base.metadata.create_all(engine)
    try:
        yield pg_url, schema, engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_two_processes(pg_url: str, schema: str, tmp: Path, work: dict[str, list[dict]],
                      batch: int = 3, recent_limit: int = 262_144) -> dict[str, list[dict]]:
    go = tmp / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = {}
    for who, items in work.items():
        path = tmp / f"{who}.json"
        path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
        procs[who] = subprocess.Popen(
            [sys.executable, "-c", WORKER, pg_url, schema, str(path), str(go), str(batch),
             str(recent_limit)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for who, p in procs.items():  # both imported and connected
        line = p.stdout.readline().strip()
        assert line == "ready", f"{who} did not start: {line} {p.stderr.read()}"
    go.write_text("go")
    results = {}
    for who, p in procs.items():
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, f"{who} failed:\n{err}"
        results[who] = json.loads(out.strip().splitlines()[-1])
    return results


@pytest.mark.parametrize("round_,recent_limit", [(0, 262_144), (1, 262_144), (2, 0), (3, 100)])
def test_two_processes_store_the_same_stories_at_once(scratch_schema, tmp_path, round_,
                                                      recent_limit):
    """recent_limit 0 / 100: LSH buckets move into story_bands while the other process
    claims and looks up buckets, so the two-level index is raced too."""
    pg_url, schema, engine = scratch_schema
    rows = labelled()
    run = uuid.uuid4().hex[:8]
    work = {who: workload(rows, who, run, seed=round_ * 10 + n) for n, who in enumerate("ab")}
    t0 = time.perf_counter()
    results = run_two_processes(pg_url, schema, tmp_path, work, recent_limit=recent_limit)
    elapsed = time.perf_counter() - t0

    # Both processes really wrote originals: they raced rather than ran one after the other.
    for who in "ab":
        assert any(o["status"] == "new" for o in results[who]), f"{who} won nothing ({elapsed:.1f}s)"

    with engine.connect() as conn:
        stored = conn.execute(text("SELECT id, url, duplicate_of FROM stories")).all()
    cluster_of = {r["id"]: r["cluster"] for r in rows}
    by_url = {}
    for sid, url, dup in stored:
        assert url not in by_url, f"{url} stored twice"
        by_url[url] = (sid, dup)
    expected_urls = {i["url"] for items in work.values() for i in items}
    assert set(by_url) == expected_urls  # every story stored once per URL, none lost

    originals = {sid for sid, dup in by_url.values() if dup is None}
    assert all(dup in originals for _, dup in by_url.values() if dup is not None), "a chain"
    roots: dict[str, set[int]] = {}
    for url, (sid, dup) in by_url.items():
        roots.setdefault(cluster_of[url.rsplit("/", 1)[1]], set()).add(dup or sid)
    split = {c: r for c, r in roots.items() if len(r) != 1}
    assert not split, f"stories with more than one original: {split}"
    merged = len(set().union(*roots.values())) != len(roots)
    assert not merged, "two different stories share an original"

    # What each process was told agrees with the database.
    for who in "ab":
        for item, outcome in zip(work[who], results[who]):
            sid, dup = by_url[item["url"]]
            assert outcome["story_id"] == sid
            assert (outcome["duplicate_of"] or outcome["story_id"]) == (dup or sid)
