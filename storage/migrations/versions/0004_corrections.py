"""corrections: validators, page hash, updated_at and revision on stories

Revision ID: 0004_corrections
Revises: 0001
Create Date: 2026-11-30 11:30:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0004_corrections'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot ALTER a table much; alembic copies it when it must.
    with op.batch_alter_table('stories') as batch:
        batch.add_column(sa.Column('etag', sa.Text(), nullable=True))
        batch.add_column(sa.Column('last_modified', sa.Text(), nullable=True))
        batch.add_column(sa.Column('page_hash', sa.String(length=64), server_default='', nullable=False))
        batch.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('stories') as batch:
        batch.drop_column('revision')
        batch.drop_column('updated_at')
        batch.drop_column('page_hash')
        batch.drop_column('last_modified')
        batch.drop_column('etag')
