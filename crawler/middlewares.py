"""Downloader middlewares. FeedStateMiddleware: conditional GET for feeds (Miniflux-style),
and Retry-After for every request. RobotsMiddleware: robots.txt kept across runs, a mute
host settled for the run. RedirectGuardMiddleware: redirect loops and off-site redirects
named and counted instead of dropped silently. MetaRefreshMiddleware: Scrapy's, without
decoding every page to look for a refresh most pages do not have.

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
import re
import threading
import time
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefresh
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from w3lib.url import canonicalize_url

from crawler import defaults
from storage.db import open_db, utcnow
from storage.feed_state import FeedCheck, load_validators, save_checks
from storage.robots import fresh_robots, keep_robots
from storage.runs import set_retry_after

log = logging.getLogger(__name__)

#: Longest Retry-After we take literally; beyond it a server is probably confused.
MAX_RETRY_AFTER = 7 * 24 * 3600.0
RETRY_AFTER_CODES = (429, 503)
#: Requests sent conditionally: feeds, sitemaps and the first page of each listing. Not
#: next listing pages: whether to walk them is decided from the first page's links.
CONDITIONAL_SEEDS = ("feed", "sitemap", "listing")


def is_sitemap_index(body: bytes) -> bool:
    """Whether a sitemap body (gzipped or not) is a sitemap index, from its first bytes.

    An index is not kept for conditional GET: an unchanged index says nothing about its
    child sitemaps, which are judged by their own <lastmod> and validators."""
    head = body[:8192]
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body[:65536], 8192)
        except zlib.error:
            return False
    return b"<sitemapindex" in head or b":sitemapindex" in head


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
        if not self.crawler.settings.getbool("DEFNEWS_FULL_WALK"):
            self.validators.update(load_validators(self.factory, [*source.feeds, *source.sitemaps],
                                                   source=source.name))

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
        if request.meta.get("seed") not in CONDITIONAL_SEEDS:
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
        seed = request.meta.get("seed")
        if seed in CONDITIONAL_SEEDS:
            feed_url = request.meta.get("feed_state_url", request.url)
            if response.status == 304:
                self.seen[feed_url] = FeedCheck(304)
                self.crawler.stats.inc_value(f"defnews/{seed}_not_modified")
            elif response.status == 200 and seed == "sitemap" and is_sitemap_index(response.body):
                self.seen[feed_url] = FeedCheck(200)  # an index is always fetched in full
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

# -- robots.txt ------------------------------------------------------------------------------
# robots.txt: fetched once per host and kept across runs; a host that never answers is
# settled for the run instead of being waited on once per URL.
#
# Scrapy's RobotsTxtMiddleware fetches robots.txt once per host and run, and when that fetch
# fails (timeout, reset) it allows everything: every URL of a mute host then waits out its
# own timeouts and retries (60 s for one article with the defaults). Here one failed
# robots.txt (after one retry) marks the host unreachable for the run: its requests fail at
# once, counted as "host unreachable", and the source's worst case is the robots.txt
# timeout twice.
#
# Across runs a host's robots.txt is kept in the database for as long as its caching
# headers allow, at most 24 hours (RFC 9309 section 2.4).

ROBOTS_MAX_AGE = defaults.ROBOTS_MAX_AGE
ROBOTS_TRIES = defaults.ROBOTS_TRIES
ROBOTS_TIMEOUT = defaults.ROBOTS_TIMEOUT


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


def failure_kind(failure: Failure) -> tuple[str, str]:
    """("skipped" | "failed", kind) of a failed request: the kinds the summary counts.

    Skipped: the page was refused on purpose (size, redirects, off-site, robots.txt).
    Failed: the server or the network did not deliver it.
    """
    value = failure.value
    text = f"{type(value).__name__}: {value}"
    request = getattr(failure, "request", None)
    if isinstance(value, HttpError):
        status = value.response.status
        if 300 <= status < 400:
            return "skipped", "bad redirect"  # to file://, data:, or without a Location
        return "failed", f"HTTP {status}"
    if "max size" in text or "DOWNLOAD_MAXSIZE" in text or "larger than download max size" in text:
        return "skipped", "too large"
    if isinstance(value, IgnoreRequest):
        msg = str(value)
        for kind in ("redirect loop", "off-site redirect", "bad redirect"):  # RedirectGuardMiddleware
            if msg.startswith(kind + ":"):
                return "skipped", kind
        if "max redirections" in msg:
            chain = (request.meta.get("redirect_urls") or []) if request is not None else []
            loop = len(set(chain)) < len(chain) or (request is not None and request.url in chain)
            return "skipped", "redirect loop" if loop else "redirect chain too long"
        if "offsite" in msg.lower():
            redirected = request is not None and request.meta.get("redirect_urls")
            return "skipped", "off-site redirect" if redirected else "off-site"
        if "robots.txt" in msg and "Forbidden" in msg:
            return "skipped", "robots.txt"
        if "unreachable" in msg:
            return "failed", "host unreachable"
        if "Retry-After" in msg:
            return "skipped", "Retry-After"
        return "skipped", "ignored"
    return "failed", network_error_kind(value)


def _headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}


class RobotsMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware with a cross-run cache and unreachable hosts settled per run."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.database: str | None = crawler.settings.get("DEFNEWS_DATABASE")
        self.timeout = min(crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 180), ROBOTS_TIMEOUT)
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
                            meta={"dont_obey_robotstxt": True, "max_retry_times": ROBOTS_TRIES - 1,
                                  "download_timeout": self.timeout})
        started = time.monotonic()
        try:
            resp = await self.crawler.engine.download_async(robotsreq)
        except Exception as exc:
            if not isinstance(exc, IgnoreRequest):
                self._settle(netloc, exc, time.monotonic() - started)
            self._robots_error(exc, netloc)
        else:
            # Best effort, off the reactor thread: a database that hangs (restarting) must
            # not hold the crawl; a daemon thread does not hold the exit either.
            threading.Thread(target=self._keep, args=(key, resp), daemon=True,
                             name="defnews-robots-cache").start()
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


#: What Scrapy's meta-refresh test reads: the first 4096 characters of the decoded page,
#: which are at most 4 bytes each in any ASCII-compatible encoding.
_REFRESH_WINDOW = 4 * 4096
_REFRESH = re.compile(rb"<meta[^>]*refresh", re.I)  # the tag w3lib looks for


class MetaRefreshMiddleware(ScrapyMetaRefresh):
    """Scrapy's MetaRefreshMiddleware, asked only when the page can hold a refresh.

    Scrapy decodes the whole body of every HTML response (``response.text``) to read a
    ``<meta http-equiv="refresh">`` in its first 4096 characters: ~6 % of a crawl's main
    process (py-spy, bench/throughput.py), for a tag few article pages carry. In an
    ASCII-compatible encoding the tag's bytes are ASCII, so a window of raw bytes with no
    ``<meta ... refresh`` in it cannot hold one, and the page goes on undecoded (nor is
    its decoded text, twice the body for an Arabic page, kept on the response while it
    waits for the pool). A page that may be UTF-16/32 (a BOM or NUL bytes in its head) is
    left to Scrapy's full test.
    """

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        if isinstance(response, HtmlResponse):
            head = response.body[:_REFRESH_WINDOW]
            wide = head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:512]
            if not wide and _REFRESH.search(head) is None:
                return response
        return super().process_response(request, response)
