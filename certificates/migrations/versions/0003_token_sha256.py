"""Record each issued token's SHA-256, so verification can ask whether this issuer issued it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 03:50:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("token_sha256", sa.String(length=64), nullable=True))
    # Credentials issued before this revision get their record from the stored token.
    credentials = sa.table("credentials", sa.column("serial", sa.Integer()),
                           sa.column("token", sa.Text()),
                           sa.column("token_sha256", sa.String(length=64)))
    connection = op.get_bind()
    rows = connection.execute(sa.select(credentials.c.serial, credentials.c.token)
                              .where(credentials.c.token.is_not(None))).all()
    for serial, token in rows:
        connection.execute(credentials.update().where(credentials.c.serial == serial).values(
            token_sha256=hashlib.sha256(token.encode("utf-8")).hexdigest()))
    # A unique index rather than a constraint: SQLite adds it without copying the table.
    op.create_index(op.f("ix_credentials_token_sha256"), "credentials", ["token_sha256"],
                    unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_credentials_token_sha256"), table_name="credentials")
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("token_sha256")
