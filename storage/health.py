"""Source health for `defnews sources`: last run, status, last success, stories, failures."""

from __future__ import annotations

from typing import IO

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.config import Config
from storage.db import as_utc
from storage.models import Source, Story

FIELDS = ("name", "last_run", "status", "last_success", "stories", "failures_in_a_row", "next_run")


def _iso(v) -> str | None:  # noqa: ANN001
    v = as_utc(v)
    return v.isoformat() if v else None


def source_health(factory: sessionmaker[Session], cfg: Config) -> list[dict]:
    with factory() as session:
        by_name = {s.name: s for s in session.scalars(select(Source))}
        counts = dict(session.execute(select(Story.source, func.count()).group_by(Story.source)).all())
    rows = []
    for sc in cfg.sources:
        s = by_name.get(sc.name)
        rows.append({
            "name": sc.name,
            "url": sc.url,
            "last_run": _iso(s.last_run_at) if s else None,
            "status": (s.last_status if s else None) or "never run",
            "last_success": _iso(s.last_success_at) if s else None,
            "stories": counts.get(sc.name, 0),
            "failures_in_a_row": (s.consecutive_failures if s else 0) or 0,
            "next_run": _iso(s.next_run_at) if s else None,
            "last_error": s.last_error if s else None,
        })
    return rows


def print_health(rows: list[dict], out: IO[str]) -> None:
    table = Table(title="defnews sources", title_justify="left")
    for f in FIELDS:
        table.add_column(f)
    for r in rows:
        table.add_row(*("" if r[f] is None else str(r[f]) for f in FIELDS))
    Console(file=out, width=160, highlight=False).print(table)
