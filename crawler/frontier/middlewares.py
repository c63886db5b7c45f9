"""Where a leased request ends, and who fetches the run's seeds.

A request's lease (queue.py) is dropped when the request is finished:
- its callback produced a Page: the pipeline drops it once the page is stored (the page
  carries the lease);
- its callback produced requests or nothing: once they are queued (spider middleware);
- its download failed for good (no retry left, robots.txt, size limit): downloader
  middleware, after RetryMiddleware has given up.
A worker killed before any of these leaves the lease behind, and the request comes back.
A request that failed for a passing reason (the errors and HTTP codes Scrapy retries, once
its retries are used up) is not finished: it is deferred to the next run (queue.defer),
as a one-worker crawl does by not saving the feed's validators.
"""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator

from scrapy.utils.misc import load_object

from crawler.frontier import frontier_of as _frontier
from crawler.frontier.queue import LEASE
from crawler.items import Page

log = logging.getLogger(__name__)


def _worth_again(request: Any) -> bool:
    """A re-check of a stored story (spiders/news.py) that failed waits for its next
    re-check moment; anything else that failed for a passing reason is tried next run."""
    return request.meta.get("recheck_of") is None


class FrontierSpiderMiddleware:
    """Claims the run's seeds for one worker; hands a page's lease to the pipeline, or
    drops the lease once a callback's requests are queued."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.passing = set(crawler.settings.getlist("RETRY_HTTP_CODES"))

    @classmethod
    def from_crawler(cls, crawler: Any) -> "FrontierSpiderMiddleware":
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        frontier = _frontier(self.crawler)
        if frontier is not None and not frontier.claim_seeds():
            log.info("source %s: another worker fetches this run's feeds, sitemaps and listing "
                     "pages; this one takes articles from the shared queue", self.crawler.spider.name)
            return
        async for item in start:
            yield item

    async def process_spider_output(self, response: Any, result: AsyncIterator[Any],
                                    spider: Any = None) -> AsyncIterator[Any]:
        lease = response.request.meta.get(LEASE) if response.request is not None else None
        handed = False
        try:
            async for item in result:
                if lease and isinstance(item, Page):
                    item.lease = lease
                    handed = True
                yield item
        finally:
            if lease and not handed:
                frontier = _frontier(self.crawler)
                if frontier is not None and response.status in self.passing and _worth_again(response.request):
                    frontier.defer([lease])  # the errback of a 5xx/429 after retries
                elif frontier is not None:
                    frontier.ack_soon([lease])


class FrontierDownloaderMiddleware:
    """Drops the lease of a request whose download failed for good. Placed before
    RetryMiddleware (lower order), so its process_exception runs after Retry gave up."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.passing = tuple(load_object(x) if isinstance(x, str) else x
                             for x in crawler.settings.getlist("RETRY_EXCEPTIONS"))

    @classmethod
    def from_crawler(cls, crawler: Any) -> "FrontierDownloaderMiddleware":
        return cls(crawler)

    def process_exception(self, request: Any, exception: BaseException, spider: Any = None) -> None:
        lease = request.meta.get(LEASE)
        frontier = _frontier(self.crawler) if lease else None
        if frontier is not None and isinstance(exception, self.passing) and _worth_again(request):
            frontier.defer([lease])
        elif frontier is not None:
            frontier.ack_soon([lease])
        return None
