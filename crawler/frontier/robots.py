"""robots.txt once per host and run, for all workers.

Scrapy's RobotsTxtMiddleware fetches robots.txt once per process and host; with several
workers every worker fetched it. The body the first worker got is kept in the run's
hash in Redis and parsed by the others; a failed fetch is not shared (each worker then
decides for itself, as Scrapy does).
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler

from crawler.frontier import frontier_of

log = logging.getLogger(__name__)


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request: Any) -> Any:
        netloc = urlparse_cached(request).netloc
        frontier = frontier_of(self.crawler)
        if netloc not in self._parsers and frontier is not None:
            try:
                body = frontier.server.hget(frontier.keys.robots, netloc)
            except RedisError:
                body = None
            if body is not None:
                self._stats.inc_value("robotstxt/shared")
                self._parsers[netloc] = build_from_crawler(self._parserimpl, self.crawler, body)
        return await super().robot_parser(request)

    async def _parse_robots(self, response: Any, netloc: str, request: Any) -> None:
        frontier = frontier_of(self.crawler)
        if frontier is not None:
            try:
                frontier.server.hsetnx(frontier.keys.robots, netloc, response.body)
            except RedisError as exc:
                log.debug("robots.txt of %s not shared: %s", netloc, exc)
        await super()._parse_robots(response, netloc, request)
