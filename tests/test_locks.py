"""Per-source crawl locks: race-free in the database, expiring, and `defnews crawl` skips.

The races are real: separate processes hammer one lock row at the same moment, on SQLite
and on PostgreSQL (where the lock must also hold across machines).
"""

from __future__ import annotations

from typing import Any

import multiprocessing
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete

from storage.db import open_db, utcnow
from storage.holders import holder_is_dead, make_holder
from storage.locks import Heartbeat, acquire, claim_sources, lock_info, release, renew
from storage.models import SourceLock
from tests.web.aggsite import pg_schema, popen, query, start_sites, stop_group, write_config


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'locks.db'}"


def _factory(url: str):
    engine, factory = open_db(url)
    return engine, factory


def test_acquire_release_renew(sqlite_url: str) -> None:
    engine, f = _factory(sqlite_url)
    a, b = make_holder(), make_holder()
    assert acquire(f, "src", a)
    assert acquire(f, "src", a), "re-acquiring one's own lock renews it"
    assert not acquire(f, "src", b), "a live holder keeps its lock"
    assert lock_info(f, "src").holder == a
    assert renew(f, "src", a) and not renew(f, "src", b)
    assert not release(f, "src", b), "nobody releases someone else's lock"
    assert release(f, "src", a)
    assert acquire(f, "src", b)
    engine.dispose()


def test_expired_lock_is_taken_over(sqlite_url: str) -> None:
    engine, f = _factory(sqlite_url)
    other_machine = "elsewhere.example:4242:deadbeef"
    assert acquire(f, "src", other_machine, ttl=0.2)
    assert not acquire(f, "src", make_holder()), "not expired yet"
    time.sleep(0.3)
    mine = make_holder()
    assert acquire(f, "src", mine), "an expired lock is taken over"
    assert lock_info(f, "src").holder == mine
    assert not renew(f, "src", other_machine), "the old holder has lost it"
    engine.dispose()


def test_lock_of_a_dead_local_process_is_taken_at_once(sqlite_url: str) -> None:
    engine, f = _factory(sqlite_url)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    import socket

    dead = f"{socket.gethostname()}:{child.pid}:00000000"
    assert holder_is_dead(dead)
    assert acquire(f, "src", dead, ttl=3600)
    assert acquire(f, "src", make_holder()), "a SIGKILLed holder on this host does not block for the TTL"
    live = f"{socket.gethostname()}:{os.getpid()}:11111111"
    assert not holder_is_dead(live)
    engine.dispose()


def test_heartbeat_keeps_the_lock_alive(sqlite_url: str) -> None:
    engine, f = _factory(sqlite_url)
    holder = make_holder()
    assert acquire(f, "src", holder, ttl=0.8)
    hb = Heartbeat(f, ["src"], holder, ttl=0.8).start()
    try:
        time.sleep(1.6)  # two TTLs: only the heartbeat keeps it
        assert not acquire(f, "src", "elsewhere.example:1:x"), "renewed lock still held"
    finally:
        hb.stop()
    assert lock_info(f, "src").expires_at > utcnow()
    engine.dispose()


def _race(url: str, source: str, start_at: float, q: Any, done: Any) -> None:
    engine, f = open_db(url)
    holder = make_holder()
    while time.time() < start_at:
        time.sleep(0.001)
    q.put(acquire(f, source, holder))
    done.wait(60)  # stay alive: the lock of a process that is gone is rightly taken over
    engine.dispose()


def _race_many(url: str, source: str, n: int = 6) -> list[bool]:
    ctx = multiprocessing.get_context("fork")  # fast; children open their own engines
    q, done = ctx.Queue(), ctx.Event()
    start_at = time.time() + 1.5  # all processes are up by then
    procs = [ctx.Process(target=_race, args=(url, source, start_at, q, done)) for _ in range(n)]
    for p in procs:
        p.start()
    try:
        results = [q.get(timeout=60) for _ in procs]
    finally:
        done.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    return results


def test_racing_processes_one_wins_sqlite(sqlite_url: str) -> None:
    open_db(sqlite_url)[0].dispose()
    results = _race_many(sqlite_url, "src")
    assert results.count(True) == 1, results


@pytest.fixture
def pg_schema_url(pg_url: str, unique: str):
    with pg_schema(pg_url, f"locks_{unique}") as url:
        yield url


@pytest.mark.postgres
def test_racing_processes_one_wins_postgres(pg_schema_url: str, unique: str) -> None:
    pg_url = pg_schema_url
    engine, f = _factory(pg_url)
    source = f"race-{unique}"
    try:
        results = _race_many(pg_url, source)
        assert results.count(True) == 1, results
        # ...and an expired lock is stolen by exactly one of many.
        with f.begin() as s:
            s.execute(delete(SourceLock).where(SourceLock.source == source))
        assert acquire(f, source, "elsewhere.example:1:x", ttl=0.5)
        time.sleep(0.6)
        results = _race_many(pg_url, source)
        assert results.count(True) == 1, results
    finally:
        with f.begin() as s:
            s.execute(delete(SourceLock).where(SourceLock.source == source))
        engine.dispose()


def test_claim_skips_locked_and_backed_off_sources(sqlite_url: str) -> None:
    from storage.models import Source

    engine, f = _factory(sqlite_url)
    with f.begin() as s:
        s.add(Source(name="dead", url="http://x/", created_at=utcnow(), consecutive_failures=3,
                     backoff_until=utcnow() + timedelta(hours=1)))
    assert acquire(f, "busy", "elsewhere.example:1:x")
    claim = claim_sources(f, ["free", "busy", "dead"], respect_backoff=True)
    assert claim.sources == ["free"]
    assert any("busy: already being crawled by elsewhere.example:1:x" in line for line in claim.skipped)
    assert any("dead: backing off after 3 failures" in line for line in claim.skipped)
    claim.release(f)
    forced = claim_sources(f, ["dead"], respect_backoff=False)
    assert forced.sources == ["dead"], "naming a source crawls it despite its backoff"
    forced.release(f)
    shared = claim_sources(f, ["busy", "dead"], respect_backoff=True, exclusive=False)
    assert shared.sources == ["busy"], "Redis workers share a source; backoff still holds"
    assert lock_info(f, "busy").holder == "elsewhere.example:1:x", "no lock taken or stolen"
    engine.dispose()


# -- the real command ---------------------------------------------------------------------

def test_two_crawls_of_one_source_one_runs_one_skips(tmp_path: Path) -> None:
    web, sites = start_sites(("one", "127.0.0.1", 4))
    sites["one"].article_delay = 1.0  # the crawl lasts long enough to overlap
    db = tmp_path / "defnews.db"
    cfg = write_config(tmp_path, db, sites)
    procs = []
    try:
        procs = [popen("--config", str(cfg), "crawl", "--source", "one") for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            stop_group(p)
        web.stop()
    codes = [p.returncode for p in procs]
    assert codes == [0, 0], outs
    skipped = [i for i, (out, err) in enumerate(outs) if "already being crawled" in err]
    assert len(skipped) == 1, outs
    out, err = outs[skipped[0]]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == [lines[0]] and lines[0].startswith("defnews: source one: already being crawled by "), err
    assert out == "", "the skipping crawl prints no summary"
    runs = query(db, "SELECT status FROM crawl_runs WHERE source = 'one'")
    assert runs == [("ok",)], runs
    assert query(db, "SELECT count(*) FROM source_locks") == [(0,)], "the lock is released"
    # each article fetched once: the skipped crawl fetched nothing
    for path in (a.path for a in sites["one"].articles):
        assert len(web.hits(path=path)) == 1


def test_quiet_skip_prints_nothing(tmp_path: Path) -> None:
    web, sites = start_sites(("one", "127.0.0.1", 2))
    db = tmp_path / "defnews.db"
    cfg = write_config(tmp_path, db, sites)
    engine, f = open_db(f"sqlite:///{db}")
    try:
        assert acquire(f, "one", "elsewhere.example:1:x")
        p = popen("--config", str(cfg), "-q", "crawl", "--source", "one")
        out, err = p.communicate(timeout=120)
        assert (p.returncode, out, err) == (0, "", "")
        assert web.hits() == [], "nothing fetched"
    finally:
        engine.dispose()
        web.stop()
