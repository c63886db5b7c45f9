"""Per-source crawl locks in the database, so overlapping crawls of one source skip.

Why the database and not a lock file: cron jobs on two machines that share a PostgreSQL
database must not crawl the same source at once either. The lock is one row of
``source_locks`` per source; taking it is a single INSERT (the primary key makes two
inserts race-free) or, when the row is there but dead, a single conditional UPDATE whose
WHERE clause re-checks the expiry (so two stealers cannot both win: the database
serialises the row update on PostgreSQL and the whole write on SQLite).

A holder that is SIGKILLed cannot release its lock, so every lock expires: the holder
renews it (`Heartbeat`) well before ``expires_at``; a lock whose expiry has passed may be
taken by anyone. On the holder's own machine we need not wait for the expiry: a holder
whose pid no longer exists there is dead, and its lock is taken at once.

Clocks: expiry is compared with the acquiring machine's UTC clock, so machines sharing
a database need synchronised clocks (NTP); the default TTL leaves minutes of slack.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crawler.defaults import FALLBACK_PERIOD, LOCK_TTL
from storage.db import as_utc, utcnow
from storage.holders import holder_is_dead, make_holder
from storage.models import SourceLock
from storage.runs import apply_backoff, backoff_until, reap_dead_runs

log = logging.getLogger(__name__)

#: Seconds a lock lives without renewal. A holder renews it every TTL/4.
DEFAULT_TTL = LOCK_TTL


@dataclass(frozen=True)
class LockInfo:
    source: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


def lock_info(factory: sessionmaker[Session], source: str) -> LockInfo | None:
    """The current lock row of a source (live or expired), or None."""
    with factory() as session:
        row = session.get(SourceLock, source)
        if row is None:
            return None
        return LockInfo(row.source, row.holder, as_utc(row.acquired_at), as_utc(row.expires_at))


def acquire(factory: sessionmaker[Session], source: str, holder: str,
            ttl: float = DEFAULT_TTL) -> bool:
    """Take the lock of `source` for `holder`; False if someone alive holds it.

    Re-acquiring a lock one already holds succeeds (and renews it).
    """
    if _insert(factory, source, holder, ttl):
        return True
    # The row exists: live, expired, dead or ours.
    now = utcnow()
    expires = now + timedelta(seconds=ttl)
    current = lock_info(factory, source)
    if current is None:  # released between our insert and our look: one more insert
        return _insert(factory, source, holder, ttl)
    if current.holder != holder and current.expires_at > now and not holder_is_dead(current.holder):
        return False
    # Steal (or renew) it, but only if the row is still exactly what we judged dead:
    # a concurrent stealer changes `holder`, and then our UPDATE matches no row.
    with factory.begin() as session:
        result = session.execute(
            update(SourceLock)
            .where(SourceLock.source == source, SourceLock.holder == current.holder,
                   SourceLock.expires_at == current.expires_at)
            .values(holder=holder, acquired_at=now, expires_at=expires)
        )
        won = result.rowcount == 1
    if won and current.holder != holder:
        why = "expired" if current.expires_at <= now else "its process is gone"
        log.warning("source %s: took over the crawl lock of %s (%s)", source, current.holder, why)
    return won


def _insert(factory: sessionmaker[Session], source: str, holder: str, ttl: float) -> bool:
    """The fast path: no row yet. The primary key lets exactly one concurrent insert win."""
    now = utcnow()
    try:
        with factory.begin() as session:
            session.execute(insert(SourceLock).values(source=source, holder=holder, acquired_at=now,
                                                      expires_at=now + timedelta(seconds=ttl)))
        return True
    except IntegrityError:
        return False


def renew(factory: sessionmaker[Session], source: str, holder: str, ttl: float = DEFAULT_TTL) -> bool:
    """Push the expiry of our lock forward; False if the lock is no longer ours."""
    with factory.begin() as session:
        result = session.execute(
            update(SourceLock).where(SourceLock.source == source, SourceLock.holder == holder)
            .values(expires_at=utcnow() + timedelta(seconds=ttl))
        )
        return result.rowcount == 1


def release(factory: sessionmaker[Session], source: str, holder: str) -> bool:
    """Drop our lock (never someone else's); True if there was one to drop."""
    with factory.begin() as session:
        result = session.execute(
            delete(SourceLock).where(SourceLock.source == source, SourceLock.holder == holder)
        )
        return result.rowcount == 1


def holders(factory: sessionmaker[Session]) -> dict[str, LockInfo]:
    """All lock rows by source (for `defnews sources`)."""
    with factory() as session:
        return {r.source: LockInfo(r.source, r.holder, as_utc(r.acquired_at), as_utc(r.expires_at))
                for r in session.scalars(select(SourceLock))}


class Heartbeat:
    """Renews a set of locks on a daemon thread while a crawl runs.

    A thread, not a reactor timer: the crawl's reactor may be busy or wedged, and the lock
    must stay ours for exactly as long as this process lives.
    """

    def __init__(self, factory: sessionmaker[Session], sources: list[str], holder: str,
                 ttl: float = DEFAULT_TTL) -> None:
        self.factory, self.sources, self.holder, self.ttl = factory, list(sources), holder, ttl
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="defnews-lock-heartbeat", daemon=True)

    def start(self) -> "Heartbeat":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            for source in self.sources:
                try:
                    if not renew(self.factory, source, self.holder, self.ttl):
                        log.error("source %s: lost the crawl lock (taken by another crawl)", source)
                except Exception as exc:  # a database hiccup must not kill the crawl
                    log.warning("source %s: renewing the crawl lock failed: %s", source, exc)


@dataclass
class Claim:
    """What `claim_sources` got: the sources this process may crawl, and why others not."""

    holder: str
    sources: list[str]
    skipped: list[str]  # one line per skipped source, for the user
    backoff_before: dict[str, datetime | None] = field(default_factory=dict)

    def finish(self, factory: sessionmaker[Session], periods: dict[str, float]) -> None:
        """After the crawl: set or clear each source's backoff, then release the locks.

        `periods`: seconds between scheduled runs of each source (the backoff unit)."""
        for name in self.sources:
            try:
                apply_backoff(factory, name, periods.get(name, FALLBACK_PERIOD),
                              before=self.backoff_before.get(name))
            except Exception as exc:
                log.warning("source %s: updating its backoff failed: %s", name, exc)
        self.release(factory)

    def release(self, factory: sessionmaker[Session]) -> None:
        for name in self.sources:
            try:
                release(factory, name, self.holder)
            except Exception as exc:  # it expires anyway
                log.warning("source %s: releasing the crawl lock failed: %s", name, exc)


def claim_sources(factory: sessionmaker[Session], names: list[str], *, respect_backoff: bool,
                  exclusive: bool = True, ttl: float = DEFAULT_TTL) -> Claim:
    """Lock each source for this process, skipping those locked elsewhere (and, when
    `respect_backoff`, those a failure backoff or a server's Retry-After holds back).

    Taking the lock also closes the records of earlier runs of the source that were left
    ``running`` by a dead process, on any machine: while we hold the lock, none is alive.
    With ``exclusive=False`` (workers sharing one Redis frontier are meant to crawl a
    source together) no lock is taken; backoff still applies.
    """
    claim = Claim(make_holder(), [], [])
    for name in names:
        until, failures = backoff_until(factory, name)
        if respect_backoff:
            if until is not None:
                plural = "s" if failures != 1 else ""
                why = (f"after {failures} failure{plural} in a row" if failures
                       else "as the server asked (Retry-After)")
                claim.skipped.append(f"source {name}: backing off {why} until "
                                     f"{until.isoformat(timespec='seconds')}; skipped "
                                     f"(crawl it now with --source {name})")
                continue
        if not exclusive:
            claim.sources.append(name)
            claim.backoff_before[name] = until
            continue
        if not acquire(factory, name, claim.holder, ttl):
            info = lock_info(factory, name)
            by = f" by {info.holder} since {info.acquired_at.isoformat(timespec='seconds')}" if info else ""
            claim.skipped.append(f"source {name}: already being crawled{by}; skipped")
            continue
        claim.sources.append(name)
        claim.backoff_before[name] = until
        reap_dead_runs(factory, name, any_host=True)
    return claim
