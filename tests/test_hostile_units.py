"""The defences against hostile input, one function at a time (the crawl-level tests are in
tests/test_hostile.py). Each test names the defence it checks."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.middlewares import ROBOTS_MAX_AGE, failure_kind, network_error_kind, redirect_problem, robots_lifetime
from crawler.text.decoding import decode_html, invalid_share
from crawler.text.extract import extract_record
from crawler.text.parsing import MAX_ELEMENTS, MAX_RUN, flatten_deep_markup, parse_html, parse_page
from crawler.urls import link_problem
from spiders.news import sitemap_entries
from storage.db import open_db
from storage.robots import fresh_robots, keep_robots
from tests.web.hostile import FIVE_PARAS, deep_page, gzip_bomb, mixed_bytes_page

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


# -- decoding ---------------------------------------------------------------------------
def test_mostly_valid_utf8_is_decoded_as_utf8():
    """Defence: decode_html judges the declared encoding by its share of invalid sequences
    (before: the whole page was re-read as windows-1256, 0 of 5 paragraphs right)."""
    body = mixed_bytes_page("القوات البحرية تنهي التمرين", FIVE_PARAS)
    text = decode_html(body, "utf-8")
    for p in FIVE_PARAS:
        assert p in text.replace("\ufffd", "")
    assert invalid_share(body, "utf-8") < 0.1


def test_a_legacy_page_declared_utf8_is_still_read_as_windows_1256():
    """Defence: a page largely invalid in its declared encoding goes to the next candidate."""
    body = f"<html><body><p>{FIVE_PARAS[0]}</p></body></html>".encode("windows-1256")
    assert invalid_share(body, "utf-8") > 0.5
    assert FIVE_PARAS[0] in decode_html(body, "utf-8")


def test_control_characters_are_removed_and_the_bom_wins():
    """Defence: strip_controls in decode_html; a BOM decides the encoding."""
    assert decode_html(b"a\x00b\x1bc\x7fd\te\nf", "utf-8") == "abcd\te\nf"
    assert decode_html(b"\xff\xfe" + "نص".encode("utf-16-le"), "windows-1256") == "نص"


def test_mixed_bytes_page_extracts_in_arabic():
    """Defence: decode_html + strip_controls as extract_record uses them (before: "ur")."""
    record = extract_record(mixed_bytes_page("القوات البحرية تنهي التمرين", FIVE_PARAS), "http://x.test/a",
                            encoding="utf-8")
    assert record is not None and record.language == "ar"
    assert "\x00" not in record.text


# -- deep markup ------------------------------------------------------------------------
def test_deep_markup_keeps_paragraphs_on_both_sides():
    """Defence: parse_html flattens what libxml2 refuses (before: 3 of 5 paragraphs)."""
    tree = parse_html(deep_page("عنوان", FIVE_PARAS, 200_000))
    text = tree.text_content()
    for p in FIVE_PARAS:
        assert p in text


def test_ordinary_pages_are_not_flattened():
    """Defence: flattening runs only when the parser hit its depth limit."""
    html = "<html><body>" + "<div>" * 50 + "<p>نص</p>" + "</div>" * 50 + "</body></html>"
    tree = parse_html(html)
    assert len(tree.xpath("//div")) == 50
    assert flatten_deep_markup("<div><div><p>a</p></div></div>", max_depth=1) == "<div>a</div>"


def test_node_budget_keeps_the_story_around_a_flood_of_elements():
    """Defence: bound_nodes (inline tags stripped, floods collapsed, glued runs cut); the
    page is then extracted in trafilatura's fast mode. Before: a 5 MB page of <span>s held
    an extraction worker for more than ten minutes."""
    for flood in ("<span>x</span>" * 60_000, "<p>x</p>" * 60_000):
        html = f"<html><body><article><p>{FIVE_PARAS[0]}</p><div>{flood}</div><p>{FIVE_PARAS[1]}</p></article></body></html>"
        tree, crowded = parse_page(html)
        assert crowded
        assert sum(1 for _ in tree.iter()) <= MAX_ELEMENTS
        text = tree.text_content()
        assert FIVE_PARAS[0] in text and FIVE_PARAS[1] in text
        assert "x" * (MAX_RUN + 1) not in text
    assert parse_page(f"<html><body><p>{FIVE_PARAS[0]}</p></body></html>")[1] is False


# -- links, failures, redirects ---------------------------------------------------------
@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,hi", "file:///etc/passwd",
                                 "mailto:a@b.c", "http://[::1", "http://host:99999/x", "//no-scheme/x", ""])
def test_unusable_links_are_named(url):
    """Defence: link_problem, so article_request refuses them one by one."""
    assert link_problem(url) == "bad link"


def test_http_links_pass():
    assert link_problem("https://news.example/2025/03/story?id=1") is None


def _failure(exc: Exception, url: str = "http://a.test/x", **meta) -> Failure:
    f = Failure(exc)
    f.request = Request(url, meta=meta)
    return f


def test_failure_kinds():
    """Defence: failure_kind, which the summary's counts and `extract`'s message use."""
    resp = Response("http://a.test/x", status=404, request=Request("http://a.test/x"))
    assert failure_kind(_failure(HttpError(resp))) == ("failed", "HTTP 404")
    moved = Response("http://a.test/x", status=302, request=Request("http://a.test/x"))
    assert failure_kind(_failure(HttpError(moved))) == ("skipped", "bad redirect")
    assert failure_kind(_failure(IgnoreRequest("redirect loop: a -> b"))) == ("skipped", "redirect loop")
    assert failure_kind(_failure(IgnoreRequest("off-site redirect: a -> b"))) == ("skipped", "off-site redirect")
    chain = ["http://a.test/1", "http://a.test/2", "http://a.test/1"]
    assert failure_kind(_failure(IgnoreRequest("max redirections reached"), redirect_urls=chain)) == \
        ("skipped", "redirect loop")
    assert failure_kind(_failure(IgnoreRequest("max redirections reached"), redirect_urls=chain[:2])) == \
        ("skipped", "redirect chain too long")
    assert failure_kind(_failure(IgnoreRequest("host a.test unreachable: robots.txt: timeout"))) == \
        ("failed", "host unreachable")


def test_network_error_kinds():
    """Defence: network_error_kind names resets, timeouts, refusals."""
    from scrapy.exceptions import DownloadTimeoutError
    from twisted.internet.error import ConnectionLost, ConnectionRefusedError

    assert network_error_kind(DownloadTimeoutError("took longer than 3 seconds")) == "timeout"
    assert network_error_kind(ConnectionLost()) == "connection reset"
    assert network_error_kind(ConnectionRefusedError()) == "connection refused"


def test_redirect_problems():
    """Defence: RedirectGuardMiddleware's rule: loops and non-http(s) targets."""
    assert redirect_problem("http://a.test/b", "http://a.test/a", ["http://a.test/a"]) == "redirect loop"
    assert redirect_problem("http://a.test/a", "http://a.test/a", []) == "redirect loop"
    assert redirect_problem("http://a.test/a", "file:///etc/passwd", []) == "bad redirect"
    assert redirect_problem("http://a.test/a", "http://a.test/b", []) is None


# -- gzip ---------------------------------------------------------------------------------
def test_gzipped_sitemap_inflates_to_the_size_limit_only():
    """Defence: sitemap_entries(max_size) (before: gzip.decompress without a limit)."""
    with pytest.raises(ValueError, match="exceeded the specified maximum"):
        sitemap_entries(gzip_bomb(20_000_000), max_size=1_000_000)
    ok = gzip.compress(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                       b"<url><loc>http://a.test/1</loc></url></urlset>")
    assert sitemap_entries(ok, max_size=1_000_000) == ("urlset", [("http://a.test/1", None)])


# -- robots.txt lifetime and the cross-run cache ----------------------------------------------
def test_robots_lifetime_follows_caching_headers_up_to_24_hours():
    """Defence: robots_lifetime (RFC 9309 2.4, RFC 9111)."""
    assert robots_lifetime({}, 200, NOW) == ROBOTS_MAX_AGE
    assert robots_lifetime({"Cache-Control": "max-age=600"}, 200, NOW) == 600
    assert robots_lifetime({"Cache-Control": "public, max-age=600", "Age": "100"}, 200, NOW) == 500
    assert robots_lifetime({"Cache-Control": "max-age=9999999"}, 200, NOW) == ROBOTS_MAX_AGE
    assert robots_lifetime({"Cache-Control": "no-store"}, 200, NOW) == 0
    assert robots_lifetime({"Cache-Control": "max-age=x"}, 200, NOW) == 0
    assert robots_lifetime({"Expires": "Sat, 01 Mar 2025 13:00:00 GMT",
                            "Date": "Sat, 01 Mar 2025 12:00:00 GMT"}, 200, NOW) == 3600
    assert robots_lifetime({"Expires": "0"}, 200, NOW) == 0
    assert robots_lifetime({}, 404, NOW) == ROBOTS_MAX_AGE  # "unavailable": allow all, keep
    assert robots_lifetime({}, 503, NOW) == 0  # says nothing lasting


def test_robots_cache_expires(tmp_path):
    """Defence: storage/robots.py keeps a robots.txt for its lifetime and not a second more."""
    engine, factory = open_db(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        keep_robots(factory, "http://a.test", 200, b"User-agent: *\nDisallow: /x\n", NOW, 600)
        assert fresh_robots(factory, "http://a.test", NOW + timedelta(seconds=599)) == \
            (200, b"User-agent: *\nDisallow: /x\n")
        assert fresh_robots(factory, "http://a.test", NOW + timedelta(seconds=600)) is None
        assert fresh_robots(factory, "http://b.test", NOW) is None
        # A newer fetch replaces it; expired rows of other hosts are cleared on the way.
        keep_robots(factory, "http://b.test", 200, b"", NOW + timedelta(hours=1), 60)
        assert fresh_robots(factory, "http://a.test", NOW) is None
    finally:
        engine.dispose()


def test_utf8_pages_lose_exactly_the_control_characters():
    """decode_html answers "any control character?" on the UTF-8 bytes: the result must be
    the decoded text with _CONTROLS applied, for every C0/C1 control and its neighbours."""
    from crawler.text.decoding import decode_html, strip_controls
    for code in [*range(0x00, 0x100), 0x0600, 0x0680, 0x0780, 0x2028, 0xFEFF, 0x1F600]:
        body = ("<p>أ" + chr(code) + "b\u00a0ب</p>").encode("utf-8")
        assert decode_html(body, "utf-8") == strip_controls(body.decode("utf-8")), hex(code)
        assert decode_html(body * 3, None) == strip_controls((body * 3).decode("utf-8")), hex(code)
