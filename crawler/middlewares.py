"""Downloader middlewares. FeedStateMiddleware: conditional GET for feeds (Miniflux-style),
and Retry-After for every request.

A scheduled aggregator re-reads the same feeds all day; most of the time nothing changed.
Sending back the feed's ETag / Last-Modified lets the server answer 304 Not Modified, and
then there is nothing to do: no feed parsing, no article requests.

When the validators are stored matters: a feed's new validators are saved only when the
crawl that fetched it finished and no request ran out of retries. Were they saved on
arrival, a crawl killed (or failing transiently) after the feed but before its articles
were stored would make the next run get a 304 and never fetch those articles.

A 429 or 503 with Retry-After is a server asking us to go away for a while: the request
is not retried, the rest of this crawl leaves that host alone, and the source's
``backoff_until`` is set so that neither cron nor the scheduler comes back before then.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from storage.db import open_db, utcnow
from storage.feed_state import FeedCheck, load_validators, save_checks
from storage.runs import set_retry_after

log = logging.getLogger(__name__)

#: Longest Retry-After we take literally; beyond it a server is probably confused.
MAX_RETRY_AFTER = 7 * 24 * 3600.0
RETRY_AFTER_CODES = (429, 503)


def parse_retry_after(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), None if unusable."""
    if not value:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    delta = (when - (now or utcnow())).total_seconds()
    return min(max(delta, 0.0), MAX_RETRY_AFTER)


class FeedStateMiddleware:
    """Downloader middleware (after RetryMiddleware in the response chain, so it can stop
    retries): conditional GET for ``meta["seed"] == "feed"`` requests, Retry-After."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.database: str = crawler.settings.get("DEFNEWS_DATABASE")
        self.validators: dict[str, tuple[str | None, str | None]] = {}
        self.seen: dict[str, FeedCheck] = {}
        self.blocked: dict[str, datetime] = {}  # host -> not before
        self.factory = None
        self.engine = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> "FeedStateMiddleware":
        mw = cls(crawler)
        # weak=False: the signal manager keeps only weak references by default.
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened, weak=False)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed, weak=False)
        return mw

    # -- lifecycle ----------------------------------------------------------------------
    def spider_opened(self, spider: Any) -> None:
        source = getattr(spider, "source", None)
        if source is None or not self.database:
            return
        self.source_name: str = source.name
        self.engine, self.factory = open_db(self.database)
        self.validators.update(load_validators(self.factory, source.feeds))

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.factory is None:
            return
        stats = self.crawler.stats
        gave_up = int(stats.get_value("retry/max_reached", 0) or 0)
        # A shared frontier that Redis lost (crawler/frontier) took queued articles with it:
        # the feeds must be read in full again.
        lost = stats.get_value("defnews/frontier_lost")
        complete = reason == "finished" and gave_up == 0 and not self.blocked and not lost
        if not complete and any(s.status == 200 for s in self.seen.values()):
            log.info("source %s: feed validators not saved (crawl %s, %d requests gave up): "
                     "the next run fetches the feeds in full", self.source_name, reason, gave_up)
        try:
            save_checks(self.factory, self.source_name, self.seen, keep_validators=complete)
        except Exception as exc:  # feed state is an optimisation: never fail a crawl on it
            log.warning("source %s: saving feed state failed: %s", self.source_name, exc)
        finally:
            self.engine.dispose()

    # -- requests -----------------------------------------------------------------------
    def process_request(self, request: Request, spider: Any = None) -> None:
        host = urlsplit(request.url).hostname or ""
        until = self.blocked.get(host)
        if until is not None and until > utcnow():
            raise IgnoreRequest(f"{host} asked us (Retry-After) to wait until {until.isoformat(timespec='seconds')}")
        if request.meta.get("seed") != "feed":
            return None
        feed_url = request.meta.setdefault("feed_state_url", request.url)
        etag, modified = self.validators.get(feed_url, (None, None))
        if etag or modified:
            if etag:
                request.headers.setdefault(b"If-None-Match", etag.encode("latin-1"))
            if modified:
                request.headers.setdefault(b"If-Modified-Since", modified.encode("latin-1"))
            allowed = list(request.meta.get("handle_httpstatus_list", []))
            if 304 not in allowed:
                request.meta["handle_httpstatus_list"] = allowed + [304]
        return None

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if response.status in RETRY_AFTER_CODES:
            self._retry_after(request, response)
        if request.meta.get("seed") == "feed":
            feed_url = request.meta.get("feed_state_url", request.url)
            if response.status == 304:
                self.seen[feed_url] = FeedCheck(304)
                self.crawler.stats.inc_value("defnews/feed_not_modified")
            elif response.status == 200:
                etag = response.headers.get(b"ETag")
                modified = response.headers.get(b"Last-Modified")
                self.seen[feed_url] = FeedCheck(200, etag.decode("latin-1") if etag else None,
                                            modified.decode("latin-1") if modified else None)
            elif 300 <= response.status < 400:
                pass  # a redirect: the final response is recorded under the same feed
            else:
                self.seen[feed_url] = FeedCheck(response.status)
        return response

    def _retry_after(self, request: Request, response: Response) -> None:
        seconds = parse_retry_after(response.headers.get(b"Retry-After"))
        if seconds is None:
            return  # no instruction: ordinary retries apply
        request.meta["dont_retry"] = True
        until = utcnow() + timedelta(seconds=seconds)
        host = urlsplit(request.url).hostname or ""
        if self.blocked.get(host) is None or self.blocked[host] < until:
            self.blocked[host] = until
        log.warning("source %s: %s answered %d with Retry-After %s: not retried, host left alone "
                    "until %s", getattr(self, "source_name", "?"), request.url, response.status,
                    response.headers.get(b"Retry-After", b"").decode("latin-1"),
                    until.isoformat(timespec="seconds"))
        self.crawler.stats.inc_value("defnews/retry_after")
        if self.factory is not None:
            try:
                set_retry_after(self.factory, self.source_name, until)
            except Exception as exc:
                log.warning("source %s: recording Retry-After failed: %s", self.source_name, exc)
