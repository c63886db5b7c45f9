"""Scrapy extensions: Progress (a live line on a TTY).

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
