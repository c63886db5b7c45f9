"""Streaming export of stories to CSV (RFC 4180) or JSONL with the contract's columns.

Rows are read with a server-side cursor in chunks and written as they come, so memory
stays flat however many stories the database holds.

Speed: on SQLite, dates are stored as "YYYY-MM-DD HH:MM:SS.ffffff" text in UTC; they are
read as text and rewritten to ISO-8601 with string operations instead of being parsed
into datetime objects and formatted again (which was most of an export's CPU).
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from typing import IO, Iterable, Iterator

from sqlalchemy import Select, String, and_, or_, select, type_coerce
from sqlalchemy.orm import Session

from storage.db import as_utc
from storage.models import Story

# The contract's columns, then ours: updated_at is when a correction of the story was
# last stored (storage/corrections.py), empty for a story never corrected.
COLUMNS = ["id", "source", "url", "title", "published_at", "author", "language", "text",
           "duplicate_of", "fetched_at", "updated_at"]
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


_DATES = ("published_at", "fetched_at", "updated_at")


def sqlite_iso(value: str | None) -> str:
    """SQLite's stored UTC text -> what ``iso`` prints for the same datetime.

    "2023-09-05 10:00:00.000000" -> "2023-09-05T10:00:00+00:00" (microseconds kept
    when not zero, as datetime.isoformat does). Anything else is parsed the slow way.
    """
    if not value:
        return ""
    if len(value) == 26 and value[10] == " " and value[19] == ".":
        frac = value[19:]
        return f"{value[:10]}T{value[11:19]}{'' if frac == '.000000' else frac}+00:00"
    try:
        return iso(datetime.fromisoformat(value))
    except ValueError:
        return value


def iter_rows(session: Session, query: Select) -> Iterator[dict]:
    """Rows of ``query`` (from story_query) as dicts with ISO-8601 dates, streamed."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:  # dates as stored text: see the module docstring
        cols = [type_coerce(getattr(Story, c), String).label(c) if c in _DATES else getattr(Story, c)
                for c in COLUMNS]
        query = query.with_only_columns(*cols, maintain_column_froms=True)
    result = session.execute(query.execution_options(yield_per=CHUNK, stream_results=True))
    convert = sqlite_iso if sqlite else iso
    dates = [(c, COLUMNS.index(c)) for c in _DATES]
    for row in result.tuples():
        d = dict(zip(COLUMNS, row))
        for name, i in dates:
            d[name] = convert(row[i])
        yield d


def neutralise_formula(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas (CSV injection)."""
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(rows: Iterable[dict], out: IO[str], *, excel: bool = False,
              columns: list[str] = COLUMNS) -> int:
    if excel:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    n = 0
    if excel:
        for row in rows:
            writer.writerow([neutralise_formula("" if row.get(c) is None else str(row[c])) for c in columns])
            n += 1
        return n
    # csv writes None as "" and numbers with str(): the cells need no conversion here.
    # Rows from elsewhere than iter_rows may lack the columns after the contract's.
    for row in rows:
        writer.writerow([row.get(c) for c in columns])
        n += 1
    return n


def write_jsonl(rows: Iterable[dict], out: IO[str]) -> int:
    n = 0
    for row in rows:
        if len(row) != len(COLUMNS):  # not from iter_rows: every column, in order
            row = {c: row.get(c) for c in COLUMNS}
        out.write(json.dumps(row, ensure_ascii=False))
        out.write("\n")
        n += 1
    return n
