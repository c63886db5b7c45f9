"""robots.txt kept per host across runs: read one still fresh, store a fetched one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from storage.db import as_utc
from storage.models import RobotsTxt


def fresh_robots(factory: sessionmaker[Session], netloc: str, now: datetime) -> tuple[int, bytes] | None:
    """(status, body) of a cached robots.txt that has not expired at ``now``, else None."""
    with factory() as session:
        row = session.get(RobotsTxt, netloc)
        if row is None or as_utc(row.expires_at) <= now:
            return None
        return row.status, row.body


def keep_robots(factory: sessionmaker[Session], netloc: str, status: int, body: bytes,
                fetched_at: datetime, lifetime: float) -> None:
    """Store (or replace) a host's robots.txt for ``lifetime`` seconds; expired rows of
    other hosts go at the same time, so the table holds only what is still usable."""
    with factory.begin() as session:
        session.execute(delete(RobotsTxt).where(RobotsTxt.expires_at <= fetched_at))
        row = session.get(RobotsTxt, netloc)
        if row is None:
            row = RobotsTxt(netloc=netloc)
            session.add(row)
        row.status, row.body, row.fetched_at = status, body, fetched_at
        row.expires_at = fetched_at + timedelta(seconds=lifetime)
