"""Crawl-run records and source health, written at the start and end of each run.

Run statuses: ``running`` (not finished yet, or its process died and nobody noticed yet),
``ok``, ``failed`` (nothing could be fetched), ``interrupted`` (stopped on SIGINT/SIGTERM,
what was fetched is stored), ``killed`` (its process vanished without closing the run:
SIGKILL, OOM, power loss; ``ended_at`` stays empty because nobody saw it end) and
``crashed`` (the crawl process exited with an error; recorded by the scheduler).

A source that fails (``failed`` or ``crashed``) again and again is backed off
exponentially: after n failures in a row it is not crawled again before
``min(period * 2**(n-1), cap)`` has passed, where period is its schedule's interval, so
one failure costs nothing and a dead source is tried less and less often.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from crawler.defaults import BACKOFF_CAP
from crawler.items import RunCounts
from storage.db import as_utc, dialect_insert, utcnow
from storage.holders import pid_alive
from storage.models import CrawlRun, Source

FAILURE_STATUSES = ("failed", "crashed")


def ensure_source(session: Session, name: str, url: str) -> Source:
    """The source's row, created if missing. INSERT ... ON CONFLICT DO NOTHING: workers
    starting together on a new database all get the row, none a unique violation."""
    insert = dialect_insert(session)
    session.execute(insert(Source).values(name=name, url=url, created_at=utcnow(),
                                          consecutive_failures=0)
                    .on_conflict_do_nothing(index_elements=[Source.name]))
    src = session.scalars(select(Source).where(Source.name == name)).one()
    if src.url != url:
        src.url = url
    return src


def start_run(factory: sessionmaker[Session], source: str, url: str) -> int:
    with factory.begin() as session:
        ensure_source(session, source, url)
        _reap(session, source, any_host=False)
        run = CrawlRun(source=source, started_at=utcnow(), status="running", pid=os.getpid(),
                       host=socket.gethostname())
        session.add(run)
        session.flush()
        return run.id


def finish_run(factory: sessionmaker[Session], run_id: int, status: str, counts: RunCounts, *,
               last: bool = True, workers: int | None = None) -> None:
    """Add a worker's counts to the run record; the last (or only) worker of the run also
    closes it and updates the source's health, in the same transaction.

    Counts are added in SQL (``pages = pages + n``), so workers sharing one run (Redis
    frontier) can finish at the same moment without losing each other's numbers."""
    now = utcnow()
    with factory.begin() as session:
        done = session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(
            pages=CrawlRun.pages + counts.pages, new=CrawlRun.new + counts.new,
            duplicates=CrawlRun.duplicates + counts.duplicates,
            rejected=CrawlRun.rejected + counts.rejected, failed=CrawlRun.failed + counts.failed,
            requests=func.coalesce(CrawlRun.requests, 0) + counts.requests))
        if done.rowcount == 0:
            return
        run = session.get(CrawlRun, run_id, populate_existing=True)
        if counts.errors:
            error = "\n".join(([run.error] if run.error else []) + counts.errors)
            run.error = error[:10000]
        if workers is not None:
            run.workers = workers
        if not last:
            return
        run.ended_at = now
        run.status = status
        src = session.scalar(select(Source).where(Source.name == run.source))
        if src is not None:
            src.last_run_at = now
            src.last_status = status
            if status in FAILURE_STATUSES:
                src.consecutive_failures = (src.consecutive_failures or 0) + 1
                src.last_error = run.error
            elif status == "interrupted":
                pass  # stopped from outside: says nothing about the source's health
            else:
                src.consecutive_failures = 0
                src.last_success_at = now
                src.last_error = None


def ever_crawled(factory: sessionmaker[Session], source: str) -> bool:
    """True when `source` had a successful run: a new source gets a full walk."""
    with factory() as session:
        src = session.scalar(select(Source).where(Source.name == source))
        return src is not None and src.last_success_at is not None


def last_complete_run_start(factory: sessionmaker[Session], source: str) -> datetime | None:
    """When the newest run of `source` that ended ok with nothing failed started.

    Anything a sitemap says was last modified before then was seen by that run and
    handled (stored, rejected or not an article): it need not be looked at again. A run
    with failures does not count, so what failed is tried again."""
    with factory() as session:
        started = session.scalar(select(CrawlRun.started_at).where(
            CrawlRun.source == source, CrawlRun.status == "ok", CrawlRun.failed == 0)
            .order_by(CrawlRun.started_at.desc()).limit(1))
    return as_utc(started)


def record_cpu(factory: sessionmaker[Session], cpu_by_run: dict[int, float]) -> None:
    """Add the CPU seconds a crawl process spent on each run (known only once the process
    is done); added, like the counts, because workers sharing a run each add theirs."""
    if not cpu_by_run:
        return
    with factory.begin() as session:
        for run_id, cpu in cpu_by_run.items():
            session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(
                cpu_s=func.coalesce(CrawlRun.cpu_s, 0) + round(cpu, 3)))


def prune_runs(factory: sessionmaker[Session], sources: Iterable[str], before: datetime) -> int:
    """Delete the run records of `sources` started before `before` (retention), but never a
    source's newest run nor a run still open. Returns how many went.

    Per source, through the (source, started_at) index: the cost does not grow with the
    runs kept, and every crawl trims what it owns, so the table stays flat."""
    n = 0
    with factory.begin() as session:
        for source in sources:
            newest = session.scalar(select(func.max(CrawlRun.id)).where(CrawlRun.source == source))
            if newest is None:
                continue
            n += session.execute(delete(CrawlRun).where(
                CrawlRun.source == source, CrawlRun.started_at < before, CrawlRun.id != newest,
                CrawlRun.status != "running")).rowcount or 0
    return n


# -- runs whose process died ------------------------------------------------------------

def _dead(run: CrawlRun, any_host: bool) -> bool:
    if run.host == socket.gethostname() and run.pid is not None:
        if run.pid == os.getpid():
            return False
        return not pid_alive(run.pid)
    return any_host


def _reap(session: Session, source: str, *, any_host: bool) -> int:
    n = 0
    for run in session.scalars(select(CrawlRun).where(CrawlRun.source == source,
                                                      CrawlRun.status == "running")):
        if _dead(run, any_host):
            run.status = "killed"
            note = (f"process {run.pid} on {run.host} ended without finishing this run "
                    f"(killed or crashed); noticed at {utcnow().isoformat(timespec='seconds')}")
            run.error = f"{run.error}\n{note}" if run.error else note
            n += 1
    return n


def reap_dead_runs(factory: sessionmaker[Session], source: str, *, any_host: bool = False) -> int:
    """Mark this source's runs left ``running`` by a dead process as ``killed``.

    A process on this machine is dead when its pid is gone. Runs started on other machines
    are only reaped with ``any_host=True``, which the caller may pass when it holds the
    source's crawl lock (then no other live crawl of the source can exist).
    """
    with factory.begin() as session:
        return _reap(session, source, any_host=any_host)


def record_exit(factory: sessionmaker[Session], source: str, url: str, *, pid: int,
                started_at: datetime, status: str, error: str = "") -> int | None:
    """Close the run of a crawl process that ended without closing it itself.

    Called by the scheduler when its child exits: ``status`` is ``crashed`` (non-zero exit,
    counts as a failure of the source), ``interrupted`` (stopped on our shutdown, exited by
    itself) or ``killed`` (died of a signal during our shutdown). If the
    child died before it could open a run, a run is recorded so that every run is seen.
    Returns the id of the run closed, or None when the child had closed its run itself.
    """
    host = socket.gethostname()
    now = utcnow()
    with factory.begin() as session:
        src = ensure_source(session, source, url)
        runs = list(session.scalars(select(CrawlRun).where(
            CrawlRun.source == source, CrawlRun.pid == pid, CrawlRun.host == host,
            CrawlRun.started_at >= started_at - timedelta(seconds=5))))
        if runs and all(r.status != "running" for r in runs):
            return None
        unfinished = [r for r in runs if r.status == "running"]
        if not unfinished:
            run = CrawlRun(source=source, started_at=started_at, status="running", pid=pid, host=host)
            session.add(run)
            session.flush()
            unfinished = [run]
        for run in unfinished:
            run.status = status
            if status != "killed":  # a killed run has no known end
                run.ended_at = now
            run.error = (error or f"crawl process {pid} {status}")[:10000]
        if status in FAILURE_STATUSES:
            src.last_run_at = now
            src.last_status = status
            src.consecutive_failures = (src.consecutive_failures or 0) + 1
            src.last_error = unfinished[-1].error
        return unfinished[-1].id


# -- backoff ----------------------------------------------------------------------------

def backoff_delay(failures: int, period: float, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after `failures` failures in a row: period * 2**(n-1), capped."""
    if failures <= 0:
        return 0.0
    cap = max(cap, period)
    return min(period * (2 ** min(failures - 1, 40)), cap)


_UNKNOWN = object()


def apply_backoff(factory: sessionmaker[Session], source: str, period: float,
                  before: datetime | None | object = _UNKNOWN) -> datetime | None:
    """After a run: set (or clear) the source's ``backoff_until`` from its failures in a row.

    A backoff already set further ahead (a server's Retry-After) is kept. After a success
    the backoff is cleared, unless it was set during the run (a Retry-After met on the
    way): `before` is the value read before the run, when the caller knows it. Returns
    the backoff time in force, or None.
    """
    now = utcnow()
    with factory.begin() as session:
        src = session.scalar(select(Source).where(Source.name == source))
        if src is None:
            return None
        current = as_utc(src.backoff_until)
        failures = src.consecutive_failures or 0
        if failures > 0:
            base = as_utc(src.last_run_at) or now
            until = base + timedelta(seconds=backoff_delay(failures, period))
            if current is None or current < until:
                src.backoff_until = current = until
        elif current is not None and (current <= now or (before is not _UNKNOWN and before == current)):
            src.backoff_until = current = None
        return current if current is not None and current > now else None


def set_retry_after(factory: sessionmaker[Session], source: str, until: datetime) -> None:
    """A server asked us (Retry-After) not to come back before `until`."""
    with factory.begin() as session:
        src = session.scalar(select(Source).where(Source.name == source))
        if src is None:
            return
        current = as_utc(src.backoff_until)
        if current is None or current < until:
            src.backoff_until = until


def backoff_until(factory: sessionmaker[Session], source: str) -> tuple[datetime | None, int]:
    """(backoff time if still in the future, failures in a row) of a source."""
    with factory() as session:
        src = session.scalar(select(Source).where(Source.name == source))
        if src is None:
            return None, 0
        until = as_utc(src.backoff_until)
        return (until if until is not None and until > utcnow() else None), (src.consecutive_failures or 0)


def last_run_of(factory: sessionmaker[Session], source: str, pid: int,
                started_after: datetime) -> CrawlRun | None:
    """The newest run of `source` by process `pid` started after `started_after` (the
    scheduler's one log line per run), or None if that process ran none."""
    with factory() as session:
        return session.scalars(select(CrawlRun).where(
            CrawlRun.source == source, CrawlRun.pid == pid, CrawlRun.started_at >= started_after,
        ).order_by(CrawlRun.id.desc()).limit(1)).first()


def set_next_run(factory: sessionmaker[Session], source: str, when: datetime | None) -> None:
    """Record when the scheduler will run `source` next (shown by `defnews sources`)."""
    with factory.begin() as session:
        session.execute(update(Source).where(Source.name == source).values(next_run_at=when))
