"""exam attempts, saved answers and the audit log

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-30 11:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exam_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exam", sa.String(length=64), nullable=False),
        sa.Column("candidate", sa.String(length=255), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.String(length=32), nullable=False),
        sa.Column("scaled", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("void_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_attempts")),
    )
    op.create_index("ix_exam_attempts_exam", "exam_attempts", ["exam"])
    op.create_index("ix_exam_attempts_candidate", "exam_attempts", ["candidate"])
    op.create_index("uq_exam_attempts_one_active", "exam_attempts", ["exam", "candidate"],
                    unique=True, sqlite_where=sa.text("state = 'active'"),
                    postgresql_where=sa.text("state = 'active'"))
    op.create_table(
        "exam_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=128), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["exam_attempts.id"],
                                name=op.f("fk_exam_answers_attempt_id_exam_attempts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_answers")),
    )
    op.create_index("ix_exam_answers_attempt_id", "exam_answers", ["attempt_id"])
    op.create_index("uq_exam_answers_attempt_item", "exam_answers", ["attempt_id", "item"],
                    unique=True)
    op.create_table(
        "exam_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["exam_attempts.id"],
                                name=op.f("fk_exam_events_attempt_id_exam_attempts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_events")),
    )
    op.create_index("ix_exam_events_attempt_id", "exam_events", ["attempt_id"])


def downgrade() -> None:
    op.drop_table("exam_events")
    op.drop_table("exam_answers")
    op.drop_table("exam_attempts")
