"""crawl_runs: requests and CPU of each run; index for retention

Revision ID: 0005_idle
Revises: 0003_search
Create Date: 2026-11-30 11:30:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0005_idle'
down_revision = '0003_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('crawl_runs') as batch:
        batch.add_column(sa.Column('requests', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('cpu_s', sa.Float(), nullable=True))
    op.create_index('ix_crawl_runs_source_started', 'crawl_runs', ['source', 'started_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_crawl_runs_source_started', table_name='crawl_runs')
    with op.batch_alter_table('crawl_runs') as batch:
        batch.drop_column('cpu_s')
        batch.drop_column('requests')
