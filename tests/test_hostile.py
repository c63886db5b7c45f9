"""The hostile web, crawled once by the real `defnews crawl`: each test checks one defence.

tests/web/hostile.py serves twelve sites; each mixes ordinary articles with one hostile
thing. One crawl of all of them (short timeouts, one retry) runs in a module fixture, and
every test below reads its outcome: what was stored, what the summary and the log say,
and what the servers were asked. Each test names the defence it checks in its docstring.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import pytest

from tests.conftest import run_defnews
from tests.web.hostile import DEAD_LINKS, FIVE_PARAS, OFFSITE, hostile_config, start_hostile

pytestmark = pytest.mark.slow

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Crawl:
    def __init__(self, h, proc, rows, seconds: float) -> None:
        self.h, self.proc, self.rows, self.seconds = h, proc, rows, seconds
        self.out = proc.stdout
        self.err = proc.stderr

    def stored(self, source: str) -> dict[str, dict]:
        return {r["url"]: r for r in self.rows if r["source"] == source}

    def summary_line(self, source: str, label: str) -> str:
        for line in self.out.splitlines():
            if line.strip().startswith(f"{source}: {label}:"):
                return line.strip()
        return ""

    def paths(self, site: str) -> list[str]:
        return self.h.web.paths(self.h.sites[site].host)

    def all_good_stored(self, source: str) -> None:
        stored = self.stored(source)
        for url in self.h.good[source]:
            assert url in stored, f"{source}: {url} not stored"
            article = self.h.good_articles[url]
            for p in article.paragraphs:
                assert p in stored[url]["text"].replace("\ufffd", ""), (url, p[:40])


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> Crawl:
    tmp = tmp_path_factory.mktemp("hostile")
    h = start_hostile(tmp)
    try:
        db = tmp / "hostile.db"
        cfg = tmp / "config.yaml"
        cfg.write_text(hostile_config(h, f"sqlite:///{db}", timeout=3), encoding="utf-8")
        started = time.monotonic()
        proc = run_defnews("--config", str(cfg), "crawl", timeout=240)
        seconds = time.monotonic() - started
        con = sqlite3.connect(db)
        con.row_factory = sqlite3.Row
        rows = [dict(r) for r in con.execute("SELECT * FROM stories")]
        con.close()
        yield Crawl(h, proc, rows, seconds)
    finally:
        h.stop()


def test_crawl_completes_and_reports_every_source(crawl):
    """Defence: none in particular; the crawl of the whole hostile web ends and the
    summary has a row per source (a crash here would hide every other result)."""
    assert crawl.proc.returncode == 0, crawl.err[-3000:]
    for source in crawl.h.good:
        assert re.search(rf"^.\s*{source}\s", crawl.out, re.M), source


def test_bad_feed_links_cost_their_entry_alone(crawl):
    """Defence: per-entry isolation in NewsSpider.article_request (link_problem, is_allowed):
    a javascript:, data:, file:, malformed or off-site feed link is counted and skipped;
    the entries after it are still fetched."""
    crawl.all_good_stored("links")
    line = crawl.summary_line("links", "skipped")
    assert "bad link 4" in line and "off-site 1" in line, line


def test_drop_reasons_are_logged_once_per_kind_with_an_example(crawl):
    """Defence: NewsSpider.drop logs the first item of a kind with its URL, then counts."""
    first = [l for l in crawl.err.splitlines() if "source links: skipped bad link" in l]
    assert len(first) == 1, first


def test_redirect_loop_chain_file_and_offsite_redirects_are_named(crawl):
    """Defence: RedirectGuardMiddleware (loops and off-site redirects would otherwise die
    silently in the dupefilter and OffsiteMiddleware) and failure_kind."""
    crawl.all_good_stored("redirects")
    line = crawl.summary_line("redirects", "skipped")
    for kind in ("redirect loop 1", "off-site redirect 1", "bad redirect 1", "redirect chain too long 1"):
        assert kind in line, (kind, line)


def test_file_urls_are_never_read(crawl):
    """Defence: only http(s) links become requests, file:// redirects are refused, XML
    entities are not resolved: the canary file's text appears nowhere."""
    db_text = " ".join(f"{r['title']} {r['text']}" for r in crawl.rows)
    for where in (db_text, crawl.out, crawl.err):
        assert crawl.h.canary_text not in where


def test_offsite_host_is_never_fetched(crawl):
    """Defence: allowed_domains by host, for links (article_request) and redirects
    (RedirectGuardMiddleware)."""
    assert crawl.paths(OFFSITE) == []


def test_xml_bombs_and_external_entities_are_harmless(crawl):
    """Defence: feedparser's and lxml's entity handling (resolve_entities=False,
    huge_tree=False): a billion-laughs feed and sitemap do not expand, an XXE does not read
    the canary; the good feed of the same source is stored."""
    crawl.all_good_stored("xml")
    assert "lollol" not in " ".join(r["title"] + r["text"] for r in crawl.rows)


def test_gzip_bomb_on_one_layer_stops_at_max_page_bytes(crawl):
    """Defence: DOWNLOAD_MAXSIZE applied by Scrapy while decompressing Content-Encoding."""
    crawl.all_good_stored("gzip")
    assert "too large 1" in crawl.summary_line("gzip", "skipped")


def test_gzip_bomb_on_two_layers_stops_at_max_page_bytes(crawl):
    """Defence: sitemap_entries inflates a gzipped sitemap with Scrapy's gunzip(max_size):
    the inner layer, which Scrapy's own limit never sees, stops at crawl.max_page_bytes."""
    assert re.search(r"sitemap \S+/sitemap\.xml\.gz cannot be parsed \(.*exceeded the specified maximum",
                     crawl.out), crawl.out[-2000:]


def test_two_gib_content_length_is_cancelled_at_once(crawl):
    """Defence: DOWNLOAD_MAXSIZE checked against Content-Length before the body."""
    crawl.all_good_stored("big")
    assert "too large 1" in crawl.summary_line("big", "skipped")
    assert crawl.paths("big").count("/news/huge/") == 1, "not retried"


def test_slowloris_and_a_mute_article_time_out(crawl):
    """Defence: DOWNLOAD_TIMEOUT (crawl.timeout) on the whole response, one retry."""
    crawl.all_good_stored("slow")
    assert "timeout 2" in crawl.summary_line("slow", "failed")


def test_a_mute_host_is_settled_by_its_robots_txt(crawl):
    """Defence: RobotsMiddleware settles a host whose robots.txt times out: its feed,
    sitemap and listing are not requested (each would wait out its own timeouts), and the
    summary says why."""
    assert crawl.paths("mute") == ["/robots.txt", "/robots.txt"]
    assert re.search(r"host \S+ unreachable: robots\.txt: timeout on 2 tries", crawl.out)
    assert re.search(r"^.\s*mute\s+.\s*failed", crawl.out, re.M)


def test_broken_feeds(crawl):
    """Defence: an empty 200 feed is an error, a feed without entries a warning (both
    named in the summary); truncated and UTF-16 feeds are read; garbage is reported."""
    crawl.all_good_stored("feeds")
    assert re.search(r"feed \S+/empty\.xml answered 200 with an empty body", crawl.out)
    assert re.search(r"feed \S+/noitems\.xml holds no entries", crawl.out)
    assert re.search(r"feed \S+/garbage\.xml is not a valid RSS/Atom feed", crawl.out)


def test_a_ten_thousand_entry_feed_of_dead_links_is_counted_not_logged_per_link(crawl):
    """Defence: NewsSpider.drop (once per kind) for 1 000 dead links and 9 000 off-site ones."""
    crawl.all_good_stored("dead")
    assert f"HTTP 404 {DEAD_LINKS // 10}" in crawl.summary_line("dead", "failed")
    assert f"off-site {DEAD_LINKS - DEAD_LINKS // 10}" in crawl.summary_line("dead", "skipped")
    dead_lines = [l for l in crawl.err.splitlines() if "/news/gone-" in l]
    assert len(dead_lines) <= 3, dead_lines[:5]


def test_429_is_retried_then_counted(crawl):
    """Defence: 429 in RETRY_HTTP_CODES; one that never ends is counted as HTTP 429."""
    crawl.all_good_stored("rate")
    assert "HTTP 429 1" in crawl.summary_line("rate", "failed")


def test_resets_are_retried_then_named(crawl):
    """Defence: RetryMiddleware retries a reset; network_error_kind names one that stays."""
    crawl.all_good_stored("reset")
    assert "connection reset 1" in crawl.summary_line("reset", "failed")


def test_deep_markup_keeps_the_paragraphs_on_both_sides(crawl):
    """Defence: crawler.text.parsing.parse_html flattens markup deeper than libxml2's limit
    instead of losing what follows (huge_tree stays off)."""
    stored = crawl.stored("markup")
    deep = next(r for u, r in stored.items() if u.endswith("/news/deep/"))
    for p in FIVE_PARAS:
        assert p in deep["text"], p[:40]


def test_mixed_bytes_are_decoded_in_the_declared_encoding(crawl):
    """Defence: crawler.text.decoding.decode_html judges UTF-8 by its share of invalid
    sequences; control characters are stripped."""
    stored = crawl.stored("markup")
    mixed = next(r for u, r in stored.items() if u.endswith("/news/mixed/"))
    for p in FIVE_PARAS:
        assert p in mixed["text"].replace("\ufffd", ""), p[:40]
    assert mixed["language"] == "ar"


def test_no_control_characters_in_stored_text(crawl):
    """Defence: strip_controls in decode_html: NUL and friends never reach the database."""
    for r in crawl.rows:
        assert not _CONTROL.search(r["text"]), r["url"]
        assert not _CONTROL.search(r["title"]), r["url"]


def test_every_source_shows_its_time(crawl):
    """Defence: the summary's time column, so a source's worst case is visible."""
    assert re.search(r"^  time per source: .*\bmute \d+\.\d s\b", crawl.out, re.M), crawl.out[:1500]


def test_robots_txt_is_kept_across_runs(crawl, tmp_path):
    """Defence: RobotsMiddleware's cache (storage/robots.py): a second crawl of a source
    reads the hosts' robots.txt from the database instead of fetching it again."""
    db = Path(crawl.h.canary).parent / "hostile.db"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(hostile_config(crawl.h, f"sqlite:///{db}", timeout=3, names=("links",)), encoding="utf-8")
    before = crawl.paths("links").count("/robots.txt")
    proc = run_defnews("--config", str(cfg), "crawl", timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert before == 1
    assert crawl.paths("links").count("/robots.txt") == 1, "robots.txt fetched again"


def test_extract_names_a_connection_reset(crawl):
    """Defence: `defnews extract URL` reports the kind of failure (network_error_kind),
    not "not fetched (robots.txt or no response)"."""
    url = crawl.h.sites["reset"].url("/news/always-reset/")
    proc = run_defnews("extract", url, timeout=60)
    assert proc.returncode == 1
    assert "connection reset" in proc.stderr, proc.stderr[-1000:]
