"""The benchmarks' own machinery: distinct pages, a served site, and export on a tiny N.

No timings are asserted (machines are noisy): only that the benchmarks measure what they
claim to measure.
"""

from __future__ import annotations

import urllib.request

import pytest

from bench import _common

pytestmark = pytest.mark.skipif(not list(_common.data_dir().glob("*.html.gz")),
                                reason="the Zyte benchmark pages are not beside the checkout")


@pytest.fixture(scope="module")
def templates():
    return _common.load_templates()


def test_copies_are_distinct_stories_of_real_size(templates):
    from crawler.text.fingerprints import compare, dedup_keys
    from crawler.text.extract import extract_record

    n = len(templates)
    for k in (0, 5):
        pages = [_common.build_page(templates, i) for i in (k, k + n, k + 2 * n)]
        assert len(set(pages)) == 3
        sizes = [len(p) for p in pages]
        assert max(sizes) - min(sizes) < 0.01 * min(sizes) + 200  # same size as the original
        records = [extract_record(p, f"http://127.0.0.1/{i}") for i, p in enumerate(pages)]
        assert all(r is not None and len(r.text) > 500 for r in records)
        keys = [dedup_keys(r.title, r.text) for r in records]
        assert not compare(keys[0], keys[1]) and not compare(keys[1], keys[2])
        assert f"Bench story {k + n} ".encode() in pages[1]


def test_pages_feeds_and_sitemaps_are_served(tmp_path):
    import feedparser

    pages = _common.ensure_pages(tmp_path, 5)
    with _common.Web(pages, 5, ports=2) as site:
        urls = site.urls()
        assert len({u.split("/")[2] for u in urls}) == 2  # two "sites"
        body = urllib.request.urlopen(urls[3], timeout=10).read()
        assert body == (pages / "3.html").read_bytes()
        feed = feedparser.parse(urllib.request.urlopen(site.feed_urls()[0], timeout=10).read())
        assert [e.link for e in feed.entries] == urls
        index = urllib.request.urlopen(site.sitemap_url(), timeout=10).read().decode()
        child = index.split("<loc>")[1].split("</loc>")[0]
        assert urls[4] in urllib.request.urlopen(child, timeout=10).read().decode()


def test_export_bench_runs_on_a_tiny_database(tmp_path, capsys):
    from bench import export

    assert export.main(["--n", "300", "--workdir", str(tmp_path)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("BENCH export_rows=300 rows_per_s=")
    assert "peak_rss_mb=" in last
