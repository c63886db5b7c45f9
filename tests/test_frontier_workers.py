"""Three `defnews crawl` workers sharing one frontier (Redis) and one database, as an
operator runs them: real processes, the real Redis and PostgreSQL, the loopback web.

Five feed sites of six slow articles each, so that a crawl lasts long enough to be shared
and to be killed in the middle. Every Redis key of a test lives under its own prefix.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections import Counter
from dataclasses import replace

import pytest

from crawler.frontier.status import inspect_source
from tests.web.aggsite import config_text, make_articles, popen, start_sites, stop_group, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

SITES = [(f"s{i}", f"127.0.0.{11 + i}", 6) for i in range(5)]
ARTICLE_DELAY = 0.4  # seconds per article page: the crawl of 30 lasts a few seconds


@pytest.fixture
def frontier(redis_url, unique):
    import redis

    client = redis.Redis.from_url(redis_url)
    prefix = f"t{unique}:"
    yield client, prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def _gated(handler, gate):
    def serve(req):
        gate.wait(60)
        return handler(req)
    return serve


@pytest.fixture
def sites():
    """The sites, with a gate: article pages are answered once the test opens it."""
    web, feeds = start_sites(*SITES)
    gate = threading.Event()
    for s in feeds.values():
        s.article_delay = ARTICLE_DELAY
        for a in s.articles:
            s.site.routes[a.path] = _gated(s.site.routes[a.path], gate)
    web.gate = gate
    try:
        yield web, feeds
    finally:
        gate.set()
        web.stop()


def _open_when_all_joined(web, client, prefix, feeds, n=3):
    """Workers start 3-10 s apart on a busy machine; the first one up would take nearly all
    the work before the last one is ready. Articles are served once all n joined every
    source's run (the gate holds only the first few requests: a worker takes no more
    than its concurrency, 2 per source)."""
    wait_for(lambda: all(client.scard(f"{prefix}{name}:run:members") >= n for name in feeds), 90,
             f"{n} workers joining every source's run")
    web.gate.set()


def _config(tmp_path, db_url, feeds, redis_url, prefix):
    sources = [{"name": n, "url": s.site.base + "/", "feeds": [s.feed_url]} for n, s in feeds.items()]
    # concurrency = per_domain: each source is one host, so a worker leases no more of a
    # source than it fetches at once (the rest stay in the queue for the others).
    text = config_text(db_url, sources, per_domain=2, concurrency=2).replace(
        "crawl:\n", f"crawl:\n  redis_url: {redis_url}\n  redis_prefix: '{prefix}'\n").replace(
        "  timeout: 5\n", "  timeout: 90\n")  # requests may wait at the gate
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _start(cfg, n=3):
    return [popen("--config", str(cfg), "-v", "crawl") for _ in range(n)]


def _finish(procs, timeout=120):
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=timeout)
        except Exception:
            stop_group(p)
            raise
        outs.append((p.returncode, out, err))
    return outs


def _stories(db_url):
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as con:
            return [r[0] for r in con.execute(text("SELECT url FROM stories"))]
    finally:
        engine.dispose()


def _runs(db_url):
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as con:
            return [tuple(r) for r in con.execute(text(
                "SELECT source, status, pages, new, workers FROM crawl_runs ORDER BY id"))]
    finally:
        engine.dispose()


def _health(cfg):
    from crawler.config import load_config
    from storage.db import open_db
    from storage.health import source_health

    config = load_config(cfg)
    engine, factory = open_db(config.database)
    try:
        return source_health(factory, config.sources)
    finally:
        engine.dispose()


def _all_articles(feeds):
    return sorted(u for s in feeds.values() for u in s.article_urls())


def _article_hits(web):
    return [(h.host, h.path) for h in web.log if "/story-" in h.path and h.status == 200]


def _shares(client, prefix, feeds, pids):
    """Requests each worker (by pid) took in the last run, over all sources."""
    taken = Counter()
    for name in feeds:
        run = client.hgetall(f"{prefix}{name}:run")
        for field, value in run.items():
            field = field.decode()
            if field.startswith("counts:"):
                pid = int(field.split(":")[2])
                taken[pid] += json.loads(value).get("pages", 0)
    return [taken.get(pid, 0) for pid in pids]


def test_three_workers_share_a_crawl_and_a_second_run_fetches_only_new(
        tmp_path, sites, frontier, redis_url, pg_schema_url):
    """Started at the same instant on an empty database: all three crawl (no unique
    violation, no silent exit 0), every article is stored once, every feed fetched once,
    each worker gets a share; the next run fetches the new feed items and nothing stored."""
    web, feeds = sites
    client, prefix = frontier
    cfg = _config(tmp_path, pg_schema_url, feeds, redis_url, prefix)
    procs = _start(cfg)
    _open_when_all_joined(web, client, prefix, feeds)
    outs = _finish(procs)
    for rc, out, err in outs:
        assert rc == 0, err[-3000:]
        assert "UniqueViolation" not in err and "Traceback" not in err, err[-3000:]
    urls = _stories(pg_schema_url)
    assert sorted(urls) == _all_articles(feeds), "every article, each stored once"
    hits = Counter(_article_hits(web))
    assert hits and set(hits.values()) == {1}, "each article fetched by one worker, once"
    feed_hits = Counter(h.host for h in web.log if h.path == "/feed/")
    assert feed_hits == {s.site.host: 1 for s in feeds.values()}, "each feed fetched once per run"
    shares = _shares(client, prefix, feeds, [p.pid for p in procs])
    print(f"FIGURE shares={shares} seeds={sum(feed_hits.values())} stored={len(urls)}/{len(_all_articles(feeds))}")
    assert sum(shares) == len(urls) and all(n > 0 for n in shares), f"each worker fetched a share: {shares}"
    runs = _runs(pg_schema_url)
    assert sorted(r[0] for r in runs) == sorted(feeds), "one run per source"
    assert all(r[1] == "ok" and r[4] == 3 for r in runs), runs
    assert sum(r[2] for r in runs) == len(urls), "the run holds every worker's counts"
    rows = _health(cfg)  # what `defnews sources --json` prints
    assert [r["last_run_workers"] for r in rows] == [3] * len(feeds)
    assert sum(r["last_run_fetched"] for r in rows) == len(urls)

    # A second run: two new items in each feed (the gate is open from now on).
    web.clear()
    offset = 0
    for name, s in feeds.items():
        s.articles = s.articles + [replace(a, key=f"{name}n{i}") for i, a in
                                   enumerate(make_articles(f"{name}new", 2, 30 + offset))]
        offset += 2
        s.etag = '"v2"'
        s.install()
    outs = _finish(_start(cfg))
    for rc, out, err in outs:
        assert rc == 0, err[-3000:]
    urls = _stories(pg_schema_url)
    assert sorted(urls) == _all_articles(feeds), "the new items stored, once"
    fetched = {path for _, path in _article_hits(web)}
    assert fetched == {a.path for s in feeds.values() for a in s.articles[-2:]}, \
        "the second run fetches the new items and no stored article"


def test_a_worker_killed_mid_crawl_loses_nothing(tmp_path, sites, frontier, redis_url, pg_schema_url):
    """SIGKILL one of three once it holds requests: the survivors (or at most one more
    run) store every article exactly once."""
    web, feeds = sites
    client, prefix = frontier
    cfg = _config(tmp_path, pg_schema_url, feeds, redis_url, prefix)
    procs = _start(cfg)
    try:
        _open_when_all_joined(web, client, prefix, feeds)

        def holder():
            """A worker holding article requests of a source whose seeds another worker
            fetches: what it holds can come back only through its leases (the feed is not
            read again, its validators are saved by the seed owner)."""
            for key in client.scan_iter(match=f"{prefix}*:leases:*"):
                base, wid = key.decode().split(":leases:")
                owner = client.get(f"{base}:run:seeds")
                if client.llen(key) and owner is not None and owner.decode() != wid:
                    pid = int(wid.rsplit(":", 2)[-2])
                    for p in procs:
                        if p.pid == pid:
                            return p
            return None

        # The victim has taken article requests and the server is serving them.
        wait_for(lambda: holder() is not None and len(_article_hits(web)) >= 1, 90,
                 "a worker holding requests while articles are served")
        victim = holder()
        held = sum(client.llen(k) for k in client.scan_iter(match=f"{prefix}*:leases:*{victim.pid}:*"))
        os.killpg(victim.pid, signal.SIGKILL)
        survivors = [p for p in procs if p is not victim]
        for rc, out, err in _finish(survivors):
            assert rc == 0, err[-3000:]
        victim.wait(timeout=10)
    finally:
        for p in procs:
            stop_group(p)
    urls = _stories(pg_schema_url)
    after_kill = len(set(urls))
    extra_runs = 0
    if sorted(urls) != _all_articles(feeds):
        extra_runs = 1
        for rc, out, err in _finish(_start(cfg, 1)):
            assert rc == 0, err[-3000:]
        urls = _stories(pg_schema_url)
    rows = [inspect_source(client, prefix, name) for name in feeds]  # `defnews workers`
    assert all(not r.workers and r.queued == 0 for r in rows), "nobody left, nothing left"
    requeued = sum(r.requeued_total for r in rows)
    print(f"FIGURE kill: victim held {held}; re-queued {requeued}; stored after the survivors "
          f"{after_kill}/{len(_all_articles(feeds))}; extra runs {extra_runs}")
    assert len(urls) == len(set(urls)), "nothing stored twice"
    assert sorted(urls) == _all_articles(feeds), "every article stored"


def test_redis_losing_its_keys_mid_crawl(tmp_path, sites, frontier, redis_url, pg_schema_url):
    """Redis restarted without persistence (here: the test's keys deleted) mid-crawl: the
    workers stop with an error (exit 1), the next run completes the set, nothing twice."""
    web, feeds = sites
    client, prefix = frontier
    cfg = _config(tmp_path, pg_schema_url, feeds, redis_url, prefix)
    procs = _start(cfg)
    try:
        _open_when_all_joined(web, client, prefix, feeds)
        wait_for(lambda: len(_article_hits(web)) >= 3, 90, "articles being served")
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        outs = _finish(procs)
    finally:
        for p in procs:
            stop_group(p)
    for rc, out, err in outs:
        assert rc in (0, 1), err[-3000:]
    assert any(rc == 1 and "vanished from Redis" in err for rc, out, err in outs), \
        "the loss is reported and the command fails"
    for rc, out, err in _finish(_start(cfg, 1)):
        assert rc == 0, err[-3000:]
    urls = _stories(pg_schema_url)
    assert len(urls) == len(set(urls)), "nothing stored twice"
    assert sorted(urls) == _all_articles(feeds), "the next run completes the set"


def test_a_worker_that_cannot_reach_redis_says_so_and_fails(tmp_path, sites, frontier, pg_schema_url):
    web, feeds = sites
    web.gate.set()
    client, prefix = frontier
    cfg = _config(tmp_path, pg_schema_url, feeds, "redis://127.0.0.1:1/0", prefix)
    (rc, out, err), = _finish(_start(cfg, 1))
    assert rc == 1
    assert "source s0: the crawl could not run" in err and "127.0.0.1:1" in err, err[-2000:]


def test_postgresql_connections_cut_mid_crawl(tmp_path, sites, frontier, redis_url, pg_schema_url, unique):
    """PostgreSQL restarting mid-crawl, as the workers see it: every connection cut (three
    times). The workers end (a failed store batch is reported, its requests go back to the
    queue); at most one more run completes the set; nothing is stored twice."""
    from sqlalchemy import create_engine, text

    web, feeds = sites
    client, prefix = frontier
    app = f"defnews-{unique}"
    db_url = f"{pg_schema_url}&application_name={app}"
    cfg = _config(tmp_path, db_url, feeds, redis_url, prefix)
    admin = create_engine(pg_schema_url)
    procs = _start(cfg)
    try:
        _open_when_all_joined(web, client, prefix, feeds)
        for n in (3, 10, 20):
            wait_for(lambda: len(_article_hits(web)) >= n, 90, f"{n} articles served")
            with admin.begin() as con:
                con.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE application_name = :a"), {"a": app})
        outs = _finish(procs)
    finally:
        for p in procs:
            stop_group(p)
        admin.dispose()
    for rc, out, err in outs:
        assert rc in (0, 1), err[-3000:]
    urls = _stories(pg_schema_url)
    extra_runs = 0
    if sorted(urls) != _all_articles(feeds):
        extra_runs = 1
        for rc, out, err in _finish(_start(cfg, 1)):
            assert rc == 0, err[-3000:]
        urls = _stories(pg_schema_url)
    print(f"FIGURE pg cut: extra runs {extra_runs}")
    assert len(urls) == len(set(urls)), "nothing stored twice"
    assert sorted(urls) == _all_articles(feeds), "every article stored"
