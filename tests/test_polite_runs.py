"""Polite, cheap and flat runs (issue 15): pagination stops where nothing is unknown,
sitemaps are read by <lastmod> and conditional GET, run records carry their cost and are
kept for crawl.retention_days."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.utils.test import get_crawler

from crawler.config import SourceConfig
from crawler.middlewares import FeedStateMiddleware, is_sitemap_index
from spiders.news import NewsSpider, parse_lastmod, sitemap_items, unchanged_since
from storage.db import open_db
from storage.models import CrawlRun
from storage.runs import last_complete_run_start, prune_runs
from tests.conftest import run_defnews
from tests.web.aggsite import query, start_sites
from tests.web.fixtureweb import listing, urlset
from tests.web.server import Request as WebRequest, Resp

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _spider(*, full_walk: bool = False, since: datetime | None = None, **source: object) -> NewsSpider:
    cfg = SourceConfig(name="alpha", url="http://alpha.test/", **source)
    spider = NewsSpider.from_crawler(get_crawler(NewsSpider, settings_dict={}), source=cfg)
    spider.full_walk, spider.since = full_walk, since
    return spider


def _listing(url: str, links: list[str], page: int = 1, status: int = 200) -> HtmlResponse:
    body = listing(links, "/cat/page/%d/" % (page + 1))
    return HtmlResponse(url=url, body=body.encode(), encoding="utf-8", status=status,
                        request=Request(url, meta={"seed": "listing" if page == 1 else "listing-next",
                                                   "listing_page": page}))


# -- pagination ---------------------------------------------------------------------------------

def test_pagination_stops_at_a_page_with_nothing_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    spider = _spider(start_urls=["http://alpha.test/cat/"])
    known = {"http://alpha.test/2023/09/a1/", "http://alpha.test/2023/09/a2/"}
    monkeypatch.setattr(spider, "known_urls", lambda urls: known & set(urls))
    resp = _listing("http://alpha.test/cat/", ["/2023/09/a1/", "/2023/09/a2/"])
    assert list(spider.parse_listing(resp)) == [], "nothing unknown: no article, no next page"
    assert spider.crawler.stats.get_value("defnews/listing_stopped") == 1

    # one unknown story on the page: it is fetched and the walk goes on
    resp = _listing("http://alpha.test/cat/", ["/2023/09/a1/", "/2023/09/a3/"])
    out = list(spider.parse_listing(resp))
    assert [r.url for r in out] == ["http://alpha.test/2023/09/a3/", "http://alpha.test/cat/page/2/"]


def test_a_new_source_or_crawl_full_walks_every_page(monkeypatch: pytest.MonkeyPatch) -> None:
    spider = _spider(full_walk=True, start_urls=["http://alpha.test/cat/"])
    monkeypatch.setattr(spider, "known_urls", lambda urls: set(urls))
    out = list(spider.parse_listing(_listing("http://alpha.test/cat/", ["/2023/09/a1/"])))
    assert [r.url for r in out] == ["http://alpha.test/cat/page/2/"]


def test_a_listing_page_answering_304_ends_the_walk() -> None:
    spider = _spider(start_urls=["http://alpha.test/cat/"])
    resp = _listing("http://alpha.test/cat/", ["/2023/09/a9/"], status=304)
    assert list(spider.parse_listing(resp)) == []
    assert spider.crawler.stats.get_value("defnews/seeds_ok") == 1


# -- sitemaps -------------------------------------------------------------------------------------

def test_parse_lastmod_takes_the_latest_moment_it_can_mean() -> None:
    assert parse_lastmod("2024-05-01T10:00:00+02:00") == datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
    assert parse_lastmod("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    assert parse_lastmod("2024-05-01") == datetime(2024, 5, 2, 14, 0, tzinfo=timezone.utc), "a date alone"
    assert parse_lastmod("2024-05-01T10:00:00") == datetime(2024, 5, 1, 22, 0, tzinfo=timezone.utc)
    assert parse_lastmod("yesterday") is None and parse_lastmod(None) is None
    assert unchanged_since(T0 - timedelta(hours=2), T0)
    assert not unchanged_since(T0 - timedelta(minutes=10), T0), "clock skew allowed"
    assert not unchanged_since(None, T0) and not unchanged_since(T0 - timedelta(days=9), None)


def _sitemap(body: str | bytes, url: str = "http://alpha.test/sitemap.xml", status: int = 200) -> Response:
    raw = body.encode() if isinstance(body, str) else body
    return TextResponse(url, body=raw, encoding="utf-8", status=status,
                        request=Request(url, meta={"seed": "sitemap"}))


def test_sitemap_entries_not_modified_since_the_last_complete_run_are_skipped() -> None:
    old, new = (T0 - timedelta(days=3)).isoformat(), (T0 + timedelta(minutes=5)).isoformat()
    body = ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>http://alpha.test/2024/04/old/</loc><lastmod>{old}</lastmod></url>"
            f"<url><loc>http://alpha.test/2024/05/new/</loc><lastmod>{new}</lastmod></url>"
            "<url><loc>http://alpha.test/2024/05/undated/</loc></url></urlset>")
    kind, items = sitemap_items(body.encode())
    assert kind == "urlset" and items[0][2] == T0 - timedelta(days=3) and items[2][2] is None
    spider = _spider(since=T0, sitemaps=["http://alpha.test/sitemap.xml"])
    assert [r.url for r in spider.parse_sitemap(_sitemap(body))] == [
        "http://alpha.test/2024/05/new/", "http://alpha.test/2024/05/undated/"]
    assert spider.crawler.stats.get_value("defnews/sitemap_unchanged") == 1
    # without a complete run to compare with (new source, --full), everything is read
    spider = _spider(since=None, sitemaps=["http://alpha.test/sitemap.xml"])
    assert len(list(spider.parse_sitemap(_sitemap(body)))) == 3


def test_child_sitemaps_unchanged_since_the_last_run_are_not_fetched() -> None:
    body = gzip.compress(('<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                          f"<sitemap><loc>http://alpha.test/2024-04.xml</loc><lastmod>{(T0 - timedelta(days=20)).isoformat()}</lastmod></sitemap>"
                          "<sitemap><loc>http://alpha.test/2024-05.xml</loc><lastmod>2024-05-01</lastmod></sitemap>"
                          "</sitemapindex>").encode())
    assert is_sitemap_index(body)
    spider = _spider(since=T0, sitemaps=["http://alpha.test/sitemap_index.xml"])
    assert [r.url for r in spider.parse_sitemap(_sitemap(body))] == ["http://alpha.test/2024-05.xml"]
    assert list(spider.parse_sitemap(_sitemap(b"", status=304))) == [], "304: nothing to read"


class _Stats:
    def __init__(self) -> None:
        self.values: dict = {}

    def inc_value(self, key: str, n: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + n


def _middleware(validators: dict) -> FeedStateMiddleware:
    crawler = get_crawler(NewsSpider, settings_dict={})
    mw = FeedStateMiddleware(crawler)
    mw.crawler.stats = _Stats()
    mw.validators.update(validators)
    return mw


def test_sitemaps_are_fetched_conditionally_but_an_index_keeps_no_validators() -> None:
    url = "http://alpha.test/sitemap.xml"
    mw = _middleware({url: ('"s1"', "Tue, 12 Sep 2023 13:10:00 GMT")})
    req = Request(url, meta={"seed": "sitemap"})
    mw.process_request(req)
    assert req.headers.get(b"If-None-Match") == b'"s1"'
    assert 304 in req.meta["handle_httpstatus_list"]
    nxt = Request("http://alpha.test/cat/page/2/", meta={"seed": "listing-next"})
    mw.process_request(nxt)
    assert b"If-None-Match" not in nxt.headers, "next listing pages are decided by the first one"

    headers = {"ETag": '"s2"'}
    mw.process_response(req, TextResponse(url, body=urlset(["http://alpha.test/a/"]).encode(), headers=headers))
    assert mw.seen[url].etag == '"s2"'
    index = b'<?xml version="1.0"?><sitemapindex><sitemap><loc>http://alpha.test/s1.xml</loc></sitemap></sitemapindex>'
    mw.process_response(req, TextResponse(url, body=index, headers=headers))
    assert mw.seen[url].status == 200 and mw.seen[url].etag is None


# -- run records: cost and retention ------------------------------------------------------------

def test_retention_deletes_old_runs_but_never_the_newest_nor_an_open_one(tmp_path: Path) -> None:
    engine, factory = open_db(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        with factory.begin() as s:
            for i, (source, status, age) in enumerate([
                    ("a", "ok", 200), ("a", "ok", 100), ("a", "running", 95), ("a", "ok", 1),
                    ("b", "failed", 300), ("c", "ok", 120)]):
                s.add(CrawlRun(source=source, started_at=T0 - timedelta(days=age), status=status,
                               failed=1 if status == "failed" else 0))
        gone = prune_runs(factory, ["a", "b"], T0 - timedelta(days=90))
        left = query(tmp_path / "r.db", "SELECT source, status FROM crawl_runs ORDER BY id")
        assert gone == 2
        assert left == [("a", "running"), ("a", "ok"), ("b", "failed"), ("c", "ok")], \
            "a's old runs went; b's newest and c (not crawled) stay"
        assert last_complete_run_start(factory, "a") == T0 - timedelta(days=1)
        assert last_complete_run_start(factory, "b") is None, "a failed run is not complete"
    finally:
        engine.dispose()


@pytest.mark.slow
def test_idle_runs_are_polite_and_say_what_they_cost(tmp_path: Path) -> None:
    """Real crawls: the first walks everything; the next sends conditional GETs, stops the
    listing at page 1 and skips unchanged sitemap entries; `--full` walks again; `defnews
    sources` shows the last run's requests and CPU; retention trims old run records."""
    web, sites = start_sites(("one", "127.0.0.1", 3))
    one = sites["one"]
    paths = [a.path for a in one.articles]
    site = one.site
    lastmod = (datetime.now(timezone.utc) - timedelta(days=2)).isoformat()
    site.routes["/section/"] = Resp(listing(paths[:1], "/section/page/2/"))
    site.routes["/section/page/2/"] = Resp(listing(paths[1:2], "/section/page/3/"))
    site.routes["/section/page/3/"] = Resp(listing(paths[2:], None))
    sitemap = urlset([site.url(p) for p in paths]).replace("</loc>", f"</loc><lastmod>{lastmod}</lastmod>")

    def conditional_sitemap(req: WebRequest) -> Resp:  # a server that honours If-None-Match
        if req.headers.get("if-none-match") == '"s1"':
            return Resp(b"", status=304, content_type="", headers={"ETag": '"s1"'})
        return Resp(sitemap, content_type="application/xml", headers={"ETag": '"s1"'})

    site.routes["/sitemap.xml"] = conditional_sitemap
    site.routes["/sitemap-nodate.xml"] = Resp(urlset([site.url(p) for p in paths]), content_type="application/xml")
    db = tmp_path / "defnews.db"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"""database: sqlite:///{db}
crawl: {{obey_robots: false, download_delay: 0, timeout: 5, retries: 1, retention_days: 0.000001}}
sources:
  - name: one
    url: {site.base}/
    feeds: [{one.feed_url}]
    sitemaps: [{site.url('/sitemap.xml')}, {site.url('/sitemap-nodate.xml')}]
    start_urls: [{site.url('/section/')}]
    article_pattern: '/20\\d\\d/\\d\\d/'
""", encoding="utf-8")
    try:
        def crawl(*args: str) -> list[tuple[str, int]]:
            web.clear()
            r = run_defnews("--config", str(cfg), "crawl", *args)
            assert r.returncode == 0, r.stderr
            return sorted((h.path, h.status) for h in web.hits())

        first = crawl()
        assert ("/section/page/3/", 200) in first and len([h for h in first if h[0] in paths]) == 3
        idle = crawl()
        assert idle == sorted([("/feed/", 304), ("/sitemap.xml", 304), ("/sitemap-nodate.xml", 200),
                               ("/section/", 200)]), idle
        full = crawl("--full")
        assert ("/section/page/3/", 200) in full and ("/sitemap.xml", 200) in full and ("/feed/", 200) in full
        assert not [h for h in full if h[0] in paths], "stored stories are still not refetched"
        r = run_defnews("--config", str(cfg), "sources", "--json")
        row = json.loads(r.stdout)[0]
        table = run_defnews("--config", str(cfg), "sources").stdout
    finally:
        web.stop()
    assert row["last_run_requests"] == len(full) and row["last_run_cpu_s"] > 0, row
    assert f"{len(full)} req, " in table and " s CPU" in table, table
    runs = query(db, "SELECT status, requests, cpu_s FROM crawl_runs")
    assert len(runs) == 1 and runs[0][0] == "ok", f"retention kept only the newest run: {runs}"
