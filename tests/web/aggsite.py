"""Small fixture sites for the aggregator tests (scheduler, locks, feed state, crash).

Each site is one host with an RSS feed of a few Arabic articles (from tests/web/fixtureweb.py)
that answers conditional GETs (ETag / Last-Modified -> 304) like a real feed server, and
articles that can be made slow, so a crawl lasts long enough to overlap or be killed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

from tests.conftest import ROOT, defnews_cmd
from tests.web.fixtureweb import ALPHA_ARTICLES, BETA_ARTICLES, Article, rss, wp_page
from tests.web.server import Request, Resp, Site, Web

LAST_MODIFIED = "Tue, 12 Sep 2023 13:10:00 GMT"


@dataclass
class FeedSite:
    name: str
    site: Site
    articles: list[Article]
    etag: str = '"v1"'
    article_delay: float = 0.0
    feed_status: int = 200
    feed_headers: dict[str, str] = field(default_factory=dict)

    @property
    def feed_url(self) -> str:
        return self.site.url("/feed/")

    def article_urls(self) -> list[str]:
        return [self.site.url(a.path) for a in self.articles]

    def install(self) -> None:
        base = self.site.base
        items = [(base + a.path, a) for a in self.articles]

        def feed(req: Request) -> Resp:
            if self.feed_status != 200:
                return Resp("busy", status=self.feed_status, content_type="text/plain",
                            headers=dict(self.feed_headers))
            validators = {"ETag": self.etag, "Last-Modified": LAST_MODIFIED}
            if req.headers.get("if-none-match") == self.etag or (
                    "if-none-match" not in req.headers and req.headers.get("if-modified-since") == LAST_MODIFIED):
                return Resp(b"", status=304, content_type="", headers=validators)
            return Resp(rss(items, base), content_type="application/rss+xml; charset=utf-8", headers=validators)

        self.site.routes["/feed/"] = feed
        for a in self.articles:
            self.site.routes[a.path] = self._article(a)

    def _article(self, a: Article) -> Callable[[Request], Resp]:
        page = wp_page(a, self.site.base)

        def handler(req: Request) -> Resp:
            if self.article_delay:
                time.sleep(self.article_delay)
            return Resp(page)

        return handler


def make_articles(prefix: str, n: int, offset: int = 0) -> list[Article]:
    """n articles under /prefix/...; different stories as long as offset + n stays within
    the 13 fixture stories (beyond, near-duplicates: dedup would rightly merge them)."""
    pool = ALPHA_ARTICLES + BETA_ARTICLES
    out = []
    for i in range(n):
        base = pool[(offset + i) % len(pool)]
        out.append(replace(base, key=f"{prefix}{i}", path=f"/{prefix}/2023/09/story-{i}/",
                           title=f"{base.title} ({prefix} {i})",
                           paragraphs=tuple(f"{p} [{prefix}-{i}]" for p in base.paragraphs)))
    return out


def start_sites(*specs: tuple[str, str, int]) -> tuple[Web, dict[str, FeedSite]]:
    """specs: (source name, loopback host, number of articles)."""
    sites, offset = {}, 0
    for name, host, n in specs:
        sites[name] = FeedSite(name, Site(host), make_articles(name, n, offset))
        offset += n
    web = Web(*(s.site for s in sites.values())).start()
    for s in sites.values():
        s.install()
    return web, sites


def config_text(db_url: str, sources: list[dict], *, per_domain: int = 8, concurrency: int = 8) -> str:
    """A config with the given sources: dicts of name, url, feeds and optional schedule."""
    lines = [f"database: {db_url}", "crawl:", "  obey_robots: false", f"  concurrency: {concurrency}",
             f"  per_domain_concurrency: {per_domain}", "  download_delay: 0", "  timeout: 5", "  retries: 1",
             "sources:"]
    for s in sources:
        lines += [f"  - name: {s['name']}", f"    url: {s['url']}", f"    feeds: [{', '.join(s['feeds'])}]",
                  f"    schedule: {s.get('schedule', 'every 2s')}"]
    return "\n".join(lines) + "\n"


def write_config(tmp_path: Path, db: Path, sites: dict[str, FeedSite], *, schedule: str = "every 2s",
                 extra: list[dict] | None = None, per_domain: int = 8, concurrency: int = 8) -> Path:
    sources = [{"name": n, "url": s.site.base + "/", "feeds": [s.feed_url], "schedule": schedule}
               for n, s in sites.items()] + list(extra or [])
    cfg = tmp_path / "config.yaml"
    cfg.write_text(config_text(f"sqlite:///{db}", sources, per_domain=per_domain,
                                concurrency=concurrency), encoding="utf-8")
    return cfg


def env(**extra: str) -> dict[str, str]:
    e = {**os.environ, "PYTHONPATH": str(ROOT)}
    e.pop("DEFNEWS_CONFIG", None)
    e.pop("DEFNEWS_DB", None)
    e.update(extra)
    return e


def popen(*args: str, extra_env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    """Start `defnews ARGS` in its own process group (so a test can kill the whole crawl)."""
    return subprocess.Popen([*defnews_cmd(), *args], cwd=ROOT, env=env(**(extra_env or {})),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, **kw)


def stop_group(proc: subprocess.Popen) -> None:
    """Best-effort cleanup of a test's child and its group (by its pid, nothing broader)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def query(db: Path, sql: str, *params: object) -> list[tuple]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        con.close()


def wait_for(pred: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> float:
    """Poll `pred` until true; return the seconds it took; fail the test after `timeout`."""
    t0 = time.monotonic()
    while True:
        if pred():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


@contextmanager
def pg_schema(pg_url: str, name: str) -> Iterator[str]:
    """A private schema in the shared PostgreSQL test database (other suites use it at the
    same time); yields a URL whose connections work in it, and drops it afterwards."""
    from sqlalchemy import create_engine, text

    admin = create_engine(pg_url)
    with admin.begin() as con:
        con.execute(text(f'CREATE SCHEMA "{name}"'))
    sep = "&" if "?" in pg_url else "?"
    try:
        yield f"{pg_url}{sep}options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as con:
            con.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
