"""Schema creation and migration (alembic), run on first use of a database."""

from __future__ import annotations

from sqlalchemy import Engine

from storage.models import Base


def upgrade(engine: Engine) -> None:
    Base.metadata.create_all(engine)
