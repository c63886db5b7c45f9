"""Corrections end to end: real crawls re-check stored stories on the fixture web.

One site whose article pages carry ETags and answer conditional GETs, and whose pages can
be edited between crawls like a newsroom correcting a story after publishing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.web.aggsite import make_articles, popen, stop_group
from tests.web.fixtureweb import Article, rss, wp_page
from tests.web.server import Request, Resp, Site, Web

pytestmark = pytest.mark.slow


@dataclass
class Version:
    html: str
    etag: str | None  # None: the page sends no validators


class NewsSite:
    """Article pages that can be replaced between crawls, each with its ETag."""

    def __init__(self, articles: list[Article]) -> None:
        self.site = Site("127.0.0.1")
        self.web = Web(self.site).start()
        self.articles = articles
        self.pages: dict[str, Version] = {}
        base = self.site.base
        self.site.routes["/feed/"] = self._feed(rss([(base + a.path, a) for a in articles], base))
        for i, a in enumerate(articles):
            self.publish(a, etag=f'"{i}-v1"')
            self.site.routes[a.path] = self._article(a.path)

    def publish(self, a: Article, *, etag: str | None, html: str | None = None) -> None:
        self.pages[a.path] = Version(html or wp_page(a, self.site.base), etag)

    def _article(self, path: str):
        def handler(req: Request) -> Resp:
            v = self.pages[path]
            if v.etag is None:
                return Resp(v.html)
            if req.headers.get("if-none-match") == v.etag:
                return Resp(b"", status=304, content_type="", headers={"ETag": v.etag})
            return Resp(v.html, headers={"ETag": v.etag})
        return handler

    @staticmethod
    def _feed(body: str):
        def handler(req: Request) -> Resp:
            if req.headers.get("if-none-match") == '"feed-v1"':
                return Resp(b"", status=304, content_type="", headers={"ETag": '"feed-v1"'})
            return Resp(body, content_type="application/rss+xml; charset=utf-8", headers={"ETag": '"feed-v1"'})
        return handler

    def hits(self, a: Article) -> list[tuple[int, str | None]]:
        return [(h.status, h.headers.get("if-none-match")) for h in self.web.hits(path=a.path)]


def _config(tmp_path: Path, db: Path, site: NewsSite, recheck_hours: float | None = None) -> Path:
    cfg = tmp_path / "config.yaml"
    lines = [f"database: sqlite:///{db}", "crawl:", "  obey_robots: false", "  download_delay: 0",
             "  timeout: 5", "  retries: 0", "sources:", "  - name: news", f"    url: {site.site.base}/",
             f"    feeds: [{site.site.url('/feed/')}]"]
    if recheck_hours is not None:
        lines.append(f"    recheck_hours: {recheck_hours}")
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cfg


def _crawl(cfg: Path) -> str:
    p = popen("--config", str(cfg), "crawl")
    try:
        out, err = p.communicate(timeout=120)
    finally:
        stop_group(p)
    assert p.returncode == 0, err
    return out


def _backdate(db: Path, hours: float, urls: list[str] | None = None) -> None:
    """Pretend the stories (all, or those at `urls`) and the runs happened `hours` earlier."""
    con = sqlite3.connect(db)
    try:
        def shift(value: str | None) -> str | None:
            if value is None:
                return None
            return (datetime.fromisoformat(value) - timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S.%f")

        for sid, url, fetched in con.execute("SELECT id, url, fetched_at FROM stories").fetchall():
            if urls is None or url in urls:
                con.execute("UPDATE stories SET fetched_at = ? WHERE id = ?", (shift(fetched), sid))
        if urls is None:
            for rid, started, ended in con.execute("SELECT id, started_at, ended_at FROM crawl_runs").fetchall():
                con.execute("UPDATE crawl_runs SET started_at = ?, ended_at = ? WHERE id = ?",
                            (shift(started), shift(ended), rid))
        con.commit()
    finally:
        con.close()


def _story(db: Path, site: NewsSite, a: Article) -> dict:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        row = con.execute("SELECT * FROM stories WHERE url = ?", (site.site.url(a.path),)).fetchone()
        return dict(row) if row else {}
    finally:
        con.close()


def test_a_crawl_rechecks_recent_stories_and_takes_corrections(tmp_path):
    arts = make_articles("c", 4)
    unchanged, corrected, broken, old = arts
    copy = replace(arts[1], key="copy", path="/c/2023/09/copy/")  # republished: a duplicate
    nocache = make_articles("n", 1, offset=6)[0]  # a page without validators
    site = NewsSite([unchanged, corrected, broken, old, copy, nocache])
    site.publish(nocache, etag=None)
    db = tmp_path / "defnews.db"
    cfg = _config(tmp_path, db, site)
    try:
        _crawl(cfg)
        first = {a.key: _story(db, site, a) for a in site.articles}
        assert all(first.values()), "every article stored"
        assert first["copy"]["duplicate_of"] == first["c1"]["id"]
        assert first["c0"]["etag"] == '"0-v1"' and first["n0"]["etag"] is None

        # Two hours later (beyond the first re-check moments), one story 50 hours old.
        _backdate(db, 2)
        _backdate(db, 48, [site.site.url(old.path)])
        fixed = replace(copy, title="روسيا وكوريا الشمالية تتفقان على مناورة بحرية مشتركة",
                        paragraphs=(copy.paragraphs[0].replace("لوريان", "بريست"), *copy.paragraphs[1:]))
        site.publish(fixed, etag='"copy-v2"')
        site.publish(broken, etag='"2-v2"', html=wp_page(replace(
            broken, title="عذرا", paragraphs=(broken.paragraphs[0][:60],)), site.site.base))
        site.publish(replace(old, title="عنوان جديد لخبر قديم"), etag='"3-v2"')
        before = {a.key: _story(db, site, a) for a in site.articles}
        site.web.clear()

        out = _crawl(cfg)
        assert site.hits(unchanged) == [(304, '"0-v1"')], "an unchanged page costs one 304"
        assert _story(db, site, unchanged) == before["c0"], "... and no write"
        assert site.hits(nocache) == [(200, None)]
        assert _story(db, site, nocache) == before["n0"], "same wording without validators: no write"

        assert site.hits(copy) == [(200, '"4-v1"')]
        after = _story(db, site, copy)
        assert after["title"] == fixed.title and "بريست" in after["text"]
        for key in ("id", "url", "fetched_at", "duplicate_of", "guid", "published_at"):
            assert after[key] == before["copy"][key], key
        assert after["revision"] == 1 and after["updated_at"] and after["etag"] == '"copy-v2"'

        assert site.hits(broken) == [(200, '"2-v1"')]
        assert _story(db, site, broken) == before["c2"], "a broken new version leaves the stored one"
        assert site.hits(old) == [], "older than recheck_hours: not re-checked"
        assert _story(db, site, old)["title"] == old.title
        assert [h.status for h in site.web.hits(path="/feed/")] == [304]
        assert "updated" in out

        # Right after: no re-check moment has passed since this run.
        site.web.clear()
        _crawl(cfg)
        assert [h.path for h in site.web.hits()] == ["/feed/"]
    finally:
        site.web.stop()

