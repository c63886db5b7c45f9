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


def test_the_head_constant_is_alembics_head():
    from storage.migrate import HEAD_REVISION

    assert HEAD_REVISION == head_revision(), "a migration was added: move storage.migrate.HEAD_REVISION to it"


def test_an_up_to_date_database_opens_without_alembic(tmp_path):
    """Every crawl opens its database; at head, that is one query and no alembic import."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'm.db'}"
    open_db(url)[0].dispose()  # created and migrated (alembic runs here)
    code = ("import sys; from storage.db import open_db; e, _ = open_db(sys.argv[1]); e.dispose(); "
            "print(sorted(m for m in ('alembic', 'mako') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # a database behind head still gets its migrations
    from alembic import command

    from storage.db import make_engine
    from storage.migrate import alembic_config

    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(old_url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003_search")
    assert current_revision(engine) == "0003_search"
    engine.dispose()
    engine, _ = open_db(old_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
