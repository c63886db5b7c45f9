"""Stories the relevance filter rejected: recorded for audit, and not fetched again while
the rejection still holds.

A rejection holds while its recorded score is below the source's current threshold, the
relevance vocabulary is the one it was judged with, and (for a feed entry) the entry is
unchanged. So lowering ``relevance_threshold`` below a story's score, switching the filter
off, changing the vocabulary (``relevance_terms``, an upgrade) or a publisher editing the
entry brings the story back on the next run; nothing else does, so a general outlet's
sport pages are fetched once, not on every run. No text is kept: the table answers "what was dropped,
and how close was it", not "what did it say".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator, Mapping

from sqlalchemy import Connection, Select, delete, or_, select
from sqlalchemy.orm import Session

from storage.db import as_utc
from storage.models import Rejection

REJECTIONS = Rejection.__table__
EXPORT_COLUMNS = ["source", "url", "title", "score", "threshold", "rejected_at", "guid"]
_CHUNK = 1000


@dataclass(frozen=True)
class Rejected:
    """One rejected story as the pipeline reports it."""

    source: str
    url: str  # the story's canonical URL
    link: str  # canonical URL of the link that was followed
    title: str
    score: float
    threshold: float
    guid: str | None = None
    entry: str | None = None  # the feed entry's signature (crawler.items.FeedMeta.signature)
    vocabulary: str | None = None  # the vocabulary's fingerprint (crawler.text.relevance.Lexicon)


def _insert(conn: Connection) -> Any:  # the dialect's INSERT, with ON CONFLICT
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(REJECTIONS)


def record_rejections(conn: Connection, rows: Iterable[Rejected], at: datetime) -> None:
    """Insert or refresh one row per (source, url); the caller's transaction commits it."""
    latest = {(r.source, r.url): r for r in rows}
    if not latest:
        return
    values = [{"source": r.source, "url": r.url, "link": r.link, "guid": r.guid or None,
               "entry": r.entry, "title": r.title or "", "score": float(r.score),
               "threshold": float(r.threshold), "vocabulary": r.vocabulary, "rejected_at": at}
              for _, r in sorted(latest.items())]  # one lock order for concurrent writers
    stmt = _insert(conn)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source", "url"],
        set_={c: stmt.excluded[c] for c in ("link", "guid", "entry", "title", "score", "threshold",
                                             "vocabulary", "rejected_at")})
    conn.execute(stmt, values)


def forget_rejections(conn: Connection, source: str, urls: Iterable[str]) -> None:
    """A story stored after all (a lower threshold) is no longer a rejection."""
    wanted = sorted(set(urls))
    for i in range(0, len(wanted), _CHUNK):
        conn.execute(delete(REJECTIONS).where(REJECTIONS.c.source == source,
                                              REJECTIONS.c.url.in_(wanted[i:i + _CHUNK])))


def _holding(source: str, threshold: float, vocabulary: str | None) -> list:
    """SQL conditions of a rejection that still holds (``vocabulary`` None: any)."""
    conds = [REJECTIONS.c.source == source, REJECTIONS.c.score < threshold]
    if vocabulary is not None:
        conds.append(REJECTIONS.c.vocabulary == vocabulary)
    return conds


def still_rejected_guids(session: Session | Connection, source: str,
                         entries: Mapping[str, str | None], threshold: float,
                         vocabulary: str | None = None) -> set[str]:
    """Feed GUIDs whose rejection holds: score below ``threshold``, judged with this
    ``vocabulary``, and the entry unchanged."""
    wanted = sorted(g for g in entries if g)
    out: set[str] = set()
    for i in range(0, len(wanted), _CHUNK):
        rows = session.execute(select(REJECTIONS.c.guid, REJECTIONS.c.entry, REJECTIONS.c.score).where(
            REJECTIONS.c.guid.in_(wanted[i:i + _CHUNK]), *_holding(source, threshold, vocabulary)))
        out.update(g for g, entry, _ in rows if entries.get(g) is None or entry == entries[g])
    return out


def still_rejected_urls(session: Session | Connection, source: str, urls: Iterable[str],
                        threshold: float, vocabulary: str | None = None) -> set[str]:
    """Canonical URLs (story or followed link) whose rejection holds at ``threshold`` with
    this ``vocabulary``."""
    wanted = sorted(set(urls))
    keys = set(wanted)
    out: set[str] = set()
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i:i + _CHUNK]
        rows = session.execute(select(REJECTIONS.c.url, REJECTIONS.c.link).where(
            or_(REJECTIONS.c.url.in_(chunk), REJECTIONS.c.link.in_(chunk)),
            *_holding(source, threshold, vocabulary)))
        for url, link in rows:
            out.update(u for u in (url, link) if u in keys)
    return out


def rejection_query(*, since: datetime | None = None, until: datetime | None = None,
                    sources: Iterable[str] = ()) -> Select:
    """Rejections in time order; --since/--until apply to when the story was rejected."""
    q = select(*[REJECTIONS.c[c] for c in EXPORT_COLUMNS]).order_by(REJECTIONS.c.rejected_at,
                                                                     REJECTIONS.c.id)
    if since is not None:
        q = q.where(REJECTIONS.c.rejected_at >= since)
    if until is not None:
        q = q.where(REJECTIONS.c.rejected_at <= until)
    names = list(sources)
    if names:
        q = q.where(REJECTIONS.c.source.in_(names))
    return q


def iter_rejections(session: Session, query: Select) -> Iterator[dict]:
    """Rows of ``rejection_query`` as dicts with an ISO-8601 time, streamed."""
    result = session.execute(query.execution_options(yield_per=_CHUNK, stream_results=True))
    for row in result.tuples():
        d = dict(zip(EXPORT_COLUMNS, row))
        at = as_utc(d["rejected_at"])
        d["rejected_at"] = at.isoformat() if at else ""
        d["guid"] = d["guid"] or ""
        yield d
