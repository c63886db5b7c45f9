"""rejections: what the relevance filter rejected (source, url, title, score, time)

Revision ID: 0002_rejections
Revises: 0006_robots

Feed GUIDs of rejected stories used to be remembered in feed_entries (no story, no score)
and were never fetched again. They stay, but now only a rejection recorded here, with its
score, keeps an entry from being fetched: the old ones are fetched once more and judged by
the current filter, and lowering a source's threshold brings a rejected story back.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002_rejections'
down_revision = '0006_robots'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rejections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('link', sa.Text(), nullable=False),
    sa.Column('guid', sa.Text(), nullable=True),
    sa.Column('entry', sa.String(length=64), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('vocabulary', sa.String(length=64), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'url', name='uq_rejections_source_url')
    )
    with op.batch_alter_table('rejections', schema=None) as batch_op:
        batch_op.create_index('ix_rejections_source_link', ['source', 'link'], unique=False)
        batch_op.create_index('ix_rejections_source_guid', ['source', 'guid'], unique=False)
        batch_op.create_index(batch_op.f('ix_rejections_rejected_at'), ['rejected_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rejections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rejections_rejected_at'))
        batch_op.drop_index('ix_rejections_source_guid')
        batch_op.drop_index('ix_rejections_source_link')
    op.drop_table('rejections')
