"""Feed state: conditional GET (304 = nothing to do) and Retry-After, with real crawls."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path


from crawler.middlewares import parse_retry_after
from tests.web.aggsite import popen, query, start_sites, stop_group, write_config
from tests.conftest import run_defnews


def test_parse_retry_after() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(b" 5 ") == 5
    assert parse_retry_after(format_datetime(now + timedelta(minutes=10), usegmt=True), now) == 600
    assert parse_retry_after(format_datetime(now - timedelta(minutes=10), usegmt=True), now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("99999999") == 7 * 24 * 3600, "absurd values are capped"


def _crawl(cfg: Path, *args: str) -> tuple[int, str, str]:
    p = popen("--config", str(cfg), *args)
    try:
        out, err = p.communicate(timeout=120)
    finally:
        stop_group(p)
    return p.returncode, out, err


def test_unchanged_feed_gets_304_and_fetches_nothing(tmp_path: Path) -> None:
    web, sites = start_sites(("one", "127.0.0.1", 3))
    one = sites["one"]
    db = tmp_path / "defnews.db"
    cfg = write_config(tmp_path, db, sites)
    try:
        rc, out, err = _crawl(cfg, "crawl")
        assert rc == 0, err
        first = web.hits()
        assert [h.status for h in first if h.path == "/feed/"] == [200]
        assert "if-none-match" not in first[0].headers
        assert sorted(h.path for h in first if h.path != "/feed/") == sorted(a.path for a in one.articles)
        assert query(db, "SELECT etag, last_modified, last_status FROM feed_states") == [
            ('"v1"', "Tue, 12 Sep 2023 13:10:00 GMT", 200)]

        web.clear()
        rc, out, err = _crawl(cfg, "crawl")
        assert rc == 0, err
        second = web.hits()
        assert [(h.path, h.status) for h in second] == [("/feed/", 304)], "no article fetched again"
        assert second[0].headers.get("if-none-match") == '"v1"'
        assert second[0].headers.get("if-modified-since") == "Tue, 12 Sep 2023 13:10:00 GMT"
        runs = query(db, "SELECT status, pages, new FROM crawl_runs ORDER BY id")
        assert runs == [("ok", 3, 3), ("ok", 0, 0)], "a 304 is a successful run with nothing new"
        assert query(db, "SELECT last_status FROM feed_states") == [(304,)]

        # The feed changes: a full fetch again, and the new validator is kept.
        one.etag = '"v2"'
        web.clear()
        rc, out, err = _crawl(cfg, "crawl")
        assert rc == 0, err
        assert [h.status for h in web.hits(path="/feed/")] == [200]
        assert query(db, "SELECT etag FROM feed_states") == [('"v2"',)]
        assert query(db, "SELECT count(*), count(DISTINCT url) FROM stories") == [(3, 3)]
    finally:
        web.stop()


def test_validators_not_saved_when_articles_did_not_make_it(tmp_path: Path) -> None:
    """An article that runs out of retries: the feed must be fetched in full next time,
    or that article would never be fetched again."""
    web, sites = start_sites(("one", "127.0.0.1", 2))
    one = sites["one"]
    from tests.web.server import Resp

    broken = one.articles[0].path
    good_handler = one.site.routes[broken]
    one.site.routes[broken] = Resp("<html>down</html>", status=503)
    db = tmp_path / "defnews.db"
    cfg = write_config(tmp_path, db, sites)
    try:
        rc, out, err = _crawl(cfg, "crawl")
        assert rc == 0, err
        assert query(db, "SELECT etag FROM feed_states") in ([], [(None,)])
        one.site.routes[broken] = good_handler
        web.clear()
        rc, out, err = _crawl(cfg, "crawl")
        assert rc == 0, err
        assert [h.status for h in web.hits(path="/feed/")] == [200], "no conditional GET"
        assert len(web.hits(path=broken)) == 1, "the missed article is fetched now"
        assert query(db, "SELECT count(*) FROM stories") == [(2,)]
        assert query(db, "SELECT etag FROM feed_states") == [('"v1"',)]
    finally:
        web.stop()


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    web, sites = start_sites(("one", "127.0.0.1", 2), ("two", "127.0.0.2", 1))
    one = sites["one"]
    one.feed_status, one.feed_headers = 429, {"Retry-After": "3600"}
    db = tmp_path / "defnews.db"
    cfg = write_config(tmp_path, db, sites)
    try:
        t0 = datetime.now(timezone.utc)
        rc, out, err = _crawl(cfg, "crawl")
        assert rc == 0, err  # "two" worked
        assert [h.status for h in web.hits(host="127.0.0.1")] == [429], "not retried (retries: 1)"
        (until,), = query(db, "SELECT backoff_until FROM sources WHERE name = 'one'")
        until = datetime.fromisoformat(until).replace(tzinfo=timezone.utc)
        assert t0 + timedelta(seconds=3500) < until < t0 + timedelta(seconds=3700)

        # cron's next `defnews crawl` leaves it alone and says so; naming it forces it.
        web.clear()
        rc, out, err = _crawl(cfg, "crawl")
        assert rc == 0
        assert "source one: backing off" in err and "crawl it now with --source one" in err, err
        assert web.hits(host="127.0.0.1") == []
        rows = {r["name"]: r for r in json.loads(run_defnews("--config", str(cfg), "sources", "--json").stdout)}
        assert rows["one"]["backoff_until"] is not None and rows["one"]["next_run"] is not None
        assert "backing off" in rows["one"]["status"]

        one.feed_status = 200
        rc, out, err = _crawl(cfg, "crawl", "--source", "one")
        assert rc == 0, err
        assert [h.status for h in web.hits(host="127.0.0.1", path="/feed/")] == [200]
        assert query(db, "SELECT backoff_until, consecutive_failures FROM sources WHERE name = 'one'") == [
            (None, 0)], "a success clears the backoff"
    finally:
        web.stop()
