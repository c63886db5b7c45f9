"""Crawl-run records and source health, written at the start and end of each run."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import utcnow
from storage.models import CrawlRun, Source


@dataclass
class RunCounts:
    pages: int = 0
    new: int = 0
    duplicates: int = 0
    exists: int = 0
    rejected: int = 0
    failed: int = 0
    empty: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def ensure_source(session: Session, name: str, url: str) -> Source:
    src = session.scalar(select(Source).where(Source.name == name))
    if src is None:
        src = Source(name=name, url=url, created_at=utcnow(), consecutive_failures=0)
        session.add(src)
        session.flush()
    elif src.url != url:
        src.url = url
    return src


def start_run(factory: sessionmaker[Session], source: str, url: str) -> int:
    with factory.begin() as session:
        ensure_source(session, source, url)
        run = CrawlRun(source=source, started_at=utcnow(), status="running", pid=os.getpid(),
                       host=socket.gethostname())
        session.add(run)
        session.flush()
        return run.id


def finish_run(factory: sessionmaker[Session], run_id: int, status: str, counts: RunCounts) -> None:
    """Close the run record and update the source's health in one transaction."""
    now = utcnow()
    with factory.begin() as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            return
        run.ended_at = now
        run.status = status
        run.pages = counts.pages
        run.new = counts.new
        run.duplicates = counts.duplicates
        run.rejected = counts.rejected
        run.failed = counts.failed
        run.error = "\n".join(counts.errors)[:10000] or None
        src = session.scalar(select(Source).where(Source.name == run.source))
        if src is not None:
            src.last_run_at = now
            src.last_status = status
            if status == "failed":
                src.consecutive_failures = (src.consecutive_failures or 0) + 1
                src.last_error = run.error
            else:
                src.consecutive_failures = 0
                src.last_success_at = now
                src.last_error = None
