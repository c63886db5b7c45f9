"""The Redis frontier's parts against the real Redis (crawler/frontier): leases, the
reaper, the run a worker joins, the seed claim. Every key lives under a prefix of its own."""

from __future__ import annotations

import pytest
import scrapy

from crawler.frontier.keys import SourceKeys
from crawler.frontier.queue import LEASE, LeaseQueue
from crawler.frontier.run import RunMembership, combined_status
from crawler.frontier.status import inspect_source


class _Spider(scrapy.Spider):
    name = "src"

    def parse_article(self, response):  # pragma: no cover - only referenced
        pass


@pytest.fixture
def server(redis_url, unique):
    import redis

    client = redis.Redis.from_url(redis_url)
    prefix = f"t{unique}:"
    yield client, prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def _queue(client, prefix, worker):
    return LeaseQueue(client, _Spider(), SourceKeys(prefix, "src"), worker)


def _member(client, prefix, worker, ttl=5.0):
    m = RunMembership(client, SourceKeys(prefix, "src"), worker, ttl=ttl, run_ttl=60)
    m.beat()
    return m


def _req(url):
    return scrapy.Request(url, callback=_Spider().parse_article)


def test_a_leased_request_is_held_until_acked(server):
    client, prefix = server
    q = _queue(client, prefix, "h:1:a")
    assert q.push(_req("http://127.0.0.1/a"), "fp-a")
    assert not q.push(_req("http://127.0.0.1/a"), "fp-a"), "seen this run"
    r = q.lease()
    assert r.url == "http://127.0.0.1/a" and r.meta[LEASE]
    assert q.lease() is None
    assert client.llen(SourceKeys(prefix, "src").leases("h:1:a")) == 1, "held, not popped"
    q.ack([r.meta[LEASE]])
    assert client.llen(SourceKeys(prefix, "src").leases("h:1:a")) == 0


def test_a_dead_workers_leases_come_back_once(server):
    client, prefix = server
    dead, alive = _member(client, prefix, "h:1:dead", ttl=0.2), _member(client, prefix, "h:2:live")
    qd, qa = _queue(client, prefix, "h:1:dead"), _queue(client, prefix, "h:2:live")
    for i in range(3):
        qd.push(_req(f"http://127.0.0.1/{i}"), f"fp{i}")
    taken = [qd.lease() for _ in range(2)]
    assert all(taken)
    assert qa.others_pending() == (2, []), "a live worker's leases keep the others waiting"
    assert qa.reap("h:1:dead") == -1, "not reaped while its key lives"
    client.delete(SourceKeys(prefix, "src").worker("h:1:dead"))  # as if its key expired
    held, dead_ = qa.others_pending()
    assert held == 2 and dead_ == ["h:1:dead"]
    assert qa.reap("h:1:dead") == 2
    assert qa.reap("h:1:dead") == 0, "a second reaper finds nothing"
    urls = sorted(qa.lease().url for _ in range(3))
    assert urls == [f"http://127.0.0.1/{i}" for i in range(3)], "every request once"
    assert inspect_source(client, prefix, "src").requeued_total == 2
    del dead, alive


def test_defnews_workers_shows_the_live_and_requeues_the_dead(server):
    import io

    from crawler.report import print_workers

    client, prefix = server
    live, dead = _member(client, prefix, "h:1:live"), _member(client, prefix, "h:2:dead")
    live.join()
    dead.join()
    assert live.claim_seeds()
    _queue(client, prefix, "h:1:live").push(_req("http://127.0.0.1/a"), "a")
    _queue(client, prefix, "h:1:live").push(_req("http://127.0.0.1/b"), "b")
    assert _queue(client, prefix, "h:1:live").lease() and _queue(client, prefix, "h:2:dead").lease()
    client.delete(SourceKeys(prefix, "src").worker("h:2:dead"))
    row = inspect_source(client, prefix, "src")
    assert [(w.worker, w.holds) for w in row.workers] == [("h:1:live", 1)]
    assert row.requeued_now == {"h:2:dead": 1} and row.queued == 1 and row.seed_owner == "h:1:live"
    out = io.StringIO()
    print_workers([row], out)
    assert "h:1:live" in out.getvalue() and "worker h:2:dead is gone; 1 of its requests" in out.getvalue()


def test_a_retry_replaces_its_lease_atomically(server):
    client, prefix = server
    q = _queue(client, prefix, "h:1:a")
    q.push(_req("http://127.0.0.1/a"), "fp-a")
    r = q.lease()
    retry = r.replace(dont_filter=True)
    assert retry.meta[LEASE] == r.meta[LEASE]
    assert q.push(retry, "")
    k = SourceKeys(prefix, "src")
    assert client.llen(k.leases("h:1:a")) == 0 and client.llen(k.queue) == 1
    again = q.lease()
    assert again.url == r.url and again.meta[LEASE] != b""


def test_close_hands_unfinished_requests_back(server):
    client, prefix = server
    q = _queue(client, prefix, "h:1:a")
    q.push(_req("http://127.0.0.1/a"), "fp-a")
    q.push(_req("http://127.0.0.1/feed"), "", private=True)
    assert q.lease().url == "http://127.0.0.1/feed", "navigation first"
    assert q.release() == 1, "the feed it held goes to the shared queue"
    other = _queue(client, prefix, "h:2:b")
    assert sorted(other.lease().url for _ in range(2)) == ["http://127.0.0.1/a", "http://127.0.0.1/feed"]


def test_workers_join_one_run_and_the_last_one_ends_it(server):
    client, prefix = server
    a, b = _member(client, prefix, "h:1:a"), _member(client, prefix, "h:2:b")
    rid = a.join()
    assert a.created and b.join() == rid and not b.created
    assert a.claim_seeds() and not b.claim_seeds() and a.claim_seeds(), "one seed owner per run"
    assert a.record_id(lambda: 41, wait=1) == 41
    assert b.record_id(lambda: 99, wait=1) == 41, "one SQL record per run"
    first = a.leave("ok", {"pages": 3})
    assert not first.last
    second = b.leave("ok", {"pages": 4})
    assert second.last and second.workers == 2 and set(second.statuses) == {"h:1:a", "h:2:b"}
    c = _member(client, prefix, "h:3:c")
    assert c.join() != rid and c.created, "an ended run is not joined: a new one starts"
    assert c.claim_seeds(), "and its seeds are fetched again"


def test_a_run_whose_workers_all_died_is_not_joined(server):
    client, prefix = server
    a = _member(client, prefix, "h:1:a")
    rid = a.join()
    client.delete(SourceKeys(prefix, "src").worker("h:1:a"))
    b = _member(client, prefix, "h:2:b")
    assert b.join() != rid and b.created


def test_the_run_status_across_workers():
    assert combined_status(["ok", "failed"]) == "ok"
    assert combined_status(["failed", "failed"]) == "failed"
    assert combined_status(["ok", "interrupted"]) == "interrupted"


def test_a_passing_failure_waits_for_the_next_run(server):
    client, prefix = server
    a = _member(client, prefix, "h:1:a")
    a.join()
    q = _queue(client, prefix, "h:1:a")
    q.push(_req("http://127.0.0.1/slow"), "fp")
    r = q.lease()
    q.defer([r.meta[LEASE]])
    assert q.lease() is None, "not retried in this run (it would fail again at once)"
    assert q.others_pending() == (0, []), "and nobody waits for it"
    a.leave("ok", {})
    b = _member(client, prefix, "h:2:b")
    b.join()
    assert _queue(client, prefix, "h:2:b").lease().url == "http://127.0.0.1/slow", "the next run tries it"
