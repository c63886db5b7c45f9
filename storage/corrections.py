"""Corrections: which stored stories a crawl re-checks, and updating one in place.

A crawl re-checks the stories of its source first seen in the last ``recheck_hours``
(config.yaml, per source; 0 disables). Re-checking every story on every crawl would send
a site one request per recent story every few minutes, 304 or not; instead each story is
re-checked at exponentially spaced ages: ``RECHECK_MIN_GAP`` after it was first seen,
then at twice, four times, ... that age (10 min, 20 min, 40 min, ... 43 h: nine checks in
48 hours). A crawl re-checks a story when one of those moments fell since the source's
previous successful run, so the schedule needs no bookkeeping write: an unchanged page
costs one conditional GET (a 304 when the site keeps validators) and nothing is written.
A correction is found within about the story's age at the time it was made.

An update keeps the story's id, its first-seen ``fetched_at``, its URL, its feed GUID and
its place in its cluster (``duplicate_of``, and its dedup fingerprint and MinHash, which
stay those of the first version: a story's cluster is fixed when it is first stored), and
sets ``updated_at`` and ``revision`` (how many times it was updated). A re-fetched page
whose text is much shorter than the stored one never replaces it (crawler.text.revisions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from crawler.defaults import RECHECK_LIMIT, RECHECK_MIN_GAP
from crawler.items import Record
from crawler.text.revisions import is_degraded, version_hash
from storage.db import as_utc, utcnow
from storage.models import CrawlRun, Story
from storage.search import search_columns

STORIES = Story.__table__


@dataclass(frozen=True)
class Recheck:
    """A stored story to fetch again, with the validators its page was stored with."""

    story_id: int
    url: str
    etag: str | None = None
    last_modified: str | None = None


def recheck_due(fetched_at: datetime, previous_run: datetime | None, now: datetime,
                min_gap: float = RECHECK_MIN_GAP) -> bool:
    """Whether a re-check moment of a story first seen at ``fetched_at`` (ages min_gap,
    2*min_gap, 4*min_gap, ...) fell after ``previous_run`` and by ``now``.

    Without a previous run, every story old enough is due.
    """
    def step(at: datetime | None) -> int:
        age = (at - fetched_at).total_seconds() if at is not None else -1.0
        return math.floor(math.log2(age / min_gap)) if age >= min_gap else -1

    return step(now) > step(previous_run)


def stories_to_recheck(factory: sessionmaker[Session], source: str, hours: float, *,
                       now: datetime | None = None, min_gap: float = RECHECK_MIN_GAP,
                       limit: int = RECHECK_LIMIT) -> list[Recheck]:
    """The stories of ``source`` first seen in the last ``hours`` whose re-check is due,
    newest first, at most ``limit``; none when ``hours`` is 0."""
    if hours <= 0:
        return []
    now = now or utcnow()
    with factory() as session:
        previous = as_utc(session.scalar(select(func.max(CrawlRun.started_at)).where(
            CrawlRun.source == source, CrawlRun.status == "ok")))
        rows = session.execute(
            select(STORIES.c.id, STORIES.c.url, STORIES.c.fetched_at, STORIES.c.etag,
                   STORIES.c.last_modified)
            .where(STORIES.c.source == source, STORIES.c.fetched_at >= now - timedelta(hours=hours))
            .order_by(STORIES.c.fetched_at.desc())).all()
    due = [Recheck(sid, url, etag, modified) for sid, url, fetched, etag, modified in rows
           if recheck_due(as_utc(fetched), previous, now, min_gap)]
    return due[:limit]


def apply_corrections(factory: sessionmaker[Session],
                      corrections: Sequence[tuple[int, Record]]) -> list[str]:
    """Compare each re-fetched record with its stored story (by id) and update in place.

    One outcome per item, in order: "updated" (headline or text changed), "unchanged"
    (same wording; new validators, if the page sent others, are kept so the next check
    can be a 304; a story stored before page hashes were kept gets its first one), "kept" (the new text is much shorter: the stored version stays) or
    "missing" (the story is no longer stored). One transaction for the batch.
    """
    if not corrections:
        return []
    now = utcnow()
    outcomes: list[str] = []
    with factory.begin() as session:
        ids = sorted({sid for sid, _ in corrections})
        stored = {row.id: row._asdict() for row in session.execute(
            select(STORIES.c.id, STORIES.c.title, STORIES.c.text, STORIES.c.page_hash,
                   STORIES.c.etag, STORIES.c.last_modified).where(STORIES.c.id.in_(ids)))}
        for sid, record in corrections:
            old = stored.get(sid)
            if old is None:
                outcomes.append("missing")
                continue
            new_hash = record.page_hash or version_hash(record.title, record.text)
            validators = {"etag": record.etag, "last_modified": record.last_modified}
            if not old["page_hash"]:
                # Stored before versions were kept (migration 0004): its title may be a
                # feed's and its text cleaned by older rules, so a difference proves
                # nothing. This version becomes the one later re-checks compare with.
                session.execute(update(STORIES).where(STORIES.c.id == sid)
                                .values(page_hash=new_hash, **validators))
                old.update(page_hash=new_hash, **validators)
                outcomes.append("unchanged")
                continue
            if new_hash == old["page_hash"]:
                if (old["etag"], old["last_modified"]) != (record.etag, record.last_modified):
                    session.execute(update(STORIES).where(STORIES.c.id == sid).values(**validators))
                outcomes.append("unchanged")
                continue
            if not record.text.strip() or is_degraded(old["text"], record.text):
                outcomes.append("kept")
                continue
            values = {"title": record.title or old["title"], "text": record.text,
                      "page_hash": new_hash, "updated_at": now,
                      "revision": STORIES.c.revision + 1, **validators}
            # The search index follows the corrected headline and text (storage/search.py).
            values.update(search_columns(values["title"], record.text))
            if record.author:
                values["author"] = record.author
            if record.language:
                values["language"] = record.language
            if record.relevance is not None:
                values["relevance"] = record.relevance
            session.execute(update(STORIES).where(STORIES.c.id == sid).values(**values))
            outcomes.append("updated")
            # Later items of the batch for the same story compare with this version.
            old.update(title=values["title"], text=record.text, page_hash=new_hash, **validators)
    return outcomes
