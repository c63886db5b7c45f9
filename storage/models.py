"""SQLAlchemy 2 models: the whole persistent state of defnews.

Everything that must survive a restart or be shared between workers lives here (stories,
dedup index, feed state, locks, run records, learned boilerplate), never in process memory.
Types are portable so one schema serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def UTCDateTime() -> DateTime:  # noqa: N802 - reads like the type it returns
    """Timezone-aware DateTime; SQLite gives naive values back, read as UTC (storage.db.as_utc)."""
    return DateTime(timezone=True)


class Base(DeclarativeBase):
    pass


class Source(Base):
    """One configured source and its health (what `defnews sources` shows)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    backoff_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Story(Base):
    """One stored article. ``url`` is the canonical URL and unique: writes are idempotent.

    ``duplicate_of`` names the cluster's original (the first stored version), never another
    duplicate. The partial unique index on ``fingerprint`` among originals is what makes
    two processes storing the same text at once end with one original: the second insert
    conflicts in the database, not in anyone's memory.
    """

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    date_source: Mapped[str] = mapped_column(String(20), default="")
    author: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    duplicate_of: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("stories.id"), nullable=True, index=True
    )
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    relevance: Mapped[float | None] = mapped_column(Float, nullable=True)
    # SHA-256 of the normalised words (crawler/text/fingerprints.py); "" when too short to identify.
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # packed signature
    guid: Mapped[str | None] = mapped_column(Text, nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Corrections (storage/corrections.py): the page's validators for conditional re-checks,
    # the hash of the page's own headline and text (crawler/text/revisions.py), and when
    # and how many times a re-check found the story changed and updated it in place.
    etag: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_modified: Mapped[str | None] = mapped_column(Text, nullable=True)
    page_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Headline and text folded for search (storage/search.py ``search_columns``): the
    # full-text indexes (SQLite FTS5, PostgreSQL tsvector + GIN, made by migration
    # 0003_search) index these, so a query folded the same way finds every spelling.
    search_title: Mapped[str] = mapped_column(Text, default="", server_default="")
    search_body: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (
        # One original per exact text: the exact-level lookup and its race guard in one index.
        Index("uq_stories_original_fingerprint", "fingerprint", unique=True,
              sqlite_where=sql_text("duplicate_of IS NULL AND fingerprint <> ''"),
              postgresql_where=sql_text("duplicate_of IS NULL AND fingerprint <> ''")),
    )


class StoryBand(Base):
    """LSH buckets: which stored story first claimed each band hash (the settled level).

    ``hash`` already encodes its band (crawler/dedup.band_hashes), so candidates for a whole
    batch are one ``WHERE hash IN (...)`` on the primary key, the same in SQLite and
    PostgreSQL. New claims land in the small ``story_bands_recent`` first and are moved
    here in bulk, sorted (storage/stories.py): random single-row inserts into a table of
    millions of rows would dirty one page per row and make the cost per story grow with
    the table.
    """

    __tablename__ = "story_bands"

    hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    story_id: Mapped[int] = mapped_column(BigId, ForeignKey("stories.id", ondelete="CASCADE"))

    __table_args__ = ({"sqlite_with_rowid": False},)


class StoryBandRecent(Base):
    """LSH buckets claimed since the last move into ``story_bands`` (kept small, so a batch
    dirties few pages). Its primary key makes a bucket claimable once: a process storing a
    near-duplicate at the same moment as another conflicts on the shared bucket, waits for
    the other transaction, and then sees the story it must point to."""

    __tablename__ = "story_bands_recent"

    hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    story_id: Mapped[int] = mapped_column(BigId, ForeignKey("stories.id", ondelete="CASCADE"))

    __table_args__ = ({"sqlite_with_rowid": False},)


class FeedEntry(Base):
    """Feed entry GUIDs seen per source: an entry already stored is not fetched again."""

    __tablename__ = "feed_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(100))
    guid: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    story_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("source", "guid", name="uq_feed_entries_source_guid"),)


class Rejection(Base):
    """A story the relevance filter rejected: enough to audit it and to decide whether to
    fetch it again, never its text (``defnews export --rejected``).

    One row per (source, story URL), updated when the story is judged again. ``link`` is
    the canonical URL of the link that was followed (a listing or sitemap link may differ
    from the story's rel=canonical URL); ``entry`` is the feed entry's signature and
    ``vocabulary`` the relevance vocabulary's, so an edited entry, or a story judged with
    other terms, is fetched again."""

    __tablename__ = "rejections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(Text)
    guid: Mapped[str | None] = mapped_column(Text, nullable=True)
    entry: Mapped[str | None] = mapped_column(String(64), nullable=True)
    title: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    vocabulary: Mapped[str | None] = mapped_column(String(64), nullable=True)  # Lexicon.fingerprint
    rejected_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    __table_args__ = (UniqueConstraint("source", "url", name="uq_rejections_source_url"),
                      Index("ix_rejections_source_link", "source", "link"),
                      Index("ix_rejections_source_guid", "source", "guid"))


class FeedState(Base):
    """Conditional-GET validators and status of one feed URL (Miniflux-style)."""

    __tablename__ = "feed_states"

    url: Mapped[str] = mapped_column(String(2000), primary_key=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    etag: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_modified: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RobotsTxt(Base):
    """A host's robots.txt, kept across runs for as long as its caching headers allow
    (at most 24 h, RFC 9309 section 2.4), so a run does not fetch it again."""

    __tablename__ = "robots_txt"

    netloc: Mapped[str] = mapped_column(String(300), primary_key=True)  # scheme://host:port
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class CrawlRun(Base):
    """One run of one source; a run without ended_at did not finish (killed or running)."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="running")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Workers that shared this run through the Redis frontier (pid/host: the first one).
    workers: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # What the run cost: HTTP requests sent (robots.txt included) and CPU seconds of its
    # process and pool workers; empty for runs whose process did not finish.
    requests: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cpu_s: Mapped[float | None] = mapped_column(Float, nullable=True)

    # Retention deletes a source's oldest runs: by source, then start time.
    __table_args__ = (Index("ix_crawl_runs_source_started", "source", "started_at"),)


class SourceLock(Base):
    """A per-source crawl lock in the database, so it holds across processes and machines."""

    __tablename__ = "source_locks"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BoilerplateLine(Base):
    """How many stories of a source carry a line verbatim: recurring lines are boilerplate."""

    __tablename__ = "boilerplate_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(100))
    line_hash: Mapped[str] = mapped_column(String(64))
    line: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("source", "line_hash", name="uq_boilerplate_source_hash"),
    )
