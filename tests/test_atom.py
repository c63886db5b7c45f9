"""`defnews feed`: a valid Atom feed of the newest original stories, right-to-left safe."""

from __future__ import annotations

from typing import Any

from datetime import datetime, timedelta, timezone
from pathlib import Path

import feedparser
from lxml import etree

from storage.db import open_db
from storage.models import Story
from tests.conftest import run_defnews

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=timezone.utc)
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _seed(db: Path) -> dict[str, int]:
    engine, factory = open_db(f"sqlite:///{db}")
    ids: dict[str, int] = {}
    with factory.begin() as s:
        def add(key: str, **kw: Any) -> None:
            st = Story(fetched_at=T0, **kw)
            s.add(st)
            s.flush()
            ids[key] = st.id

        for i in range(5):
            add(f"alpha{i}", source="alpha", url=f"https://alpha.example/2024/03/{i}/",
                title=f"الجيش يتسلم دفعة جديدة {i}", text=f"الفقرة الأولى {i}، مع (قوسين) و NATO.\n\nالفقرة الثانية {i}.",
                published_at=T0 + timedelta(hours=i), author="هيئة التحرير", language="ar")
        add("beta-nodate", source="beta", url="https://beta.example/news?id=1", title="خبر بلا تاريخ",
            text="نص\x0b فيه محرف تحكم & <وسم>.", published_at=None, language="ar")
        add("dup", source="beta", url="https://beta.example/news?id=2", title="الجيش يتسلم دفعة جديدة 4",
            text="الفقرة الأولى 4", published_at=T0 + timedelta(hours=9), language="ar",
            duplicate_of=ids["alpha4"])
        add("english", source="gamma", url="https://gamma.example/a", title="Navy gets frigate",
            text="An English story.", published_at=T0 - timedelta(days=1), language="en")
    engine.dispose()
    return ids


def test_feed_parses_and_holds_the_newest_originals(tmp_path: Path) -> None:
    db = tmp_path / "defnews.db"
    _seed(db)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database: sqlite:///{db}\nsources: []\n", encoding="utf-8")
    out = tmp_path / "feed.xml"
    r = run_defnews("--config", str(cfg), "feed", "--out", str(out), "--limit", "4")
    assert r.returncode == 0, r.stderr
    assert "wrote 4 entries" in r.stderr

    d = feedparser.parse(out.read_bytes())
    assert not d.bozo, d.get("bozo_exception")
    assert d.version == "atom10"
    titles = [e.title for e in d.entries]
    # newest first (by published date, fetch date when unknown); the duplicate is left out
    assert titles == ["الجيش يتسلم دفعة جديدة 4", "الجيش يتسلم دفعة جديدة 3",
                      "الجيش يتسلم دفعة جديدة 2", "الجيش يتسلم دفعة جديدة 1"]
    e = d.entries[0]
    assert e.link == "https://alpha.example/2024/03/4/" and e.id == e.link
    assert e.author == "هيئة التحرير"
    assert e.published_parsed[:5] == (2024, 3, 1, 12, 0)
    html = e.content[0].value
    assert 'dir="rtl"' in html and "<p>الفقرة الأولى 4، مع (قوسين) و NATO.</p>" in html
    assert "<p>الفقرة الثانية 4.</p>" in html
    assert [t.term for t in e.tags] == ["alpha"]

    root = etree.fromstring(out.read_bytes())
    assert root.get(XML_LANG) == "ar", "the feed declares Arabic"
    ns = {"a": "http://www.w3.org/2005/Atom"}
    # RFC 4287 musts: feed id, title, updated, and an author (not every entry has one)
    assert root.xpath("a:id/text()", namespaces=ns) and root.xpath("a:updated/text()", namespaces=ns)
    assert root.xpath("a:author/a:name/text()", namespaces=ns) == ["defnews"]
    for entry in root.xpath("a:entry", namespaces=ns):
        assert entry.xpath("a:id", namespaces=ns) and entry.xpath("a:updated", namespaces=ns)
        assert entry.xpath("a:link[not(@rel) or @rel='alternate']/@href", namespaces=ns)


def test_feed_filters_and_escapes(tmp_path: Path) -> None:
    db = tmp_path / "defnews.db"
    _seed(db)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database: sqlite:///{db}\nsources: []\n", encoding="utf-8")
    r = run_defnews("--config", str(cfg), "feed", "--out", "-", "--source", "beta", "--source", "gamma")
    assert r.returncode == 0, r.stderr
    d = feedparser.parse(r.stdout.encode("utf-8"))
    assert not d.bozo, d.get("bozo_exception")
    assert [e.link for e in d.entries] == ["https://beta.example/news?id=1", "https://gamma.example/a"]
    nodate, english = d.entries
    assert "فيه محرف تحكم &amp; &lt;وسم&gt;." in nodate.content[0].value, "escaped, control character dropped"
    assert "published_parsed" not in nodate or nodate.published_parsed is None
    assert 'dir="ltr"' in english.content[0].value and 'lang="en"' in english.content[0].value

    empty = run_defnews("--config", str(cfg), "feed", "--out", "-", "--source", "nobody")
    assert empty.returncode == 0
    assert not feedparser.parse(empty.stdout.encode()).bozo and feedparser.parse(empty.stdout.encode()).entries == []
    bad = run_defnews("--config", str(cfg), "feed", "--out", "-", "--limit", "0")
    assert bad.returncode == 2 and "--limit" in bad.stderr
