"""Scrapy extensions: Progress (a live line on a TTY) and SeenSetExpiry (Redis housekeeping).

Each is a component with `from_crawler`; one that has nothing to do in a crawl raises
NotConfigured, so Scrapy leaves it out.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawler.defaults import REDIS_SEEN_TTL

log = logging.getLogger(__name__)


class Progress:
    """Prints fetched/stored counts of one source every second while it crawls."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> "Progress":
        if not crawler.settings.getbool("DEFNEWS_PROGRESS", False):
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.name = spider.name
        self.loop = task.LoopingCall(self.show)
        self.loop.start(1.0, now=False)

    def show(self) -> None:
        stats = self.crawler.stats
        responses = stats.get_value("response_received_count", 0)
        items = stats.get_value("item_scraped_count", 0)
        new = stats.get_value("defnews/new", 0)
        sys.stderr.write(f"\r\x1b[K{self.name}: {responses} responses, {items} articles, {new} new stored")
        sys.stderr.flush()

    def spider_closed(self, spider: Any) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


class SeenSetExpiry:
    """Redis frontier housekeeping for `crawl.redis_url` (scrapy-redis does the sharing).

    scrapy-redis keeps the seen-set when SCHEDULER_PERSIST is on, which several workers need
    (the first one to finish must not wipe the set the others use). Kept forever, though, it
    would stop a page that failed once from ever being retried; so the set gets a time to
    live, renewed by each run: a failed page is tried again on a later run after that time.
    """

    def __init__(self, crawler: Any, ttl: int) -> None:
        self.crawler = crawler
        self.ttl = ttl

    @classmethod
    def from_crawler(cls, crawler: Any) -> "SeenSetExpiry":
        if not crawler.settings.get("REDIS_URL"):
            raise NotConfigured
        ext = cls(crawler, crawler.settings.getint("DEFNEWS_REDIS_SEEN_TTL", REDIS_SEEN_TTL))
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Any, reason: str = "") -> None:
        scheduler = getattr(self.crawler.engine, "_slot", None)
        scheduler = getattr(scheduler, "scheduler", None)
        df = getattr(scheduler, "df", None)
        server, key = getattr(df, "server", None), getattr(df, "key", None)
        if server is None or not key:
            return
        try:
            server.expire(key, self.ttl)
        except Exception as exc:  # housekeeping must never fail a crawl
            log.warning("source %s: could not set the expiry of %s: %s", spider.name, key, exc)
