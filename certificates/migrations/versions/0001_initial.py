"""Create the credentials, status lists, status events, audit log and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 23:00:49
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Kept here, not imported from the models, so this revision never changes.
SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
POSTGRESQL_TRIGGERS = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)
POSTGRESQL_TRIGGERS_DROP = (
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_append_only()",
)
SQLITE_TRIGGERS_DROP = (
    "DROP TRIGGER IF EXISTS audit_log_no_update",
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("credential_id", sa.String(length=45), nullable=True),
        sa.Column("reason_category", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_log_prev_hash")),
    )
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"])
    op.create_index(op.f("ix_audit_log_credential_id"), "audit_log", ["credential_id"])

    op.create_table(
        "credentials",
        sa.Column("serial", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=45), nullable=False),
        sa.Column("learner_hash", sa.String(length=100), nullable=False),
        sa.Column("learner", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("achievement_id", sa.String(length=100), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("issued_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("token", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_credentials")),
        sa.UniqueConstraint("id", name=op.f("uq_credentials_id")),
        sa.UniqueConstraint("source", name=op.f("uq_credentials_source")),
        sa.UniqueConstraint("status_index", name=op.f("uq_credentials_status_index")),
    )
    op.create_index(op.f("ix_credentials_achievement_id"), "credentials", ["achievement_id"])
    op.create_index("ix_credentials_achievement_issued", "credentials",
                    ["achievement_id", "issued_at"])
    op.create_index(op.f("ix_credentials_learner"), "credentials", ["learner"])
    op.create_index(op.f("ix_credentials_learner_hash"), "credentials", ["learner_hash"])

    op.create_table(
        "status_lists",
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("bits", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("purpose", name=op.f("pk_status_lists")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("credential_serial", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["credential_serial"], ["credentials.serial"],
                                name=op.f("fk_idempotency_keys_credential_serial_credentials")),
        sa.PrimaryKeyConstraint("client", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "status_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("credential_serial", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("reason_category", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["credential_serial"], ["credentials.serial"],
                                name=op.f("fk_status_events_credential_serial_credentials")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_events")),
    )
    op.create_index(op.f("ix_status_events_credential_serial"), "status_events",
                    ["credential_serial"])

    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(
            dialect, ()):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_TRIGGERS_DROP,
                      "postgresql": POSTGRESQL_TRIGGERS_DROP}.get(dialect, ()):
        op.execute(statement)
    op.drop_index(op.f("ix_status_events_credential_serial"), table_name="status_events")
    op.drop_table("status_events")
    op.drop_table("idempotency_keys")
    op.drop_table("status_lists")
    op.drop_index(op.f("ix_credentials_learner_hash"), table_name="credentials")
    op.drop_index(op.f("ix_credentials_learner"), table_name="credentials")
    op.drop_index("ix_credentials_achievement_issued", table_name="credentials")
    op.drop_index(op.f("ix_credentials_achievement_id"), table_name="credentials")
    op.drop_table("credentials")
    op.drop_index(op.f("ix_audit_log_credential_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_action"), table_name="audit_log")
    op.drop_table("audit_log")
