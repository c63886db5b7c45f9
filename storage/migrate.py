"""Schema creation and migration with alembic, run on first use of a database.

Migrations ship inside the package, so `pip install .` users get them; several crawlers
starting at once on a new database may race to create it, so a failed upgrade is retried
after the winner has finished (PostgreSQL also serialises upgrades with an advisory lock).
"""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_KEY = 0x64656600  # "def\0": PostgreSQL advisory lock id for schema upgrades


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine, attempts: int = 5) -> None:
    """Bring the schema to head; a no-op (one query) when it is already there."""
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
