"""Keep browser sessions server-side: the cookie carries only a random id.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_service_sessions")),
    )
    op.create_index(op.f("ix_service_sessions_expires_at"), "service_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_service_sessions_expires_at"), table_name="service_sessions")
    op.drop_table("service_sessions")
