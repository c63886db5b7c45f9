"""Learned boilerplate, the stored part: per-source counts of recurring lines.

Counts live in SQL so every worker learns from every stored story and the knowledge
survives restarts. The upsert adds to a count atomically (ON CONFLICT ... DO UPDATE), so
parallel workers never lose an increment, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from crawler.text.learned import DEFAULT_THRESHOLD, candidate_lines
from storage.models import BoilerplateLine


def _insert(session: Session) -> Callable[..., Any]:
    """The dialect's INSERT, which has ON CONFLICT (SQLite and PostgreSQL only)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return pg_insert
    if name == "sqlite":
        return sqlite_insert
    raise NotImplementedError(f"boilerplate counts need SQLite or PostgreSQL, not {name}")


def record_lines(session: Session, source: str, texts: Iterable[str], *,
                 threshold: int = DEFAULT_THRESHOLD) -> int:
    """Count each candidate line once per story text; returns how many rows were touched.

    Call with the cleaned text of *original* stories only: a duplicate is the same story
    again, and counting it would make its paragraphs look like boilerplate. The caller
    commits.
    """
    return record_candidates(session, source, (candidate_lines(t or "") for t in texts),
                             threshold=threshold)


def record_candidates(session: Session, source: str, stories: Iterable[dict[str, str]], *,
                      threshold: int = DEFAULT_THRESHOLD) -> int:
    """record_lines for stories whose candidates ({hash: line}) the worker already computed
    (crawler.text.learned.candidates_of): the main process only counts and upserts."""
    threshold = max(2, threshold)  # never a line that occurs once
    batch: dict[str, list] = {}
    for candidates in stories:
        for h, line in candidates.items():
            if h in batch:
                batch[h][1] += 1
            else:
                batch[h] = [line, 1]
    if not batch:
        return 0
    insert = _insert(session)
    table = BoilerplateLine.__table__
    rows = [{"source": source, "line_hash": h, "line": line, "count": n, "active": n >= threshold}
            for h, (line, n) in sorted(batch.items())]  # sorted: a stable lock order
    # One statement for every batch, executed with many parameter sets: compiled once and
    # cached, where a multi-VALUES literal of this batch's size was compiled afresh each time.
    stmt = insert(table)
    new_count = table.c.count + stmt.excluded.count
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.source, table.c.line_hash],
        set_={"count": new_count, "active": new_count >= threshold},
    )
    session.execute(stmt, rows)
    return len(rows)


def learned_lines(session: Session, source: str, *, threshold: int = DEFAULT_THRESHOLD) -> set[str]:
    """The lines of ``source`` seen in at least ``threshold`` (>= 2) distinct stories."""
    threshold = max(2, threshold)
    rows = session.execute(
        select(BoilerplateLine.line).where(
            BoilerplateLine.source == source, BoilerplateLine.count >= threshold
        )
    )
    return {r[0] for r in rows}


def learned_rules(factory: sessionmaker[Session], source: str, *,
                  threshold: int = DEFAULT_THRESHOLD) -> set[str]:
    """`learned_lines` in a session of its own: what a crawl of `source` starts with."""
    with factory() as session:
        return learned_lines(session, source, threshold=threshold)
