"""robots.txt kept per host across runs (RFC 9309 section 2.4 caching).

Revision ID: 0006_robots
Revises: 0007_workers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_robots"
down_revision = "0007_workers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "robots_txt",
        sa.Column("netloc", sa.String(length=300), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("netloc"),
    )
    op.create_index("ix_robots_txt_expires_at", "robots_txt", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_robots_txt_expires_at", table_name="robots_txt")
    op.drop_table("robots_txt")
