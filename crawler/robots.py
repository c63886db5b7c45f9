"""robots.txt: fetched once per host and kept across runs; a host that never answers is
settled for the run instead of being waited on once per URL.

Scrapy's RobotsTxtMiddleware fetches robots.txt once per host and run, and when that fetch
fails (timeout, reset) it allows everything: every URL of a mute host then waits out its
own timeouts and retries (60 s for one article with the defaults). Here one failed
robots.txt (after one retry) marks the host unreachable for the run: its requests fail at
once, counted as "host unreachable", and the source's worst case is the robots.txt
timeout twice.

Across runs a host's robots.txt is kept in the database for as long as its caching
headers allow, at most 24 hours (RFC 9309 section 2.4).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred
from w3lib.url import canonicalize_url

from storage.db import open_db
from storage.robots import fresh_robots, keep_robots

log = logging.getLogger(__name__)

#: RFC 9309 section 2.4: a cached robots.txt SHOULD NOT be used for more than 24 hours.
ROBOTS_MAX_AGE = 24 * 3600
#: Tries of a robots.txt before its host is settled as unreachable for the run.
ROBOTS_TRIES = 2


def robots_lifetime(headers: dict[str, str], status: int, now: datetime) -> float:
    """Seconds a fetched robots.txt may be reused: its HTTP caching headers (RFC 9111),
    at most 24 hours (RFC 9309); 0 for what must not be kept.

    Only a 2xx file or a 4xx "unavailable" (which allows everything) is kept; a 5xx or a
    redirect loop says nothing lasting about the host. No caching header: 24 hours.
    """
    if not (200 <= status < 300 or 400 <= status < 500):
        return 0.0
    h = {k.lower(): v for k, v in headers.items()}
    directives: dict[str, str | None] = {}
    for part in (h.get("cache-control") or "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            directives[name.lower()] = value.strip().strip('"') or None
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    for key in ("s-maxage", "max-age"):
        if key in directives:
            try:
                age = float(directives[key] or "")
            except ValueError:
                return 0.0  # a malformed max-age: treat as stale (RFC 9111 4.2.1)
            try:
                age -= float(h.get("age") or 0)
            except ValueError:
                pass
            return max(0.0, min(age, ROBOTS_MAX_AGE))
    if "expires" in h:
        try:
            expires = parsedate_to_datetime(h["expires"])
            base = parsedate_to_datetime(h["date"]) if "date" in h else now
        except (TypeError, ValueError):
            return 0.0  # an invalid Expires means already expired (RFC 9111 5.3)
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
        if base.tzinfo is None:
            base = base.replace(tzinfo=timezone.utc)
        return max(0.0, min((expires - base).total_seconds(), ROBOTS_MAX_AGE))
    return float(ROBOTS_MAX_AGE)


def network_error_kind(exc: BaseException) -> str:
    """A short, user-readable name for a download error: "timeout", "connection reset"..."""
    text = f"{type(exc).__name__}: {exc}"
    if "Timeout" in type(exc).__name__ or "took longer than" in text:
        return "timeout"
    if "ConnectionRefused" in text:
        return "connection refused"
    if "DNSLookup" in text:
        return "DNS lookup failed"
    if any(k in text for k in ("ConnectionLost", "ConnectionDone", "ConnectionReset", "Connection reset",
                               "ResponseNeverReceived", "ResponseFailed", "DownloadFailed")):
        return "connection reset"
    return type(exc).__name__


def _headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}


class RobotsMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware with a cross-run cache and unreachable hosts settled per run."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.database: str | None = crawler.settings.get("DEFNEWS_DATABASE")
        self.timeout = crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 180)
        self.unreachable: dict[str, str] = {}  # netloc -> why, for the rest of the run
        self.factory = None
        self.engine = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> "RobotsMiddleware":
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened, weak=False)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed, weak=False)
        return mw

    def spider_opened(self, spider: Any) -> None:
        if self.database:
            self.engine, self.factory = open_db(self.database)

    def spider_closed(self, spider: Any) -> None:
        if self.engine is not None:
            self.engine.dispose()

    async def process_request(self, request: Request, spider: Any = None) -> None:
        if request.meta.get("dont_obey_robotstxt") or request.url.startswith(("data:", "file:")):
            return
        netloc = urlparse_cached(request).netloc
        if netloc not in self.unreachable:
            rp = await self.robot_parser(request)
            if netloc not in self.unreachable:
                self.process_request_2(rp, request)
                return
        self._stats.inc_value("defnews/robots/unreachable_skipped")
        raise IgnoreRequest(f"host {netloc} unreachable: {self.unreachable[netloc]}")

    async def robot_parser(self, request: Request) -> Any:
        url = urlparse_cached(request)
        netloc = url.netloc
        key = f"{url.scheme}://{netloc}"
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            cached = self._cached(key)
            if cached is not None:
                self._stats.inc_value("defnews/robots/cached")
                self._set_parser(netloc, build_from_crawler(self._parserimpl, self.crawler, cached))
            else:
                await self._fetch(key, netloc, request)
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser

    async def _fetch(self, key: str, netloc: str, request: Request) -> None:
        robotsreq = Request(f"{key}/robots.txt", priority=self.DOWNLOAD_PRIORITY, callback=NO_CALLBACK,
                            meta={"dont_obey_robotstxt": True, "max_retry_times": ROBOTS_TRIES - 1})
        started = time.monotonic()
        try:
            resp = await self.crawler.engine.download_async(robotsreq)
        except Exception as exc:
            if not isinstance(exc, IgnoreRequest):
                self._settle(netloc, exc, time.monotonic() - started)
            self._robots_error(exc, netloc)
        else:
            self._keep(key, resp)
            await self._parse_robots(resp, netloc, request)
        self._stats.inc_value("robotstxt/request_count")

    def _set_parser(self, netloc: str, rp: Any) -> None:
        dfd = self._parsers[netloc]
        self._parsers[netloc] = rp
        if isinstance(dfd, Deferred):
            dfd.callback(rp)

    def _settle(self, netloc: str, exc: Exception, seconds: float) -> None:
        """One failed robots.txt settles the host for the run (see the module docstring)."""
        self.unreachable[netloc] = (f"robots.txt: {network_error_kind(exc)} on {ROBOTS_TRIES} tries "
                                    f"({seconds:.1f} s); no request sent to it this run")
        self._stats.inc_value("defnews/robots/unreachable_hosts")
        msg = f"host {netloc} unreachable: {self.unreachable[netloc]}"
        spider = self.crawler.spider
        if spider is not None and hasattr(spider, "warn"):
            spider.warn(msg)
        else:
            log.warning(msg)

    # -- the cross-run cache (best effort: robots.txt is fetched again if it fails) ------
    def _cached(self, key: str) -> bytes | None:
        if self.factory is None:
            return None
        try:
            hit = fresh_robots(self.factory, key, datetime.now(timezone.utc))
        except Exception as exc:  # the cache is an optimisation: never fail a crawl on it
            log.info("robots.txt cache unreadable for %s: %s", key, exc)
            return None
        if hit is None:
            return None
        status, body = hit
        return body if 200 <= status < 300 else b""

    def _keep(self, key: str, response: Response) -> None:
        if self.factory is None:
            return
        now = datetime.now(timezone.utc)
        lifetime = robots_lifetime(_headers(response), response.status, now)
        if lifetime <= 0:
            return
        try:
            keep_robots(self.factory, key, response.status, response.body, now, lifetime)
        except Exception as exc:
            log.info("robots.txt of %s not cached: %s", key, exc)


class RedirectGuardMiddleware:
    """Names the redirects Scrapy would drop without a word.

    RedirectMiddleware hands a redirect to the scheduler, where a loop dies in the
    dupefilter and an off-site target in OffsiteMiddleware, neither calling the request's
    errback: the story vanishes uncounted. Placed after RedirectMiddleware in the
    response chain (a higher number), this raises IgnoreRequest first, with a message the
    spider counts: "redirect loop", "off-site redirect", "bad redirect".
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> "RedirectGuardMiddleware":
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if response.status not in (301, 302, 303, 307, 308) or request.meta.get("dont_redirect"):
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        target = urljoin(request.url, location.decode("latin-1").strip())
        problem = redirect_problem(request.url, target, request.meta.get("redirect_urls") or [])
        spider = self.crawler.spider
        if problem is None and spider is not None and hasattr(spider, "is_allowed") and not spider.is_allowed(target):
            problem = "off-site redirect"
        if problem is not None:
            raise IgnoreRequest(f"{problem}: {request.url} -> {target}")
        return response


def redirect_problem(url: str, target: str, chain: list[str]) -> str | None:
    """"redirect loop" when the target was already visited on the way, "bad redirect" for a
    non-http(s) target (file://, data:), else None."""
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        return "bad redirect"
    seen = {canonicalize_url(u) for u in (*chain, url)}
    if canonicalize_url(target) in seen:
        return "redirect loop"
    return None
