"""config.yaml loading and validation."""

from __future__ import annotations

import pytest

from crawler.config import ConfigError, load_config, parse_config, parse_every
from tests.conftest import ROOT


def test_shipped_config_is_valid_and_has_real_arabic_sources():
    cfg = load_config(ROOT / "config.yaml")
    assert len(cfg.sources) >= 8
    assert cfg.database == "sqlite:///data/defnews.db"
    for s in cfg.sources:
        assert s.feeds or s.sitemaps or s.start_urls
        assert all(u.startswith("https://") for u in s.feeds + s.sitemaps + s.start_urls)
    assert any(s.relevance_filter for s in cfg.sources) and any(not s.relevance_filter for s in cfg.sources)


def test_defaults_and_derived_domains():
    cfg = parse_config({"sources": [{"name": "a", "url": "https://www.a.example/",
                                     "feeds": ["https://feeds.b.example/rss"]}]})
    s = cfg.sources[0]
    assert cfg.crawl.concurrency == 16 and cfg.crawl.max_listing_pages == 5 and cfg.crawl.obey_robots
    assert s.domains == ["a.example", "feeds.b.example"]
    assert s.timezone == "UTC" and s.relevance_filter is False


def test_home_page_is_the_listing_when_nothing_else_is_given():
    s = parse_config({"sources": [{"name": "a", "url": "https://a.example/"}]}).sources[0]
    assert s.start_urls == ["https://a.example/"]


@pytest.mark.parametrize("value,seconds", [("every 45s", 45), ("every 10m", 600), ("every 2h", 7200),
                                           ("*/30 * * * *", None)])
def test_schedules(value, seconds):
    assert parse_every(value) == seconds
    parse_config({"sources": [{"name": "a", "url": "https://a.example/", "schedule": value}]})


def test_errors_name_every_bad_key():
    with pytest.raises(ConfigError) as e:
        parse_config({"crawl": {"timeout": -1}, "sources": [
            {"name": "a", "url": "https://a.example/", "schedule": "61 * * * *"},
            {"name": "a", "url": "https://a.example/"}]}, "c.yaml")
    msg = str(e.value)
    assert "c.yaml: crawl.timeout" in msg and "sources[0].schedule" in msg


def test_duplicate_names_rejected():
    with pytest.raises(ConfigError, match="duplicate source name"):
        parse_config({"sources": [{"name": "a", "url": "https://a.example/"},
                                  {"name": "a", "url": "https://b.example/"}]})


def test_db_override_from_env(tmp_path, monkeypatch):
    p = tmp_path / "c.yaml"
    p.write_text("sources: []\n")
    monkeypatch.setenv("DEFNEWS_DB", "sqlite:///x.db")
    assert load_config(p).database == "sqlite:///x.db"
    assert load_config(p, "sqlite:///y.db").database == "sqlite:///y.db"
