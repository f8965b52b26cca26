"""The certificates database: SQLite settings, append-only audit log on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from certificates import audit, db
from certificates.models import AuditRecord
from tests.certificates.conftest import BOTH_DATABASES


def test_sqlite_runs_in_wal_with_full_sync_and_busy_timeout(database_url):
    """A SQLite connection uses WAL, synchronous=FULL, a busy timeout and foreign keys."""
    engine = db.make_engine(database_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.BUSY_TIMEOUT_MS
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_write_transactions_begin_immediate(database_url):
    """A write session holds SQLite's write lock from its first statement."""
    engine = db.make_engine(database_url)
    other = db.make_engine(database_url, connect_args={"timeout": 0})
    with db.write_session(engine) as session:
        session.execute(text("SELECT 1"))
        with other.connect() as connection:
            connection.exec_driver_sql("PRAGMA busy_timeout = 0")
            with pytest.raises(DatabaseError, match="locked"):
                connection.exec_driver_sql("BEGIN IMMEDIATE")
    engine.dispose()
    other.dispose()


@BOTH_DATABASES
@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET reason = 'nothing happened'",
    "DELETE FROM audit_log",
])
def test_database_refuses_changing_the_audit_log(database_url, statement):
    """UPDATE and DELETE on the audit log fail in the database itself."""
    engine = db.make_engine(database_url)
    with db.write_session(engine) as session:
        audit.append(session, actor="ada", action="issue", reason="passed")
    with pytest.raises(DatabaseError, match="append-only"), db.write_session(engine) as session:
        session.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT reason FROM audit_log")).scalars().all() == [
            "passed"]
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_refuses_truncating_the_audit_log(database_url):
    """TRUNCATE of the audit log fails on PostgreSQL."""
    engine = db.make_engine(database_url)
    with db.write_session(engine) as session:
        audit.append(session, actor="ada", action="issue", reason="passed")
    with pytest.raises(DatabaseError, match="append-only"), db.write_session(engine) as session:
        session.execute(text("TRUNCATE audit_log"))
    with db.write_session(engine) as session:
        assert len(session.scalars(select(AuditRecord)).all()) == 1
    engine.dispose()
