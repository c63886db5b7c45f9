"""crawler/urls.py: the canonical URL is the identity of a story (CONTRACT.md)."""

from __future__ import annotations

import pytest

from crawler.urls import canonical_url, choose_canonical, same_site, site_of, unwrap_amp_cache


@pytest.mark.parametrize("raw", [
    "https://www.aawsat.com/node/4830001?utm_source=twitter&utm_medium=social",
    "https://www.aawsat.com/node/4830001?fbclid=IwAR0abc#comments",
    "https://WWW.AAWSAT.COM/node/4830001?gclid=x&_ga=2.1",
    "https://www.aawsat.com/node/4830001#:~:text=%D8%A7",
])
def test_tracking_parameters_and_fragments_do_not_make_a_new_story(raw):
    assert canonical_url(raw) == "https://www.aawsat.com/node/4830001"


def test_meaningful_query_parameters_stay():
    assert canonical_url("https://www.alyaoum24.com/news.php?id=1990001&utm_campaign=x") == \
        "https://www.alyaoum24.com/news.php?id=1990001"
    assert canonical_url("https://a.example/?p=2&page=1") != canonical_url("https://a.example/?p=3&page=1")


def test_rel_canonical_on_the_same_site_wins():
    assert choose_canonical("https://www.spa.gov.sa/w2210451?lang=ar&utm_source=rss",
                            "https://www.spa.gov.sa/w2210451") == "https://www.spa.gov.sa/w2210451"
    assert choose_canonical("https://www.spa.gov.sa/a", "/w2210451") == "https://www.spa.gov.sa/w2210451"


def test_rel_canonical_to_another_publisher_is_ignored():
    # A syndicating site may not claim the agency's URL: it is a copy, found by text dedup.
    assert choose_canonical("https://www.okaz.com.sa/news/2155200",
                            "https://ara.yna.co.kr/view/AAR20240206000100") == \
        "https://www.okaz.com.sa/news/2155200"


@pytest.mark.parametrize("twin", [
    "https://m.alarabiya.net/aswaq/2025/03/11/saudi-sami-thaad",  # mobile host
    "https://amp.alarabiya.net/aswaq/2025/03/11/saudi-sami-thaad",  # AMP host
    "https://www.alarabiya.net/amp/aswaq/2025/03/11/saudi-sami-thaad",  # AMP path
    "https://www.alarabiya.net/aswaq/2025/03/11/saudi-sami-thaad?print=1",  # print view
])
def test_amp_print_and_mobile_twins_map_to_the_article_the_page_names(twin):
    article = "https://www.alarabiya.net/aswaq/2025/03/11/saudi-sami-thaad"
    assert choose_canonical(twin, article) == article


def test_twin_url_shapes_alone_are_not_rewritten():
    # "/amp/" or "m." without the page saying so is not evidence of anything.
    assert choose_canonical("https://m.example.com/amp/story/1", None) == "https://m.example.com/amp/story/1"


def test_google_amp_cache_url_names_the_publisher_page():
    cache = "https://www-aawsat-com.cdn.ampproject.org/c/s/www.aawsat.com/node/4830001/amp"
    assert unwrap_amp_cache(cache) == "https://www.aawsat.com/node/4830001/amp"
    assert choose_canonical(cache, "https://www.aawsat.com/node/4830001") == \
        "https://www.aawsat.com/node/4830001"
    assert unwrap_amp_cache("https://www.aawsat.com/node/1") == "https://www.aawsat.com/node/1"


def test_canonical_pointing_at_the_home_page_is_a_cms_bug_not_the_story():
    assert choose_canonical("https://www.defense-arab.com/vb/threads/90123/",
                            "https://www.defense-arab.com/") == \
        "https://www.defense-arab.com/vb/threads/90123/"


def test_same_site_is_the_registrable_domain():
    assert site_of("https://m.aawsat.com/x") == "aawsat.com"
    assert site_of("https://news.bbc.co.uk/x") == "bbc.co.uk"
    assert same_site("https://www.ahram.org.eg/a", "https://gate.ahram.org.eg/b")
    # Hosting platforms are public suffixes: two blogs are two sites.
    assert not same_site("https://a.blogspot.com/1", "https://b.blogspot.com/1")
    # Loopback test servers: the host itself.
    assert same_site("http://127.0.0.1:8000/a", "http://127.0.0.1:9000/b")
    assert not same_site("http://127.0.0.1/a", "http://127.0.0.2/a")
