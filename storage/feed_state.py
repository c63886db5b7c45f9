"""Feed validators (ETag / Last-Modified) per feed URL, for conditional GET.

The downloader middleware (crawler/middlewares.py) decides when validators may be saved
(only after a complete crawl, see its docstring); this module only reads and writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import utcnow
from storage.models import FeedState


@dataclass
class FeedCheck:
    """What one run saw of a feed: its HTTP status and, on a 200, its validators."""

    status: int
    etag: str | None = None
    last_modified: str | None = None


def load_validators(factory: sessionmaker[Session], urls: Iterable[str],
                    source: str | None = None) -> dict[str, tuple[str | None, str | None]]:
    """(etag, last_modified) of each of `urls`, and of every URL `source` checked before
    (child sitemaps, listing pages, found on the way), that has some stored."""
    wanted = list(urls)
    where = [FeedState.url.in_(wanted)] if wanted else []
    if source is not None:
        where.append(FeedState.source == source)
    if not where:
        return {}
    with factory() as session:
        rows = session.scalars(select(FeedState).where(or_(*where)))
        return {st.url: (st.etag, st.last_modified) for st in rows if st.etag or st.last_modified}


def save_checks(factory: sessionmaker[Session], source: str, checks: dict[str, FeedCheck], *,
                keep_validators: bool) -> None:
    """Record each feed's last status; its new validators only when `keep_validators`."""
    now = utcnow()
    with factory.begin() as session:
        for url, seen in checks.items():
            st = session.get(FeedState, url)
            if st is None:
                st = FeedState(url=url, source=source)
                session.add(st)
            st.source = source
            st.last_status = seen.status
            st.checked_at = now
            if seen.status == 200 and keep_validators:
                st.etag, st.last_modified = seen.etag, seen.last_modified
