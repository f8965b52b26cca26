"""the exchange's releases, submissions and feedback; the grading queue

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-30 07:54:45.711245
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
        "exchange_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course", sa.String(length=64), nullable=False),
        sa.Column("assignment", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=255), nullable=False),
        sa.Column("notebooks", sa.JSON(), nullable=False),
        sa.Column("directory", sa.String(length=512), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_releases")),
        sa.UniqueConstraint(
            "course", "assignment", "version", name=op.f("uq_exchange_releases_course_assignment_version")
        ),
    )
    with op.batch_alter_table("exchange_releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_releases_course"), ["course"], unique=False)

    op.create_table(
        "exchange_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course", sa.String(length=64), nullable=False),
        sa.Column("assignment", sa.String(length=128), nullable=False),
        sa.Column("student", sa.String(length=255), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timestamp", sa.String(length=64), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("directory", sa.String(length=512), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["exchange_releases.id"],
            name=op.f("fk_exchange_submissions_release_id_exchange_releases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_submissions")),
        sa.UniqueConstraint(
            "course",
            "assignment",
            "student",
            "timestamp",
            name=op.f("uq_exchange_submissions_course_assignment_student_timestamp"),
        ),
    )
    with op.batch_alter_table("exchange_submissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_submissions_assignment"), ["assignment"], unique=False)
        batch_op.create_index(batch_op.f("ix_exchange_submissions_course"), ["course"], unique=False)
        batch_op.create_index(batch_op.f("ix_exchange_submissions_student"), ["student"], unique=False)

    op.create_table(
        "exchange_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("notebook", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["exchange_submissions.id"],
            name=op.f("fk_exchange_feedback_submission_id_exchange_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_feedback")),
        sa.UniqueConstraint(
            "submission_id", "notebook", name=op.f("uq_exchange_feedback_submission_id_notebook")
        ),
    )
    with op.batch_alter_table("exchange_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exchange_feedback_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "grading_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("course", sa.String(length=64), nullable=False),
        sa.Column("assignment", sa.String(length=128), nullable=False),
        sa.Column("student", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=True),
        sa.Column("environment", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["exchange_submissions.id"],
            name=op.f("fk_grading_jobs_submission_id_exchange_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grading_jobs")),
        sa.UniqueConstraint(
            "submission_id", "generation", name=op.f("uq_grading_jobs_submission_id_generation")
        ),
    )
    with op.batch_alter_table("grading_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_grading_jobs_learner", ["course", "assignment", "student"], unique=False)
        batch_op.create_index("ix_grading_jobs_state_id", ["state", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grading_jobs_submission_id"), ["submission_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grading_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grading_jobs_submission_id"))
        batch_op.drop_index("ix_grading_jobs_state_id")
        batch_op.drop_index("ix_grading_jobs_learner")

    op.drop_table("grading_jobs")
    with op.batch_alter_table("exchange_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_feedback_submission_id"))

    op.drop_table("exchange_feedback")
    with op.batch_alter_table("exchange_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_submissions_student"))
        batch_op.drop_index(batch_op.f("ix_exchange_submissions_course"))
        batch_op.drop_index(batch_op.f("ix_exchange_submissions_assignment"))

    op.drop_table("exchange_submissions")
    with op.batch_alter_table("exchange_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_releases_course"))

    op.drop_table("exchange_releases")
