"""Schema creation and migration with alembic, run on first use of a database.

Migrations ship inside the package, so `pip install .` users get them; several crawlers
starting at once on a new database may race to create it, so a failed upgrade is retried
after the winner has finished (PostgreSQL also serialises upgrades with an advisory lock).

A database already at the newest revision is recognised with one plain query, without
importing alembic (and mako): every crawl and scheduled run opens the database, most of
them an up-to-date one, and alembic is 8 MiB and ~0.1 s of imports in each.
"""

from __future__ import annotations

import time
from pathlib import Path

from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_KEY = 0x64656600  # "def\0": PostgreSQL advisory lock id for schema upgrades
#: The newest migration in migrations/versions (tests/test_migrations.py checks that it is
#: alembic's head: a new migration must move it).
HEAD_REVISION = "0005_idle"


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def stored_revision(engine: Engine) -> str | None:
    """The revision recorded in the database, read with plain SQL; None when there is none
    yet (a new database) or it cannot be read (the full path below says why)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return None
    return rows[0][0] if len(rows) == 1 else None


def upgrade(engine: Engine, attempts: int = 5) -> None:
    """Bring the schema to head; a no-op (one query, no alembic import) when it is already
    there."""
    if stored_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    head = head_revision()
    for attempt in range(attempts):
        try:
            if current_revision(engine) == head:
                return
            cfg = alembic_config()
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            return
        except DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))  # another process was creating the schema
