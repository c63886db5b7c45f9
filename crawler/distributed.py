"""Redis frontier housekeeping for `crawl.redis_url` (scrapy-redis does the sharing).

scrapy-redis keeps the seen-set when SCHEDULER_PERSIST is on, which several workers need
(the first one to finish must not wipe the set the others use). Kept forever, though, it
would stop a page that failed once from ever being retried; so the set gets a time to
live, renewed by each run: a failed page is tried again on a later run after that time.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

log = logging.getLogger(__name__)


class SeenSetExpiry:
    def __init__(self, crawler: Any, ttl: int) -> None:
        self.crawler = crawler
        self.ttl = ttl

    @classmethod
    def from_crawler(cls, crawler: Any) -> "SeenSetExpiry":
        if not crawler.settings.get("REDIS_URL"):
            raise NotConfigured
        ext = cls(crawler, crawler.settings.getint("DEFNEWS_REDIS_SEEN_TTL", 6 * 3600))
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
