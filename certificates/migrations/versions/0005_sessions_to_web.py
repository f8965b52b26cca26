"""Drop the browser-session tables: the web service keeps sessions in its own database.

Sessions are short-lived (hours), so none are carried over: a browser signed in
before the upgrade signs in again through the hub.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f("ix_service_sessions_expires_at"), table_name="service_sessions")
    op.drop_table("service_sessions")
    op.drop_table("ended_sessions")


def downgrade() -> None:
    op.create_table(
        "ended_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_ended_sessions")),
    )
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
