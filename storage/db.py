"""Engine and sessions: one place that knows how to reach SQLite or PostgreSQL.

The schema is brought up to date on first use (alembic migrations shipped in the package),
so `defnews crawl` on a fresh machine needs no set-up step.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker


class DatabaseError(Exception):
    """The database cannot be used; the message names the URL (without password)."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes: everything stored is UTC, so attach it."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def dialect_insert(bind: Session | Connection) -> Callable[..., Any]:
    """The dialect's INSERT, which has ON CONFLICT DO NOTHING / DO UPDATE (SQLite and
    PostgreSQL spell it the same way)."""
    name = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def _normalise_url(url: str) -> str:
    # "postgresql://" means psycopg2 to SQLAlchemy; we ship psycopg 3.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def safe_url(url: str) -> str:
    try:
        return make_url(_normalise_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets its folder, WAL and a busy timeout for concurrent crawls."""
    url = _normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"database: not a database URL: {url!r} ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except Exception as exc:  # missing driver and the like
        raise DatabaseError(f"database {safe_url(url)}: {exc}") from None


def init_db(engine: Engine) -> None:
    """Create or migrate the schema to the current version."""
    from storage.migrate import upgrade

    from sqlalchemy.exc import DBAPIError, OperationalError

    where = engine.url.render_as_string(hide_password=True)
    try:
        upgrade(engine)
    except OperationalError as exc:
        raise DatabaseError(f"database {where} unreachable: {exc.orig}".strip()) from None
    except DBAPIError as exc:
        raise DatabaseError(f"database {where}: cannot create or migrate the schema: {exc.orig}".strip()) from None


def open_db(url: str) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(url)
    init_db(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)
