"""What travels through the pipeline: a fetched Page, then an extracted Record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class FeedMeta:
    """What a feed entry (or a Google News sitemap entry) says about an article; it wins."""

    title: str = ""
    published: datetime | None = None  # aware, UTC
    author: str = ""
    guid: str = ""


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
    guid: str = ""
    site_name: str = ""
    extra: dict = field(default_factory=dict)
