"""full-text search: folded search columns, SQLite FTS5 / PostgreSQL tsvector, river indexes

Revision ID: 0003_search
Revises: 0002_rejections
Create Date: 2026-11-30 11:20:00

Existing stories get their folded columns here (in batches, so a big database does not
need its whole text in memory), then the indexes are built over them (storage/search.py).
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

from storage.search import (POSTGRESQL_DDL, RIVER_DDL_POSTGRESQL, RIVER_DDL_SQLITE, SQLITE_DDL,
                            search_columns)

revision = '0003_search'
down_revision = '0002_rejections'
branch_labels = None
depends_on = None

BATCH = 1000


def _backfill(conn) -> None:
    stories = sa.table("stories", sa.column("id"), sa.column("title"), sa.column("text"),
                       sa.column("search_title"), sa.column("search_body"))
    last = 0
    while True:
        rows = conn.execute(sa.select(stories.c.id, stories.c.title, stories.c.text)
                            .where(stories.c.id > last).order_by(stories.c.id).limit(BATCH)).all()
        if not rows:
            return
        conn.execute(stories.update().where(stories.c.id == sa.bindparam("sid"))
                     .values(search_title=sa.bindparam("st"), search_body=sa.bindparam("sb")),
                     [{"sid": r.id, **dict(zip(("st", "sb"), search_columns(r.title, r.text).values()))}
                      for r in rows])
        last = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_title', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('search_body', sa.Text(), server_default='', nullable=False))
    conn = op.get_bind()
    _backfill(conn)
    sqlite = conn.dialect.name == "sqlite"
    ddl = (*SQLITE_DDL, *RIVER_DDL_SQLITE) if sqlite else (*POSTGRESQL_DDL, *RIVER_DDL_POSTGRESQL)
    for statement in ddl:
        conn.execute(sa.text(statement))


def downgrade() -> None:
    conn = op.get_bind()
    op.execute("DROP INDEX IF EXISTS ix_stories_river")
    op.execute("DROP INDEX IF EXISTS ix_stories_source_river")
    op.execute("DROP INDEX IF EXISTS ix_stories_keys")
    if conn.dialect.name == "sqlite":
        for trigger in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS stories_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS stories_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_stories_search_tsv")
        op.execute("ALTER TABLE stories DROP COLUMN IF EXISTS search_tsv")
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.drop_column('search_body')
        batch_op.drop_column('search_title')
