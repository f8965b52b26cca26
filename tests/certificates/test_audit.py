"""The hash-chained audit log detects every change, removal and reordering."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from certificates import audit, db
from certificates.errors import AuditChainBroken
from certificates.models import AuditRecord
from tests.certificates.conftest import BOTH_DATABASES


def _append(engine, n: int) -> None:
    for i in range(n):
        with db.write_session(engine) as session:
            audit.append(session, actor="ada", action="issue", reason=f"record {i}",
                         credential_id=f"urn:uuid:{i}", details={"n": i, "名前": "量子"})


def _tamper(engine, statement: str, parameters: tuple = ()) -> None:
    """Change the log as an attacker with database access would: triggers dropped first."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        else:
            connection.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        connection.exec_driver_sql(statement, parameters)


@pytest.fixture
def engine(database_url):
    """Return an engine on the test database."""
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@BOTH_DATABASES
def test_chain_of_appended_records_verifies(engine):
    """Records appended one after another form a chain that verifies."""
    _append(engine, 5)
    with db.write_session(engine) as session:
        report = audit.verify_chain(session)
        last = session.scalar(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1))
    assert report.records == 5
    assert report.head == last.hash


def test_first_record_follows_the_genesis_hash(engine):
    """The first record's prev_hash is 64 zeros and its hash covers its canonical JSON."""
    _append(engine, 1)
    with db.write_session(engine) as session:
        record = session.scalar(select(AuditRecord))
        expected = hashlib.sha256(f"{audit.GENESIS}\n{audit.canonical(record)}".encode())
    assert record.prev_hash == audit.GENESIS
    assert record.hash == expected.hexdigest()
    assert json.loads(audit.canonical(record))["details"] == {"n": 0, "名前": "量子"}


@BOTH_DATABASES
@pytest.mark.parametrize(("statement", "message"), [
    ("UPDATE audit_log SET reason = 'quietly changed' WHERE seq = 3", "record 3 was altered"),
    ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", "record 2 was altered"),
    ("UPDATE audit_log SET details = '{\"n\":99}' WHERE seq = 4", "record 4 was altered"),
    ("DELETE FROM audit_log WHERE seq = 3", "record 3 is missing"),
    ("DELETE FROM audit_log WHERE seq = 1", "record 1 is missing"),
])
def test_tampering_is_detected(engine, statement, message):
    """Changing or deleting any record breaks the chain at that record."""
    _append(engine, 5)
    _tamper(engine, statement)
    with db.write_session(engine) as session, pytest.raises(AuditChainBroken, match=message):
        audit.verify_chain(session)


def test_rehashing_one_record_still_breaks_the_next(engine):
    """An attacker who recomputes a changed record's hash is caught by the next record."""
    _append(engine, 3)
    with db.write_session(engine) as session:
        record = session.get(AuditRecord, 2)
        session.expunge(record)
    record.reason = "rewritten"
    forged = audit.record_hash(record.prev_hash, record)
    _tamper(engine, "UPDATE audit_log SET reason = 'rewritten', hash = ? WHERE seq = 2", (forged,))
    with db.write_session(engine) as session, pytest.raises(
            AuditChainBroken, match="record 3 does not follow"):
        audit.verify_chain(session)


def test_unknown_action_is_refused(engine):
    """Only issue, revoke, suspend and reinstate can be recorded."""
    with db.write_session(engine) as session, pytest.raises(ValueError, match="Unknown audit"):
        audit.append(session, actor="ada", action="delete", reason="x")


@BOTH_DATABASES
def test_concurrent_appends_never_fork_the_chain(engine):
    """Eight writers appending at once leave one linear chain."""
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            _append(engine, 5)
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.write_session(engine) as session:
        assert audit.verify_chain(session).records == 40


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=200)
_DETAILS = st.dictionaries(_TEXT, st.none() | st.booleans() | st.integers() | _TEXT, max_size=5)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actor=_TEXT, reason=_TEXT, details=_DETAILS)
def test_any_text_round_trips_through_the_chain(engine, actor, reason, details):
    """Whatever Unicode a record holds, the stored record re-hashes to its stored hash."""
    with db.write_session(engine) as session:
        written = audit.append(session, actor=actor, action="revoke", reason=reason,
                               details=details)
        seq, stored_hash = written.seq, written.hash
    with db.write_session(engine) as session:
        record = session.get(AuditRecord, seq)
        assert (record.actor, record.reason) == (actor, reason)
        assert audit.record_hash(record.prev_hash, record) == stored_hash
        assert audit.verify_chain(session).head == stored_hash
