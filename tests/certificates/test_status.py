"""Revoking, suspending, reinstating and publishing the status lists."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from certificates import issuance, status
from certificates.db import write_session
from certificates.errors import CredentialNotFound, IssuanceError
from certificates.models import AuditRecord, StatusEvent, StatusList
from tests.certificates.conftest import BOTH_DATABASES
from tests.certificates.test_issuance import _count, _verdict


@BOTH_DATABASES
def test_revoke_sets_the_bit_records_event_and_audit(service_issuer, issue_credential):
    """Revoking flips the revocation bit, records the reason and shows as revoked."""
    issued = issue_credential()
    status.change_status(service_issuer, issued.credential_id, "revoked",
                           reason_category="academic_misconduct", reason="copied answers",
                           actor="ada")
    with write_session(service_issuer.engine) as session:
        row = issuance.find(session, issued.credential_id)
        assert session.get(StatusList, "revocation").bit(row.status_index)
        assert not session.get(StatusList, "suspension").bit(row.status_index)
        event = session.scalar(select(StatusEvent))
        assert (event.action, event.reason_category, event.actor) == (
            "revoked", "academic_misconduct", "ada")
        assert [r.action for r in session.scalars(select(AuditRecord).order_by(AuditRecord.seq))
                ] == ["issue", "revoke"]
        assert status.check_consistency(session) == []
    verdict = _verdict(service_issuer, issued.token)
    assert verdict.outcome == "revoked"
    assert verdict.details["reason_category"] == "academic_misconduct"


def test_suspend_then_reinstate(service_issuer, issue_credential):
    """A suspension shows as suspended and a reinstatement makes the credential valid again."""
    issued = issue_credential()
    status.change_status(service_issuer, issued.credential_id, "suspended",
                           reason_category="under_review", reason="appeal", actor="ada")
    assert _verdict(service_issuer, issued.token).outcome == "suspended"
    status.change_status(service_issuer, issued.credential_id, "reinstated",
                           reason_category="other", reason="appeal upheld", actor="ada")
    assert _verdict(service_issuer, issued.token).outcome == "valid"
    with write_session(service_issuer.engine) as session:
        assert [r.action for r in session.scalars(select(AuditRecord).order_by(AuditRecord.seq))
                ] == ["issue", "suspend", "reinstate"]


@pytest.mark.parametrize(("first", "then"), [
    ("revoked", "revoked"), ("revoked", "reinstated"), ("revoked", "suspended"),
])
def test_revocation_is_final(service_issuer, issue_credential, first, then):
    """A revoked credential cannot be revoked again, suspended or reinstated."""
    issued = issue_credential()
    status.change_status(service_issuer, issued.credential_id, first,
                           reason_category="issued_in_error", reason="x", actor="ada")
    with pytest.raises(IssuanceError, match="is revoked"):
        status.change_status(service_issuer, issued.credential_id, then,
                               reason_category="other", reason="y", actor="ada")
    assert _count(service_issuer, StatusEvent) == 1


def test_status_change_of_unknown_credential_or_category_is_refused(service_issuer,
                                                                     issue_credential):
    """An unknown credential or reason category changes nothing."""
    issued = issue_credential()
    with pytest.raises(CredentialNotFound):
        status.change_status(service_issuer, "urn:uuid:00000000-0000-4000-8000-000000000000",
                               "revoked", reason_category="other", reason="x", actor="ada")
    with pytest.raises(IssuanceError, match="reason category"):
        status.change_status(service_issuer, issued.credential_id, "revoked",
                               reason_category="because", reason="x", actor="ada")
    assert _count(service_issuer, StatusEvent) == 0


def test_signed_status_list_is_cached_per_version(service_issuer, issue_credential):
    """The status list token changes exactly when the list changes."""
    issued = issue_credential()
    with write_session(service_issuer.engine) as session:
        before = status.signed_status_list(service_issuer, session, "revocation")
        assert status.signed_status_list(service_issuer, session, "revocation") == before
    status.change_status(service_issuer, issued.credential_id, "revoked",
                           reason_category="other", reason="x", actor="ada")
    with write_session(service_issuer.engine) as session:
        assert status.signed_status_list(service_issuer, session, "revocation") != before


def _api_outcome(client, token: str) -> str:
    return client.post("/api/v1/verify", data=token, content_type="application/vc+jwt") \
        .json["outcome"]


@BOTH_DATABASES
def test_api_sees_each_status_change_on_the_next_request(app, client, issue_credential):
    """Warm caches never hide a change: the very next API verification reports it."""
    issuer = app.extensions["qcampus_issuer"]
    revoked, suspended = issue_credential(), issue_credential()
    for issued in (revoked, suspended):
        assert _api_outcome(client, issued.token) == "valid"
        assert _api_outcome(client, issued.token) == "valid"
    status.change_status(issuer, suspended.credential_id, "suspended",
                         reason_category="under_review", reason="x", actor="ada")
    assert _api_outcome(client, suspended.token) == "suspended"
    assert _api_outcome(client, revoked.token) == "valid"
    status.change_status(issuer, revoked.credential_id, "revoked",
                         reason_category="issued_in_error", reason="x", actor="ada")
    assert _api_outcome(client, revoked.token) == "revoked"
    status.change_status(issuer, suspended.credential_id, "reinstated",
                         reason_category="other", reason="x", actor="ada")
    assert _api_outcome(client, suspended.token) == "valid"
    assert _api_outcome(client, revoked.token) == "revoked"


def test_api_sees_a_change_made_by_another_process(client, service_issuer, issue_credential):
    """A change written through another issuer object (another process) is seen at once."""
    issued = issue_credential()
    assert _api_outcome(client, issued.token) == "valid"
    status.change_status(service_issuer, issued.credential_id, "revoked",
                         reason_category="other", reason="x", actor="ada")
    assert _api_outcome(client, issued.token) == "revoked"


def test_warm_verification_reads_only_the_list_versions(app, client, issue_credential,
                                                        monkeypatch):
    """With unchanged lists a verification reads both versions once and runs no ORM query."""
    issued = issue_credential()
    assert _api_outcome(client, issued.token) == "valid"
    reads, statements = [], []
    real = status.list_versions
    monkeypatch.setattr(status, "list_versions", lambda engine: reads.append(1) or real(engine))
    engine = app.extensions["qcampus_engine"]

    def record(_connection, _cursor, statement, *_rest) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert _api_outcome(client, issued.token) == "valid"
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert reads == [1] and statements == []
