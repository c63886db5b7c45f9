"""NewsSpider: one generic spider, driven by one source's config.

Feeds, sitemaps (indexes and Google News sitemaps) and listing pages lead to article
requests; every request goes through Scrapy (robots.txt, retries, redirects, size limits).
The spider only finds and fetches: extraction happens in the pipeline.
"""

from __future__ import annotations

import calendar
import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator
from urllib.parse import urljoin, urlsplit

import feedparser
import scrapy
from lxml import etree
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.gz import gunzip
from twisted.python.failure import Failure

from crawler import defaults
from crawler.config import SourceConfig
from crawler.items import FeedMeta, Page
from crawler.middlewares import failure_kind
from crawler.text.relevance import default_lexicon
from crawler.urls import canonical_url, link_problem, strip_tracking
from storage.corrections import stories_to_recheck
from storage.db import open_db
from storage.runs import ever_crawled, last_complete_run_start
from storage.stories import known_guids, known_urls

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
NEXT_TEXTS = {"التالي", "التالية", "الصفحة التالية", "next", "next page", "older posts",
              "»", "›", "المزيد", "أقدم"}
# URL paths that are never articles on a news site.
NOT_ARTICLE = re.compile(
    r"/(tag|tags|category|categories|author|page|search|login|register|feed|rss|wp-admin|"
    r"contact|about|privacy)(/|$)|\.(jpg|jpeg|png|gif|webp|svg|pdf|zip|mp3|mp4|xml|css|js)$",
    re.I,
)


_OLD_STAT_NAMES = {"not HTML": "defnews/skipped_not_html", "too large": "defnews/skipped_size"}


def _entry_datetime(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        st = entry.get(key)
        if st:
            return datetime.fromtimestamp(calendar.timegm(st), tz=timezone.utc)
    return None


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        d = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else None


def sitemap_entries(body: bytes, max_size: int = 0) -> tuple[str, list[tuple[str, FeedMeta | None]]]:
    """Parse a sitemap: ("index"|"urlset", [(loc, Google News metadata or None)])."""
    kind, items = sitemap_items(body, max_size)
    return kind, [(loc, meta) for loc, meta, _ in items]


def parse_lastmod(value: str | None) -> datetime | None:
    """The latest moment a sitemap ``<lastmod>`` (W3C datetime) can mean, in UTC.

    Latest, because it decides what is skipped: a date alone may mean any time of that
    day, a time without an offset any zone (up to UTC-12), and skipping an entry that did
    change loses a story, while looking at one that did not costs little."""
    if not value:
        return None
    value = value.strip()
    try:
        d = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if "T" not in value and " " not in value:  # a date alone: the end of that day, anywhere
        return d.replace(tzinfo=timezone.utc) + timedelta(days=1, hours=14)
    if d.tzinfo is None:
        return d.replace(tzinfo=timezone.utc) + timedelta(hours=12)
    return d.astimezone(timezone.utc)


def unchanged_since(lastmod: datetime | None, since: datetime | None) -> bool:
    """True when a sitemap entry's lastmod says it did not change after `since` (the start
    of the last complete run), allowing for clocks that disagree; unknown means changed."""
    if lastmod is None or since is None:
        return False
    return lastmod < since - timedelta(seconds=defaults.LASTMOD_SKEW)


def sitemap_items(body: bytes, max_size: int = 0) -> tuple[str, list[tuple[str, FeedMeta | None, datetime | None]]]:
    """Parse a sitemap: ("index"|"urlset", [(loc, Google News metadata or None, lastmod)]).

    A gzipped sitemap is inflated to at most ``max_size`` bytes (0: no limit), as Scrapy's
    SitemapSpider does: served with Content-Encoding gzip it is a second layer that
    Scrapy's own size limit never sees, and a 50 KB bomb inflates to gigabytes.
    """
    if body[:2] == b"\x1f\x8b":
        body = gunzip(body, max_size=max_size)
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    root = etree.fromstring(body, parser=parser)
    if root is None:
        return "urlset", []
    kind = "index" if etree.QName(root).localname == "sitemapindex" else "urlset"
    out: list[tuple[str, FeedMeta | None, datetime | None]] = []
    for el in root:
        if not isinstance(el.tag, str):
            continue
        loc = None
        lastmod: datetime | None = None
        meta: FeedMeta | None = None
        for child in el.iter():
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            if name == "loc" and loc is None and child.text:
                loc = child.text.strip()
            elif name == "title" and child.text:
                meta = meta or FeedMeta()
                meta.title = child.text.strip()
            elif name == "publication_date":
                meta = meta or FeedMeta()
                meta.published = _iso(child.text)
            elif name == "lastmod" and lastmod is None:
                lastmod = parse_lastmod(child.text)
        if loc:
            out.append((loc, meta, lastmod))
    return kind, out


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(self, source: SourceConfig, max_listing_pages: int = defaults.MAX_LISTING_PAGES,
                 **kwargs: Any) -> None:
        super().__init__(name=source.name, **kwargs)
        self.source = source
        self.allowed_domains = source.domains
        self.max_listing_pages = max_listing_pages
        self.pattern = re.compile(source.article_pattern) if source.article_pattern else None
        # Domains are checked by host below: LinkExtractor compares host:port, which a
        # non-default port (or a test server) breaks.
        self.link_extractor = LinkExtractor(unique=True)
        # Feed and sitemap metadata by canonical article URL: it wins over the page, even
        # when the same article is also reached from a listing page.
        self.feed_meta: dict[str, FeedMeta] = {}
        self._meta_seeds_pending = 0
        self._listings_started = False
        self._nav_seen: set[str] = set()
        # What is already handled (stored or rejected) is not fetched again; read from the
        # project database, opened in from_crawler (None: nothing is known, e.g. in tests).
        self.factory: Any = None
        self.vocabulary: str | None = None  # the relevance vocabulary's fingerprint (from_crawler)
        self._engine: Any = None
        # ("skipped"|"failed", kind) -> [count, an example URL]: logged once per kind.
        self.drops: dict[tuple[str, str], list] = {}
        # Polite runs: listing pages are walked in full for a new source (or `crawl
        # --full`); otherwise pagination stops at the first page with nothing unknown.
        # Sitemap entries whose lastmod is older than the start of the last complete run
        # (`since`) are skipped.
        self.full_walk = True
        self.since: datetime | None = None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> "NewsSpider":
        kwargs.setdefault("max_listing_pages", crawler.settings.getint("DEFNEWS_MAX_LISTING_PAGES",
                                                                       defaults.MAX_LISTING_PAGES))
        spider = super().from_crawler(crawler, *args, **kwargs)
        database = crawler.settings.get("DEFNEWS_DATABASE")
        if database:
            spider._engine, spider.factory = open_db(database)
            spider.since = last_complete_run_start(spider.factory, spider.source.name)
            spider.full_walk = not ever_crawled(spider.factory, spider.source.name)
        if crawler.settings.getbool("DEFNEWS_FULL_WALK"):
            spider.full_walk, spider.since = True, None
        # Rejections judged with another relevance vocabulary no longer hold.
        lexicon = crawler.settings.get("DEFNEWS_RELEVANCE_LEXICON") or default_lexicon()
        spider.vocabulary = lexicon.fingerprint
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.on_closed, signal=signals.spider_closed)
        return spider

    def on_closed(self, spider: Any = None, reason: str = "") -> None:
        for (outcome, kind), (count, example) in sorted(self.drops.items()):
            if count > 1:
                log.warning("source %s: %d %s: %s, e.g. %s", self.source.name, count, outcome, kind, example[:300])
        if self._engine is not None:
            self._engine.dispose()

    def known_guids(self, entries: list[FeedMeta]) -> set[str]:
        """Feed entries of this source already stored, or rejected by the relevance filter
        (unchanged since, scored below the source's threshold): not fetched again."""
        return self._lookup(known_guids, self.source.name, {e.guid: e.signature() for e in entries},
                            reject_below=self.source.reject_below, vocabulary=self.vocabulary)

    def known_urls(self, urls: list[str]) -> set[str]:
        """Canonical URLs already stored, or rejected below the source's threshold: listing
        and sitemap links to them are not refetched."""
        return self._lookup(known_urls, self.source.name, urls, reject_below=self.source.reject_below,
                            vocabulary=self.vocabulary)

    def _lookup(self, query: Callable[..., set[str]], *args: Any, **kwargs: Any) -> set[str]:
        """A what-is-known query; with the database gone (restarting), one seed error and
        nothing known: the pages are fetched, and their store fails and is reported."""
        if self.factory is None:
            return set()
        try:
            return query(self.factory, *args, **kwargs)
        except Exception as exc:  # the database is away: this seed's entries cost this run
            if not self.crawler.stats.get_value("defnews/database_lost"):
                self.crawler.stats.set_value("defnews/database_lost", True)
                self.seed_error(f"database unreachable while crawling: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            return set()

    def seed_ok(self) -> None:
        """A feed, sitemap or listing page that was read: the run is not a failed one."""
        self.crawler.stats.inc_value("defnews/seeds_ok")

    # -- seeds -------------------------------------------------------------------------
    async def start(self) -> Any:
        for req in self.seed_requests():
            yield req
        for req in self.recheck_requests():
            yield req

    def recheck_requests(self) -> Iterator[scrapy.Request]:
        """Stored stories due for a re-check (storage/corrections.py: first seen in the last
        ``recheck_hours``, at spaced ages): one conditional GET each with the validators
        the page was stored with. A 304 ends there; a page goes through the pipeline like
        any article and updates the stored story if its publisher corrected it. Not
        retried: a failed re-check waits for the story's next re-check moment."""
        if self.factory is None:
            return
        due = stories_to_recheck(self.factory, self.source.name, self.source.recheck_hours)
        self.crawler.stats.set_value("defnews/rechecks", len(due))
        for story in due:
            headers = {}
            if story.etag:
                headers["If-None-Match"] = story.etag
            if story.last_modified:
                headers["If-Modified-Since"] = story.last_modified
            yield scrapy.Request(story.url, callback=self.parse_article, errback=self.recheck_failed,
                                 headers=headers, dont_filter=True,
                                 meta={"recheck_of": story.story_id, "dont_retry": True,
                                       "handle_httpstatus_list": [304]})

    def recheck_failed(self, failure: Failure) -> None:
        """A re-check that got no page (gone, 5xx, timeout): the stored story stands."""
        self.crawler.stats.inc_value("defnews/recheck_failed")
        log.info("source %s: re-check of %s failed (%s): stored version kept", self.source.name,
                 failure.request.url, _reason(failure))

    def seed_requests(self) -> Iterator[scrapy.Request]:
        """Feeds and sitemaps first; listing pages once they are all read, so an article
        found both ways is requested with its feed metadata (the dupefilter keeps one)."""
        for url in self.source.feeds:
            self._meta_seeds_pending += 1
            yield scrapy.Request(url, callback=self.on_feed, errback=self.on_meta_seed_failed,
                                 meta={"seed": "feed"}, dont_filter=True)
        for url in self.source.sitemaps:
            self._meta_seeds_pending += 1
            yield self.sitemap_request(url)
        if not self._meta_seeds_pending:
            yield from self.listing_seeds()

    def sitemap_request(self, url: str) -> scrapy.Request:
        return scrapy.Request(url, callback=self.on_sitemap, errback=self.on_meta_seed_failed,
                              meta={"seed": "sitemap"}, dont_filter=True)

    def first_visit(self, url: str) -> bool:
        """Navigation pages (child sitemaps, next listing pages) bypass the dupefilter,
        whose seen-set may outlive the run (Redis), and are deduplicated per run here."""
        key = canonical_url(url)
        if key in self._nav_seen:
            return False
        self._nav_seen.add(key)
        return True

    def listing_seeds(self) -> Iterator[scrapy.Request]:
        if self._listings_started:
            return
        self._listings_started = True
        for url in self.source.start_urls:
            yield scrapy.Request(url, callback=self.parse_listing, errback=self.seed_failed,
                                 meta={"seed": "listing", "listing_page": 1}, dont_filter=True)

    def _meta_seed_done(self) -> Iterator[scrapy.Request]:
        self._meta_seeds_pending -= 1
        if self._meta_seeds_pending <= 0:
            yield from self.listing_seeds()

    def on_feed(self, response: Response) -> Iterator[scrapy.Request]:
        yield from self.parse_feed(response)
        yield from self._meta_seed_done()

    def on_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        yield from self.parse_sitemap(response)
        yield from self._meta_seed_done()

    def on_meta_seed_failed(self, failure: Failure) -> list[scrapy.Request]:
        self.seed_failed(failure)
        return list(self._meta_seed_done())

    def on_idle(self, spider: Any = None) -> None:
        """Safety net: should a seed never report back, listings still get crawled."""
        if not self._listings_started and self.source.start_urls:
            for req in self.listing_seeds():
                self.crawler.engine.crawl(req)
            raise DontCloseSpider

    def seed_failed(self, failure: Failure) -> None:
        request = failure.request
        _, kind = failure_kind(failure)
        why = kind if kind == "host unreachable" else _reason(failure)  # the warning says why
        self.seed_error(f"{request.meta.get('seed', 'seed')} {request.url} failed: {why}")

    def seed_error(self, what: str) -> None:
        """A feed, sitemap or listing page that gave nothing: reported per source, counted
        as failed; a source none of whose seeds worked is a failed run."""
        msg = f"source {self.source.name}: {what}"
        stats = self.crawler.stats
        stats.set_value("defnews/seed_errors", [*stats.get_value("defnews/seed_errors", []), msg])
        stats.inc_value("defnews/seed_failed")
        log.error(msg)

    def warn(self, what: str) -> None:
        """Something a user should know that did not fail the source (an empty feed, a
        host settled as unreachable): shown under the summary, not counted as a failure."""
        msg = f"source {self.source.name}: {what}"
        stats = self.crawler.stats
        stats.set_value("defnews/warnings", [*stats.get_value("defnews/warnings", []), msg])
        log.warning(msg)

    def drop(self, outcome: str, kind: str, url: str, detail: str = "") -> None:
        """Count one dropped item by kind; log the first of each kind with its example.

        A feed of 10 000 dead links must not write 10 000 lines: the count per kind goes to
        the summary (stats ``defnews/skip/<kind>``, ``defnews/fail/<kind>``) and the spider's
        close logs one line per kind.
        """
        key = "skip" if outcome == "skipped" else "fail"
        self.crawler.stats.inc_value(f"defnews/{key}/{kind}")
        if kind in _OLD_STAT_NAMES:  # kept for whoever reads the stats by these names
            self.crawler.stats.inc_value(_OLD_STAT_NAMES[kind])
        if outcome == "failed":
            self.crawler.stats.inc_value("defnews/failed")
        seen = self.drops.get((outcome, kind))
        if seen is None:
            self.drops[(outcome, kind)] = [1, url]
            log.warning("source %s: %s %s: %s%s (further ones counted, not logged)", self.source.name,
                        outcome, kind, url[:300], f" ({detail})" if detail else "")
        else:
            seen[0] += 1


    def article_failed(self, failure: Failure) -> None:
        outcome, kind = failure_kind(failure)
        self.drop(outcome, kind, failure.request.url, _reason(failure))

    # -- discovery ----------------------------------------------------------------------
    def article_request(self, url: str, feed: FeedMeta | None = None) -> scrapy.Request | None:
        """The request for one article link, or None (counted) when the link cannot be one."""
        problem = link_problem(url)
        if problem is None and not self.is_allowed(url):
            problem = "off-site"
        if problem is not None:
            self.drop("skipped", problem, url)
            return None
        try:
            url = strip_tracking(url)
            if feed is not None:
                self.feed_meta.setdefault(canonical_url(url), feed)
            return scrapy.Request(url, callback=self.parse_article,
                                  errback=self.article_failed, meta={"feed": feed})
        except ValueError as exc:  # whatever else a stranger's URL can hold
            self.drop("skipped", "bad link", url, str(exc))
            return None

    def article_requests(self, links: list[tuple[str, FeedMeta | None]]) -> Iterator[scrapy.Request]:
        for url, meta in links:
            req = self.article_request(url, meta)
            if req is not None:
                yield req

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        if response.status == 304:  # conditional GET (crawler/middlewares.py): nothing new
            self.seed_ok()
            log.info("source %s: feed %s not modified", self.source.name, response.url)
            return
        parsed = feedparser.parse(response.body, response_headers={
            "content-type": response.headers.get("Content-Type", b"").decode("latin-1"),
            "content-location": response.url,
        })
        if not response.body.strip():
            self.seed_error(f"feed {response.url} answered {response.status} with an empty body")
            return
        if parsed.bozo and not parsed.entries:
            self.seed_error(f"feed {response.url} is not a valid RSS/Atom feed ({parsed.get('bozo_exception')})")
            return
        self.seed_ok()
        if not parsed.entries:
            self.warn(f"feed {response.url} holds no entries")
        found: list[tuple[str, FeedMeta]] = []
        for entry in parsed.entries:
            try:  # one strange entry costs that entry alone
                link = entry.get("link") or ""
                if not link:
                    self.drop("skipped", "bad link", response.url, "a feed entry without a usable link")
                    continue
                link = urljoin(response.url, link)
                meta = FeedMeta(
                    title=(entry.get("title") or "").strip(),
                    published=_entry_datetime(entry),
                    author=(entry.get("author") or "").strip(),
                    guid=(entry.get("id") or link).strip(),
                )
            except (ValueError, TypeError, AttributeError, OverflowError) as exc:
                self.drop("skipped", "bad entry", response.url, f"{type(exc).__name__}: {exc}")
                continue
            found.append((link, meta))
        self.crawler.stats.inc_value("defnews/feed_entries", len(found))
        known = self.known_guids([m for _, m in found])
        if known:
            self.crawler.stats.inc_value("defnews/feed_known", len(known))
            log.info("source %s: feed %s: %d of %d entries already stored", self.source.name,
                     response.url, len(known), len(found))
        yield from self.article_requests([(link, meta) for link, meta in found if meta.guid not in known])

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        if response.status == 304:  # conditional GET (crawler/middlewares.py): unchanged
            self.seed_ok()
            return
        try:
            kind, items = sitemap_items(response.body, self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        except (etree.XMLSyntaxError, OSError, EOFError, ValueError) as exc:
            self.seed_error(f"sitemap {response.url} cannot be parsed ({exc})")
            return
        self.seed_ok()
        entries = [(loc, meta) for loc, meta, lastmod in items if not unchanged_since(lastmod, self.since)]
        if len(entries) < len(items):
            self.crawler.stats.inc_value("defnews/sitemap_unchanged", len(items) - len(entries))
        if kind == "index":
            for loc, _ in entries:
                loc = urljoin(response.url, loc)
                if self.first_visit(loc):
                    self._meta_seeds_pending += 1
                    yield self.sitemap_request(loc)
            return
        articles = [(urljoin(response.url, loc), meta) for loc, meta in entries]
        articles = [(u, m) for u, m in articles if self.is_article_url(u, explicit=True)]
        yield from self.article_requests(self.drop_known(articles))

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        if response.meta.get("seed") == "listing":
            self.seed_ok()
        if response.status == 304:  # unchanged since the last complete run: nothing new
            return
        here = canonical_url(response.url)
        self._nav_seen.add(here)
        if not _is_html(response):
            return
        links = [(link.url, None) for link in self.link_extractor.extract_links(response)
                 if self.is_article_url(link.url, explicit=False) and canonical_url(link.url) != here]
        fresh = self.drop_known(links)
        yield from self.article_requests(fresh)
        page = response.meta.get("listing_page", 1)
        if not fresh and not self.full_walk:
            # Nothing here is unknown: older pages hold older stories, already handled.
            self.crawler.stats.inc_value("defnews/listing_stopped")
            log.debug("source %s: listing %s holds nothing new: pagination stops", self.source.name, response.url)
            return
        if page < self.max_listing_pages:
            nxt = next_page_url(response)
            if nxt and self.first_visit(response.urljoin(nxt)):
                yield response.follow(nxt, callback=self.parse_listing, errback=self.seed_failed,
                                      dont_filter=True,
                                      meta={"listing_page": page + 1, "seed": "listing-next"})

    def drop_known(self, links: list[tuple[str, FeedMeta | None]]) -> list[tuple[str, FeedMeta | None]]:
        """Links whose canonical URL is already stored are not fetched again."""
        if not links:
            return links
        keys = [canonical_url(u) for u, _ in links]
        known = self.known_urls(keys)
        if known:
            self.crawler.stats.inc_value("defnews/links_known", len(known))
        return [link for link, key in zip(links, keys) if key not in known]

    def is_article_url(self, url: str, *, explicit: bool) -> bool:
        """A link is an article if it matches article_pattern; without one, sitemap entries
        are articles and listing links must look like article paths."""
        if not self.is_allowed(url):
            return False
        if self.pattern is not None:
            return bool(self.pattern.search(url))
        if explicit:
            return True
        path = urlsplit(url).path
        if NOT_ARTICLE.search(path):
            return False
        segments = [s for s in path.split("/") if s]
        return len(segments) >= 2 or (len(segments) == 1 and (len(segments[0]) > 20 or any(c.isdigit() for c in segments[0])))

    def is_allowed(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    # -- articles -----------------------------------------------------------------------
    def parse_article(self, response: Response) -> Iterator[Page]:
        if response.status == 304:  # a re-check (recheck_requests): the stored story stands
            self.crawler.stats.inc_value("defnews/recheck_unchanged")
            return
        if not _is_html(response):
            self.drop("skipped", "not HTML", response.url,
                      response.headers.get("Content-Type", b"").decode("latin-1"))
            return
        redirects = response.meta.get("redirect_urls") or []
        # Taken out once used, so the map does not grow with the crawl.
        remembered = [self.feed_meta.pop(canonical_url(u), None) for u in (*redirects, response.url)]
        feed = response.meta.get("feed") or next((f for f in remembered if f is not None), None)
        yield Page(
            source=self.source.name,
            url=redirects[0] if redirects else response.url,
            final_url=response.url,
            body=response.body,
            encoding=_declared_encoding(response),
            fetched_at=datetime.now(timezone.utc),
            feed=feed,
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            recheck_of=response.meta.get("recheck_of"),
        )


def _reason(failure: Failure) -> str:
    value = failure.value
    response = getattr(value, "response", None)
    if response is not None:
        return f"HTTP {response.status}"
    return f"{type(value).__name__}: {value}".strip()


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _is_html(response: Response) -> bool:
    ctype = response.headers.get("Content-Type", b"").decode("latin-1").lower()
    if ctype:
        return any(t in ctype for t in HTML_TYPES)
    head = response.body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _declared_encoding(response: Response) -> str | None:
    ctype = response.headers.get("Content-Type", b"").decode("latin-1")
    m = re.search(r"charset=([\w\-:]+)", ctype, re.I)
    return m.group(1) if m else None


def next_page_url(response: Response) -> str | None:
    """rel=next first, then a pagination link whose text says 'next'."""
    for sel in ('link[rel="next"]::attr(href)', 'a[rel~="next"]::attr(href)',
                'a.next::attr(href)', '.next a::attr(href)', 'a.next-page::attr(href)',
                '.pagination a.next::attr(href)', 'li.pager-next a::attr(href)'):
        href = response.css(sel).get()
        if href:
            return href
    for a in response.css("a"):
        text = " ".join(a.css("::text").getall()).strip().lower()
        if text in NEXT_TEXTS and a.attrib.get("href"):
            return a.attrib["href"]
    return None
