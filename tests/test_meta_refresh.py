"""crawler.middlewares.MetaRefreshMiddleware: Scrapy's meta-refresh redirect, without
decoding the pages that cannot hold one (a cost of every page of a crawl)."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.config import Config
from crawler.middlewares import MetaRefreshMiddleware
from crawler.settings import scrapy_settings

STORY = "<p>" + "أعلنت وزارة الدفاع عن مناورة عسكرية مشتركة. " * 400 + "</p>"


def middleware() -> MetaRefreshMiddleware:
    crawler = get_crawler(settings_dict=scrapy_settings(Config()))
    return MetaRefreshMiddleware.from_crawler(crawler)


def test_the_crawl_uses_this_one_in_scrapys_place():
    mws = scrapy_settings(Config())["DOWNLOADER_MIDDLEWARES"]
    assert mws["scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware"] is None
    assert mws["crawler.middlewares.MetaRefreshMiddleware"] == 580


def test_a_page_without_a_refresh_is_passed_on_undecoded():
    body = f"<html><head><title>خبر</title></head><body>{STORY}</body></html>".encode()
    req = Request("https://news.example/a")
    resp = HtmlResponse(req.url, body=body, encoding="utf-8", request=req)
    assert middleware().process_response(req, resp) is resp
    assert resp._cached_ubody is None  # the 170 KiB page was never decoded


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1256", "utf-16-le"])
def test_a_refresh_is_still_followed(encoding):
    html = ('<html><head><meta http-equiv="Refresh" content="0; url=/story/2"></head>'
            f"<body>{STORY[:2000]}</body></html>")
    req = Request("https://news.example/a")
    resp = HtmlResponse(req.url, body=html.encode(encoding), encoding=encoding, request=req)
    out = middleware().process_response(req, resp)
    assert isinstance(out, Request) and out.url == "https://news.example/story/2"


def test_a_refresh_in_the_words_of_a_story_is_not_a_redirect():
    html = (f"<html><head><meta name='x' content='y'><script>setTimeout(refresh, 60)</script></head>"
            f"<body><p>refresh</p>{STORY}</body></html>")
    req = Request("https://news.example/a")
    resp = HtmlResponse(req.url, body=html.encode(), encoding="utf-8", request=req)
    assert middleware().process_response(req, resp) is resp
    assert resp._cached_ubody is None


def test_meta_refresh_is_followed_without_decoding_pages_that_have_none():
    """crawler.middlewares.MetaRefreshMiddleware: Scrapy's redirect, read from the bytes
    that hold the first 4096 characters (an Arabic UTF-8 head is twice its characters)."""
    mw = MetaRefreshMiddleware.from_crawler(get_crawler())
    req = Request("http://example.com/a")
    head = "<html><head><title>" + "خبر " * 700 + "</title>"  # 2800 characters, 5600 bytes
    moved = HtmlResponse(req.url, request=req, encoding="utf-8",
                         body=(head + '<META HTTP-EQUIV="Refresh" content="0; url=/b"></head></html>').encode())
    out = mw.process_response(req, moved)
    assert isinstance(out, Request) and out.url == "http://example.com/b"
    plain = HtmlResponse(req.url, request=req, encoding="utf-8",
                         body=(head + "</head><body>" + "<p>نص</p>" * 5000 + "</body></html>").encode())
    assert mw.process_response(req, plain) is plain
