"""Feed entry GUIDs remembered per source, so a feed entry already stored is not fetched again.

A GUID outlives URL changes (tracking parameters, http->https, a moved article), which is
why the spider asks by GUID before it requests the article at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from storage.models import FeedEntry

ENTRIES = FeedEntry.__table__
_CHUNK = 2000


def seen_guids(session: Session | Connection, source: str, guids: Iterable[str], *,
               stored_only: bool = False) -> set[str]:
    """The GUIDs among ``guids`` that ``source`` has already stored a story for (or, unless
    ``stored_only``, seen rejected: storage.rejections says whether that still holds)."""
    wanted = sorted({g for g in guids if g})
    out: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        q = select(ENTRIES.c.guid).where(ENTRIES.c.source == source, ENTRIES.c.guid.in_(chunk))
        if stored_only:
            q = q.where(ENTRIES.c.story_id.is_not(None))
        out.update(session.execute(q).scalars())
    return out


def remember_guids(conn: Connection, entries: list[tuple[str, str, str, int | None]],
                   seen_at: datetime) -> None:
    """Record (source, guid, url, story_id); a GUID already remembered is left as it is,
    unless it was remembered rejected (no story) and now has its story."""
    if not entries:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    rows = {(s, g): {"source": s, "guid": g, "url": u, "story_id": sid, "seen_at": seen_at}
            for s, g, u, sid in entries}
    ordered = [rows[k] for k in sorted(rows)]  # one lock order for concurrent writers
    stmt = insert(ENTRIES)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["source", "guid"],
        set_={"story_id": stmt.excluded.story_id, "url": stmt.excluded.url},
        where=ENTRIES.c.story_id.is_(None) & stmt.excluded.story_id.is_not(None)), ordered)
