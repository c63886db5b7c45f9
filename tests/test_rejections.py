"""Rejected is not forgotten: what the relevance filter rejects is recorded (no text), listed
by `defnews export --rejected`, not fetched again while the rejection holds, and fetched
again when the feed entry changes or the source's threshold drops below its score.

Real `defnews crawl` runs against a loopback site with a feed and a listing page.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import run_defnews
from tests.web.fixtureweb import ALPHA_ARTICLES, Article, listing, rss, wp_page
from tests.web.server import Resp, Site, Web

pytestmark = pytest.mark.slow

WHEN = datetime(2023, 9, 5, 8, 0, tzinfo=timezone.utc)
DEFENSE = ALPHA_ARTICLES[1]  # the Egyptian frigate: kept
SPORT_FEED = Article("s1", "/sport/derby/", "الجيش الملكي يفوز على الوداد في الديربي", (
    "حقق فريق الجيش الملكي فوزا ثمينا على الوداد في مباراة الدوري، وسجل المهاجم هدفين في الشوط الثاني أمام جماهير غفيرة في الملعب.",
    "وبهذا الفوز يقترب الفريق من صدارة البطولة قبل خمس جولات من نهاية الموسم.",
), WHEN)
BORDER_FEED = Article("b1", "/politics/service-law/", "البرلمان يناقش قانون الخدمة الوطنية", (
    "ناقش البرلمان مشروع قانون الخدمة الوطنية الذي يلزم الشباب بأداء سنة في الجيش بعد التخرج، وسط جدل واسع بين النواب.",
    "وقال رئيس اللجنة إن القانون يتضمن إعفاءات للطلبة والعاملين في الخارج، وإن التصويت عليه متوقع الأسبوع المقبل.",
), WHEN)
SPORT_LINK = Article("s2", "/sport/basket/", "منتخب كرة السلة يشن هجوما كاسحا على منافسه", (
    "شن منتخب كرة السلة هجوما كاسحا منذ بداية المباراة، وتألق اللاعبون في الدفاع والهجوم أمام جماهير الملعب.",
    "وقال المدرب إن الفريق يستعد لمواجهة قوية في نصف نهائي البطولة.",
), WHEN)
BORDER_LINK = Article("b2", "/politics/budget/", "الحكومة تعرض مشروع الميزانية على البرلمان", (
    "عرضت الحكومة مشروع الميزانية العامة على البرلمان، ويتضمن زيادة في مخصصات التعليم والصحة والجيش والبنية التحتية.",
    "وقال وزير المالية إن العجز سيتراجع بفضل ارتفاع الإيرادات الضريبية.",
), WHEN)
REJECTED = [SPORT_FEED, BORDER_FEED, SPORT_LINK, BORDER_LINK]


@pytest.fixture
def site():
    s = Site("127.0.0.1")
    web = Web(s).start()
    try:
        feed = {"items": [DEFENSE, SPORT_FEED, BORDER_FEED]}
        s.routes["/feed/"] = lambda req: Resp(rss([(s.base + a.path, a) for a in feed["items"]], s.base),
                                             content_type="application/rss+xml; charset=utf-8")
        s.routes["/list/"] = Resp(listing([SPORT_LINK.path, BORDER_LINK.path], None))
        for a in [DEFENSE, SPORT_FEED, BORDER_FEED, SPORT_LINK, BORDER_LINK]:
            s.routes[a.path] = Resp(wp_page(a, s.base))
        yield web, s, feed
    finally:
        web.stop()


def _config(tmp_path: Path, s: Site, threshold: float | None = None, terms: str | None = None) -> Path:
    cfg = tmp_path / "config.yaml"
    lines = [f"database: sqlite:///{tmp_path / 'd.db'}", "crawl:", "  obey_robots: false",
             "  download_delay: 0", "  timeout: 5", "  retries: 0", "sources:",
             "  - name: general", f"    url: {s.base}/", f"    feeds: [{s.base}/feed/]",
             f"    start_urls: [{s.base}/list/]", "    article_pattern: '/(sport|politics|20\\d\\d)/'",
             "    relevance_filter: true"]
    if threshold is not None:
        lines.append(f"    relevance_threshold: {threshold}")
    if terms is not None:
        (tmp_path / "terms.yaml").write_text(terms, encoding="utf-8")
        lines.append("relevance_terms: terms.yaml")
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cfg


def _crawl(cfg: Path) -> None:
    r = run_defnews("--config", str(cfg), "-q", "crawl")
    assert r.returncode == 0, r.stderr


def _rows(tmp_path: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(tmp_path / "d.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _fetched(web: Web, s: Site) -> set[str]:
    return {h.path for h in web.hits(s.host) if h.path in {a.path for a in REJECTED + [DEFENSE]}}


def test_rejections_are_recorded_exported_and_not_refetched_until_they_no_longer_hold(site, tmp_path):
    web, s, feed = site
    cfg = _config(tmp_path, s)

    # 1. First run: the defense story is stored, the four others are rejected and recorded.
    _crawl(cfg)
    assert [t for (t,) in _rows(tmp_path, "SELECT title FROM stories")] == [DEFENSE.title]
    recorded = {url.rsplit(s.base, 1)[-1]: (title, score, guid)
                for url, title, score, guid in _rows(tmp_path, "SELECT url, title, score, guid FROM rejections")}
    assert set(recorded) == {a.path for a in REJECTED}
    assert recorded[SPORT_FEED.path][0] == SPORT_FEED.title and recorded[SPORT_FEED.path][2] == "alpha-s1"
    assert recorded[SPORT_LINK.path][2] is None  # found on a listing page: no GUID
    assert all(score < 0.5 for _, score, _ in recorded.values())
    cols = [c[1] for c in _rows(tmp_path, "PRAGMA table_info(rejections)")]
    assert "text" not in cols, "no text is kept for a rejected story"

    # `export --rejected` lists them, CSV and JSONL.
    out = tmp_path / "rejected.csv"
    r = run_defnews("--config", str(cfg), "export", "--rejected", "--format", "csv", "--out", str(out))
    assert r.returncode == 0, r.stderr
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:6] == ["source", "url", "title", "score", "threshold", "rejected_at"]
    assert {row["title"] for row in rows} == {a.title for a in REJECTED}
    assert all(row["source"] == "general" and row["rejected_at"].endswith("+00:00") for row in rows)
    r = run_defnews("--config", str(cfg), "export", "--rejected", "--format", "jsonl", "--out", "-")
    assert r.returncode == 0, r.stderr
    assert sorted(json.loads(line)["url"] for line in r.stdout.splitlines()) == sorted(
        s.base + a.path for a in REJECTED)

    # 2. Second run: nothing rejected is fetched again, from the feed or the listing.
    web.clear()
    _crawl(cfg)
    assert _fetched(web, s) == set()

    # 3. The publisher edits the sport entry's title: that entry alone is judged again.
    feed["items"] = [DEFENSE, replace(SPORT_FEED, title=SPORT_FEED.title + " (محدث)"), BORDER_FEED]
    web.clear()
    _crawl(cfg)
    assert _fetched(web, s) == {SPORT_FEED.path}

    # 4. The user lowers the threshold below the borderline stories' scores: they are
    # fetched and stored; the sport stories (score 0) stay rejected and unfetched.
    lowest = min(recorded[BORDER_FEED.path][1], recorded[BORDER_LINK.path][1])
    assert lowest > 0.05
    cfg = _config(tmp_path, s, threshold=round(lowest - 0.01, 4))
    web.clear()
    _crawl(cfg)
    assert _fetched(web, s) == {BORDER_FEED.path, BORDER_LINK.path}
    assert sorted(t for (t,) in _rows(tmp_path, "SELECT title FROM stories")) == sorted(
        [DEFENSE.title, BORDER_FEED.title, BORDER_LINK.title])
    left = {url.rsplit(s.base, 1)[-1] for (url,) in _rows(tmp_path, "SELECT url FROM rejections")}
    assert left == {SPORT_FEED.path, SPORT_LINK.path}, "stored stories are no longer rejections"

    # 5. The user extends the vocabulary: what was judged with the old one is judged again.
    cfg = _config(tmp_path, s, threshold=round(lowest - 0.01, 4), terms="anchors:\n  كاراكال: 3\n")
    web.clear()
    _crawl(cfg)
    assert _fetched(web, s) == {SPORT_FEED.path, SPORT_LINK.path}
