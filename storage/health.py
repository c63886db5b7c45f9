"""Source health for `defnews sources`: last run, status, last success, stories, failures
in a row, backoff and next run.

The next run comes from the scheduler's job store when `defnews schedule` has scheduled
the source (it is read straight from the table, so this works while the scheduler runs
in another process); a source held back by a backoff says until when. Sources crawled
from cron have no known next run, unless a backoff holds them back.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Protocol

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import as_utc, utcnow
from storage.holders import holder_is_dead
from storage.locks import holders
from storage.models import CrawlRun, Source, Story

FIELDS = ("name", "last_run", "status", "last_success", "stories", "failures_in_a_row", "next_run")

#: The scheduler's APScheduler job store table and job ids (scheduler.py writes them).
SCHEDULER_JOBS_TABLE = "defnews_scheduler_jobs"
JOB_PREFIX = "crawl:"


def job_id(source: str) -> str:
    return JOB_PREFIX + source


class ConfiguredSource(Protocol):
    """What health needs of a configured source (crawler.config.SourceConfig has it)."""

    name: str
    url: str
    schedule: str


def _iso(v: datetime | None) -> str | None:
    v = as_utc(v)
    return v.isoformat(timespec="seconds") if v else None


def scheduled_runs(session: Session) -> dict[str, datetime | None]:
    """Next run per source from the scheduler's job store (empty if never scheduled)."""
    bind = session.get_bind()
    if not inspect(bind).has_table(SCHEDULER_JOBS_TABLE):
        return {}
    rows = session.execute(text(f"SELECT id, next_run_time FROM {SCHEDULER_JOBS_TABLE}")).all()
    out: dict[str, datetime | None] = {}
    for jid, ts in rows:
        if jid.startswith(JOB_PREFIX):
            out[jid[len(JOB_PREFIX):]] = datetime.fromtimestamp(ts, tz=timezone.utc) if ts is not None else None
    return out


def last_run_costs(session: Session) -> dict[str, tuple[int | None, float | None]]:
    """(requests, CPU seconds) of each source's newest finished run."""
    newest = (select(func.max(CrawlRun.id)).where(CrawlRun.ended_at.is_not(None))
              .group_by(CrawlRun.source).scalar_subquery())
    rows = session.execute(select(CrawlRun.source, CrawlRun.requests, CrawlRun.cpu_s)
                           .where(CrawlRun.id.in_(newest)))
    return {source: (requests, cpu) for source, requests, cpu in rows}


def source_health(factory: sessionmaker[Session], sources: Iterable[ConfiguredSource]) -> list[dict]:
    """One row per configured source, in config order (stored state joined to config)."""
    now = utcnow()
    with factory() as session:
        by_name = {s.name: s for s in session.scalars(select(Source))}
        counts = dict(session.execute(select(Story.source, func.count()).group_by(Story.source)).all())
        scheduled = scheduled_runs(session)
        costs = last_run_costs(session)
        last_ids = select(func.max(CrawlRun.id)).group_by(CrawlRun.source)
        last_runs = {r.source: r for r in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(last_ids)))}
    running = {name for name, lk in holders(factory).items()
               if lk.expires_at > now and not holder_is_dead(lk.holder)}
    rows = []
    for sc in sources:
        s = by_name.get(sc.name)
        backoff = as_utc(s.backoff_until) if s else None
        if backoff is not None and backoff <= now:
            backoff = None
        next_run = scheduled[sc.name] if sc.name in scheduled else (as_utc(s.next_run_at) if s else None)
        if backoff is not None and (next_run is None or next_run < backoff):
            next_run = backoff
        status = (s.last_status if s else None) or "never run"
        if sc.name in running:
            status = f"running (last: {status})" if s and s.last_status else "running"
        elif backoff is not None:
            status = f"{status}, backing off"
        rows.append({
            "name": sc.name,
            "url": sc.url,
            "schedule": sc.schedule,
            "last_run": _iso(s.last_run_at) if s else None,
            "status": status,
            "last_success": _iso(s.last_success_at) if s else None,
            "stories": counts.get(sc.name, 0),
            "failures_in_a_row": (s.consecutive_failures if s else 0) or 0,
            "next_run": _iso(next_run),
            "backoff_until": _iso(backoff),
            "last_error": s.last_error if s else None,
            # The latest run, whose counts are every worker's when several shared it.
            "last_run_fetched": last_runs[sc.name].pages if sc.name in last_runs else None,
            "last_run_new": last_runs[sc.name].new if sc.name in last_runs else None,
            "last_run_workers": (last_runs[sc.name].workers or 1) if sc.name in last_runs else None,
            # What the last finished run cost: an operator sees what each source costs.
            "last_run_requests": costs.get(sc.name, (None, None))[0],
            "last_run_cpu_s": costs.get(sc.name, (None, None))[1],
        })
    return rows


def scheduler_job_store(engine: Engine) -> SQLAlchemyJobStore:
    """APScheduler's job store in the project database, so next-run times survive restarts
    and `defnews sources` can read them while the scheduler runs in another process."""
    return SQLAlchemyJobStore(engine=engine, tablename=SCHEDULER_JOBS_TABLE)
