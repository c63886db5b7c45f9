"""The shipped migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.db import open_db
from storage.migrate import current_revision, head_revision
from storage.models import Base
from storage.search import include_name


def _diff(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}),
                                Base.metadata)


def test_migrations_match_models_on_sqlite(tmp_path):
    engine, _ = open_db(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        assert current_revision(engine) == head_revision()
        assert _diff(engine) == [], "a model changed without a migration (storage/migrations/versions)"
    finally:
        engine.dispose()


def test_migrations_match_models_on_postgresql(pg_schema_url):
    engine, _ = open_db(pg_schema_url)
    try:
        assert current_revision(engine) == head_revision()
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_second_open_is_a_no_op(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    open_db(url)[0].dispose()
    engine, factory = open_db(url)
    engine.dispose()
