"""spiders/news.py helpers, without a crawl: sitemap parsing, next-page detection, the
article-URL test, feed entries to requests, and what the spider skips as already known."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.config import SourceConfig
from crawler.items import FeedMeta, Page
from spiders.news import NewsSpider, next_page_url, sitemap_entries


def _spider(**source: object) -> NewsSpider:
    cfg = SourceConfig(name="alpha", url="http://alpha.test/", **source)
    crawler = get_crawler(NewsSpider, settings_dict={})
    return NewsSpider.from_crawler(crawler, source=cfg)


def _html(url: str, body: str, **kw: object) -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode("utf-8"), encoding="utf-8",
                        request=Request(url, meta=dict(kw)))


# -- sitemaps ---------------------------------------------------------------------------------

URLSET = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc> http://alpha.test/2023/09/a1/ </loc>
    <news:news><news:title>عنوان الخبر</news:title>
      <news:publication_date>2023-09-05T07:00:00+00:00</news:publication_date></news:news></url>
  <url><loc>http://alpha.test/2023/09/a2/</loc></url>
  <url><!-- no loc --></url>
</urlset>""".encode()


def test_sitemap_urlset_with_google_news_metadata() -> None:
    kind, entries = sitemap_entries(URLSET)
    assert kind == "urlset"
    assert [loc for loc, _ in entries] == ["http://alpha.test/2023/09/a1/", "http://alpha.test/2023/09/a2/"]
    meta = entries[0][1]
    assert meta is not None and meta.title == "عنوان الخبر"
    assert meta.published == datetime(2023, 9, 5, 7, 0, tzinfo=timezone.utc)
    assert entries[1][1] is None


def test_sitemap_index_gzipped() -> None:
    body = gzip.compress(b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <sitemap><loc>http://alpha.test/posts.xml</loc></sitemap>
        <sitemap><loc>http://alpha.test/news.xml.gz</loc></sitemap></sitemapindex>""")
    kind, entries = sitemap_entries(body)
    assert kind == "index"
    assert [loc for loc, _ in entries] == ["http://alpha.test/posts.xml", "http://alpha.test/news.xml.gz"]


def test_sitemap_does_not_expand_entities() -> None:
    body = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "AAAAAAAAAA"><!ENTITY b "&a;&a;&a;&a;">]>
        <urlset><url><loc>http://alpha.test/&b;</loc></url></urlset>"""
    _, entries = sitemap_entries(body)
    assert all("AAAA" not in loc for loc, _ in entries)


# -- listing pages ---------------------------------------------------------------------------

@pytest.mark.parametrize("markup, expected", [
    ('<link rel="next" href="/cat/page/2/">', "/cat/page/2/"),
    ('<a rel="prev" href="/p0">x</a><a rel="next nofollow" href="/p2">x</a>', "/p2"),
    ('<ul class="pagination"><li><a class="next" href="?page=3">»</a></li></ul>', "?page=3"),
    ('<a href="/list?p=2">التالي</a>', "/list?p=2"),
    ('<a href="/older"> Older posts </a>', "/older"),
    ('<a href="/a">الأول</a><a href="/b">مقال</a>', None),
])
def test_next_page_url(markup: str, expected: str | None) -> None:
    resp = _html("http://alpha.test/cat/", f"<html><head></head><body>{markup}</body></html>")
    assert next_page_url(resp) == expected


def test_article_url_without_a_pattern() -> None:
    spider = _spider(start_urls=["http://alpha.test/cat/"])
    assert spider.is_article_url("http://alpha.test/2023/09/egypt-frigate/", explicit=False)
    assert spider.is_article_url("http://alpha.test/news-12345", explicit=False)
    for not_article in ("http://alpha.test/category/defense/", "http://alpha.test/tag/x/",
                        "http://alpha.test/about", "http://alpha.test/2023/09/photo.jpg",
                        "http://alpha.test/short", "http://elsewhere.test/2023/09/a/"):
        assert not spider.is_article_url(not_article, explicit=False), not_article
    # a sitemap entry is an article whatever its path, but never off-site
    assert spider.is_article_url("http://alpha.test/short", explicit=True)
    assert not spider.is_article_url("http://elsewhere.test/short", explicit=True)


def test_article_pattern_decides_when_given() -> None:
    spider = _spider(start_urls=["http://alpha.test/"], article_pattern=r"/news/\d+")
    assert spider.is_article_url("http://alpha.test/news/42", explicit=False)
    assert not spider.is_article_url("http://alpha.test/2023/09/long-article-slug/", explicit=False)


def test_subdomains_are_allowed() -> None:
    spider = _spider(start_urls=["http://alpha.test/"])
    assert spider.is_allowed("http://www.alpha.test/x")
    assert not spider.is_allowed("http://alpha.test.evil/x")


def test_listing_yields_articles_and_the_next_page() -> None:
    spider = _spider(start_urls=["http://alpha.test/cat/"])
    resp = _html("http://alpha.test/cat/", """<html><body>
        <a href="/2023/09/a1/?utm_source=x">one</a><a href="/2023/09/a2/">two</a>
        <a href="/tag/x/">tag</a><a href="http://offsite.test/2023/09/z/">off</a>
        <a href="/cat/page/2/" rel="next">التالي</a></body></html>""", seed="listing", listing_page=1)
    out = list(spider.parse_listing(resp))
    articles = [r.url for r in out if r.callback == spider.parse_article]
    listings = [r.url for r in out if r.callback == spider.parse_listing]
    assert articles == ["http://alpha.test/2023/09/a1/", "http://alpha.test/2023/09/a2/"]  # tracking off
    assert listings == ["http://alpha.test/cat/page/2/"]
    assert spider.crawler.stats.get_value("defnews/seeds_ok") == 1


def test_listing_stops_at_max_pages() -> None:
    spider = _spider(start_urls=["http://alpha.test/cat/"])
    spider.max_listing_pages = 2
    resp = _html("http://alpha.test/cat/page/2/", '<a rel="next" href="/cat/page/3/">x</a>',
                 seed="listing-next", listing_page=2)
    assert [r for r in spider.parse_listing(resp) if r.callback == spider.parse_listing] == []


# -- feeds -----------------------------------------------------------------------------------

RSS = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>
<item><title>خبر أول</title><link>http://alpha.test/2023/09/a1/</link><guid>tag:alpha.test,2023:1</guid>
  <pubDate>Tue, 05 Sep 2023 07:00:00 GMT</pubDate><author>هيئة التحرير</author></item>
<item><title>خبر ثان</title><link>/2023/09/a2/</link><guid>tag:alpha.test,2023:2</guid></item>
<item><title>بلا رابط</title></item>
</channel></rss>"""


def test_feed_entries_become_requests_with_their_metadata() -> None:
    spider = _spider(feeds=["http://alpha.test/feed/"])
    resp = TextResponse("http://alpha.test/feed/", body=RSS.encode(), encoding="utf-8",
                        headers={"Content-Type": "application/rss+xml"},
                        request=Request("http://alpha.test/feed/", meta={"seed": "feed"}))
    reqs = list(spider.parse_feed(resp))
    assert [r.url for r in reqs] == ["http://alpha.test/2023/09/a1/", "http://alpha.test/2023/09/a2/"]
    first: FeedMeta = reqs[0].meta["feed"]
    assert (first.title, first.guid, first.author) == ("خبر أول", "tag:alpha.test,2023:1", "هيئة التحرير")
    assert first.published == datetime(2023, 9, 5, 7, 0, tzinfo=timezone.utc)
    assert spider.crawler.stats.get_value("defnews/feed_entries") == 2


def test_known_entries_and_urls_are_not_requested_again(monkeypatch: pytest.MonkeyPatch) -> None:
    spider = _spider(feeds=["http://alpha.test/feed/"])
    monkeypatch.setattr(spider, "known_guids", lambda guids: {"tag:alpha.test,2023:1"})
    resp = TextResponse("http://alpha.test/feed/", body=RSS.encode(), encoding="utf-8",
                        request=Request("http://alpha.test/feed/", meta={"seed": "feed"}))
    assert [r.url for r in spider.parse_feed(resp)] == ["http://alpha.test/2023/09/a2/"]
    monkeypatch.setattr(spider, "known_urls", lambda urls: {"http://alpha.test/2023/09/a2/"})
    kept = spider.drop_known([("http://alpha.test/2023/09/a2/", None), ("http://alpha.test/2023/09/a3/", None)])
    assert kept == [("http://alpha.test/2023/09/a3/", None)]
    assert spider.crawler.stats.get_value("defnews/links_known") == 1


def test_a_broken_feed_is_a_seed_error() -> None:
    spider = _spider(feeds=["http://alpha.test/feed/"])
    resp = TextResponse("http://alpha.test/feed/", body=b"<html>not a feed", encoding="utf-8",
                        request=Request("http://alpha.test/feed/", meta={"seed": "feed"}))
    assert list(spider.parse_feed(resp)) == []
    errors = spider.crawler.stats.get_value("defnews/seed_errors")
    assert errors and "not a valid RSS/Atom feed" in errors[0] and "alpha" in errors[0]


# -- articles --------------------------------------------------------------------------------

def test_article_page_carries_feed_metadata_across_a_redirect() -> None:
    spider = _spider(feeds=["http://alpha.test/feed/"])
    meta = FeedMeta(title="عنوان", guid="g9")
    spider.article_request("http://alpha.test/old/?utm_medium=rss", meta)
    resp = HtmlResponse("http://alpha.test/new/", body=b"<html><body><p>x</p></body></html>",
                        headers={"Content-Type": "text/html; charset=windows-1256"},
                        request=Request("http://alpha.test/new/",
                                        meta={"redirect_urls": ["http://alpha.test/old/"]}))
    (page,) = list(spider.parse_article(resp))
    assert isinstance(page, Page)
    assert (page.url, page.final_url, page.encoding) == ("http://alpha.test/old/", "http://alpha.test/new/", "windows-1256")
    assert page.feed is meta
    assert spider.feed_meta == {}, "metadata is taken out once used"


def test_non_html_articles_are_skipped() -> None:
    spider = _spider(feeds=["http://alpha.test/feed/"])
    resp = TextResponse("http://alpha.test/a.pdf", body=b"%PDF-1.4", headers={"Content-Type": "application/pdf"},
                        request=Request("http://alpha.test/a.pdf"))
    assert list(spider.parse_article(resp)) == []
    assert spider.crawler.stats.get_value("defnews/skipped_not_html") == 1
