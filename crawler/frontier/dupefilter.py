"""The run's seen-set: one fetch of each article per run, across workers.

scrapy-redis' filter keeps its set for as long as SCHEDULER_PERSIST says, and a request
enters it when queued: an article whose worker died, or whose fetch failed, stayed "seen"
and was never fetched again. Here the set belongs to the run (a new run starts with an
empty one, see run.py), and across runs what counts as done is what the database holds:
the spider skips stored URLs and feed GUIDs before it makes a request at all.
"""

from __future__ import annotations

from typing import Any

from scrapy_redis.connection import get_redis_from_settings
from scrapy_redis.dupefilter import RFPDupeFilter

from crawler.frontier.keys import SourceKeys


class RunDupeFilter(RFPDupeFilter):
    """scrapy-redis' fingerprints (method, canonical URL, body), in the run's set. Adding to
    the set happens in the queue's push script, together with the push."""

    @classmethod
    def from_spider(cls, spider: Any) -> "RunDupeFilter":
        settings = spider.settings
        keys = SourceKeys(settings.get("DEFNEWS_REDIS_PREFIX", ""), spider.name)
        return cls(get_redis_from_settings(settings), key=keys.seen,
                   debug=settings.getbool("DUPEFILTER_DEBUG"))

    def request_seen(self, request: Any) -> bool:
        """Only looks: the push script adds (atomically with queueing the request)."""
        return bool(self.server.sismember(self.key, self.request_fingerprint(request)))

    def close(self, reason: str = "") -> None:
        """Never clear on close: other workers of the run still use the set (scrapy-redis'
        filter deletes it here when used with Scrapy's own scheduler)."""
