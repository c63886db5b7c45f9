"""crawl_runs.workers: how many workers shared a run (Redis frontier)

Revision ID: 0007_workers
Revises: 0004_corrections
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0007_workers'
down_revision = '0004_corrections'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('crawl_runs') as batch:
        batch.add_column(sa.Column('workers', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('crawl_runs') as batch:
        batch.drop_column('workers')
