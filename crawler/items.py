"""What travels through the pipeline: a fetched Page with its source's rules, then an
extracted Record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from crawler.defaults import RELEVANCE_THRESHOLD
from crawler.text.relevance import Lexicon


@dataclass
class FeedMeta:
    """What a feed entry (or a Google News sitemap entry) says about an article; it wins."""

    title: str = ""
    published: datetime | None = None  # aware, UTC
    author: str = ""
    guid: str = ""

    def signature(self) -> str:
        """This version of the entry: a publisher's edit of its title or date changes it, so
        an entry rejected by the relevance filter is judged again once it was edited."""
        when = self.published.isoformat() if self.published else ""
        return hashlib.sha1(f"{self.title}\n{when}".encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class SourceRules:
    """What extraction needs of one source, in the one shape it has from the config
    (crawler.config.SourceConfig.rules) to the worker: picklable, sent with every batch."""

    name: str = ""
    timezone: str = "UTC"
    boilerplate: tuple[str, ...] = ()  # the source's regexes (config `boilerplate`)
    learned: frozenset[str] = frozenset()  # its learned boilerplate lines (storage.learned)
    relevance_filter: bool = False
    relevance_threshold: float = RELEVANCE_THRESHOLD  # config `relevance_threshold`
    lexicon: Lexicon | None = None  # the shipped vocabulary plus the user's; None: shipped only


@dataclass
class Page:
    """An article response as the spider hands it to the pipelines (picklable for the pool)."""

    source: str
    url: str  # the URL requested first (before redirects)
    final_url: str  # after redirects
    body: bytes
    encoding: str | None
    fetched_at: datetime
    feed: FeedMeta | None = None
    etag: str | None = None  # the response's validators, kept for conditional re-checks
    last_modified: str | None = None
    recheck_of: int | None = None  # a stored story's id when this page is its re-check
    # The shared frontier's claim on the request (crawler/frontier): dropped once stored.
    lease: bytes | None = None


@dataclass
class Record:
    """One extracted, cleaned story: the columns of the export plus what dedup needs."""

    source: str
    url: str  # canonical
    title: str
    text: str
    author: str
    published_at: datetime | None  # aware, UTC
    date_source: str  # feed | meta | text | none
    language: str
    fetched_at: datetime
    relevance: float | None = None
    page_hash: str = ""  # crawler.text.revisions.version_hash of the page's own headline and text
    etag: str | None = None  # the page's validators, stored for conditional re-checks
    last_modified: str | None = None
    guid: str = ""
    site_name: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class Processed:
    """What the extraction pool returns for one page (crawler.text.page.process_page).
    Defined here, not beside process_page: the crawl process unpickles it, and must not
    import the extraction (trafilatura) for that."""

    status: str  # "ok" | "empty" | "rejected" | "error"
    record: Record | None = None
    error: str = ""


@dataclass
class RunCounts:
    """What one crawl of one source did: the one type for a run's counts, from the
    pipeline that counts them, through the run record, to the summary table."""

    source: str = ""
    status: str = "not run"  # ok | failed | interrupted | not run
    pages: int = 0  # articles fetched (the summary's "fetched")
    new: int = 0
    duplicates: int = 0
    exists: int = 0
    rejected: int = 0
    failed: int = 0
    empty: int = 0
    skipped: int = 0
    updated: int = 0  # stored stories re-checked and found corrected (updated in place)
    recheck_kept: int = 0  # re-checked pages that gave no or much less text: not used
    errors: list[str] = field(default_factory=list)
    # Why items were dropped, by kind ({"bad link": 3, "off-site": 2}), and why they failed.
    skips: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. a feed with no entries
    seconds: float = 0.0  # wall time of the source's crawl: what its worst case cost
    run_id: int | None = None  # its run record
    requests: int = 0  # HTTP requests sent, robots.txt included
    cpu_s: float | None = None  # CPU seconds of the crawl process and its workers (runner)
    # The crawl could not run to its end: it could not start (database, Redis) or lost its
    # shared frontier. `defnews crawl` then exits 1.
    aborted: bool = False
