"""Streaming export of stories to CSV (RFC 4180) or JSONL with the contract's columns.

Rows are read with a server-side cursor in chunks and written as they come, so memory
stays flat however many stories the database holds.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from typing import IO, Iterable, Iterator

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from storage.db import as_utc
from storage.models import Story

COLUMNS = ["id", "source", "url", "title", "published_at", "author", "language", "text",
           "duplicate_of", "fetched_at"]
CHUNK = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def iso(value: datetime | None) -> str:
    v = as_utc(value)
    return v.isoformat() if v else ""


def story_query(*, since: datetime | None = None, until: datetime | None = None,
                sources: Iterable[str] = (), include_duplicates: bool = False) -> Select:
    """Stories in id order; --since/--until on published_at, else fetched_at."""
    cols = [getattr(Story, c) for c in COLUMNS]
    q = select(*cols).order_by(Story.id)
    if since is not None:
        q = q.where(or_(Story.published_at >= since,
                        and_(Story.published_at.is_(None), Story.fetched_at >= since)))
    if until is not None:
        q = q.where(or_(Story.published_at <= until,
                        and_(Story.published_at.is_(None), Story.fetched_at <= until)))
    names = list(sources)
    if names:
        q = q.where(Story.source.in_(names))
    if not include_duplicates:
        q = q.where(Story.duplicate_of.is_(None))
    return q


def iter_rows(session: Session, query: Select) -> Iterator[dict]:
    result = session.execute(query.execution_options(yield_per=CHUNK, stream_results=True))
    for row in result:
        d = dict(zip(COLUMNS, row))
        d["published_at"] = iso(d["published_at"])
        d["fetched_at"] = iso(d["fetched_at"])
        yield d


def neutralise_formula(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas (CSV injection)."""
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(rows: Iterable[dict], out: IO[str], *, excel: bool = False) -> int:
    if excel:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    n = 0
    for row in rows:
        cells = ["" if row[c] is None else str(row[c]) for c in COLUMNS]
        if excel:
            cells = [neutralise_formula(c) for c in cells]
        writer.writerow(cells)
        n += 1
    return n


def write_jsonl(rows: Iterable[dict], out: IO[str]) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False))
        out.write("\n")
        n += 1
    return n
