"""Issuing, revoking, suspending and reinstating: idempotent, consistent, audited."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import jwt
import pytest
from sqlalchemy import func, select

from certificates import audit, issuance, status, verification
from certificates.db import write_session
from certificates.errors import (
    AchievementError,
    IdempotencyConflict,
)
from certificates.models import AuditRecord, Credential
from tests.certificates.conftest import BOTH_DATABASES


def _count(issuer, model) -> int:
    with write_session(issuer.engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def _verdict(issuer, token: str) -> verification.Verdict:
    with write_session(issuer.engine) as session:
        return verification.verify(token, keys=issuer.trusted_keys(), issuer_id=issuer.public_url,
                                   status=status.DatabaseStatusSource(issuer, session),
                                   now=datetime.now(UTC))


@BOTH_DATABASES
def test_issued_credential_verifies_with_standard_jose(service_issuer, issue_credential):
    """The token verifies with PyJWT and the published key, and is valid for the service."""
    issued = issue_credential()
    jwk = service_issuer.keystore.jwks()["keys"][0]
    key = jwt.PyJWK(jwk).key
    claims = jwt.decode(issued.token, key, algorithms=["EdDSA"],
                        options={"verify_aud": False})
    assert claims["id"] == issued.credential_id
    assert claims["iss"] == service_issuer.public_url
    assert _verdict(service_issuer, issued.token).outcome == "valid"


def test_issued_status_is_the_single_object_open_badges_3_allows(service_issuer, issue_credential):
    """OB 3.0's AchievementCredential has at most one credentialStatus, an object with id and
    type: the revocation entry, whose index the suspension list shares."""
    issued = issue_credential()
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    entry = claims["credentialStatus"]
    assert isinstance(entry, dict) and {"id", "type"} <= set(entry)
    assert entry["type"] == "BitstringStatusListEntry" and entry["statusPurpose"] == "revocation"
    assert entry["statusListCredential"] == f"{service_issuer.public_url}/status/revocation"
    with write_session(service_issuer.engine) as session:
        row = session.scalar(select(Credential).where(Credential.id == issued.credential_id))
        assert entry["statusListIndex"] == str(row.status_index)


@BOTH_DATABASES
def test_issuing_writes_row_token_and_audit_record(service_issuer, issue_credential):
    """One issue leaves one row with its token and one chained audit record."""
    issued = issue_credential(learner="bob")
    with write_session(service_issuer.engine) as session:
        row = session.scalar(select(Credential))
        record = session.scalar(select(AuditRecord))
        assert audit.verify_chain(session).records == 1
    assert row.token == issued.token and row.learner == "bob"
    assert row.learner_hash.startswith("sha256$")
    assert (record.action, record.credential_id) == ("issue", issued.credential_id)
    assert "bob" not in row.document


def test_learner_name_is_published_only_if_chosen(issue_credential):
    """The display name appears in the credential only when the learner chose to show it."""
    hidden = issue_credential(display_name="Alice Q.", show_name=False)
    shown = issue_credential(display_name="Alice Q.", show_name=True)
    assert "Alice Q." not in jwt.decode(hidden.token, options={"verify_signature": False}).__repr__()
    assert "Alice Q." in jwt.decode(shown.token, options={"verify_signature": False}).__repr__()


@BOTH_DATABASES
def test_same_exam_result_yields_the_same_credential(service_issuer, issue_credential):
    """Issuing twice for one exam result returns the first credential."""
    first = issue_credential(source="exam:42")
    again = issue_credential(source="exam:42")
    assert (again.credential_id, again.token, again.created) == (
        first.credential_id, first.token, False)
    assert _count(service_issuer, Credential) == 1
    assert _count(service_issuer, AuditRecord) == 1


def test_same_result_for_another_learner_is_refused(service_issuer, issue_credential):
    """An exam result already certified for one learner cannot certify another."""
    issue_credential(source="exam:42", learner="alice")
    with pytest.raises(IdempotencyConflict, match="another learner"):
        issue_credential(source="exam:42", learner="mallory")
    assert _count(service_issuer, Credential) == 1


@BOTH_DATABASES
def test_idempotency_key_replays_and_refuses_other_payloads(service_issuer):
    """The same key and payload return the same credential; another payload is refused."""
    request = issuance.IssueRequest(learner="alice", achievement_id="gate-engineer-b1",
                                    source="exam:7", actor="exams", reason="passed")
    first = issuance.issue(service_issuer, request, idempotency=("exams", "k-1"))
    replay = issuance.issue(service_issuer, request, idempotency=("exams", "k-1"))
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.token == first.token
    changed = issuance.IssueRequest(**{**request.__dict__, "learner": "bob", "source": "exam:8"})
    with pytest.raises(IdempotencyConflict, match="different request"):
        issuance.issue(service_issuer, changed, idempotency=("exams", "k-1"))
    other_key = issuance.issue(service_issuer, request, idempotency=("exams", "k-2"))
    assert (other_key.credential_id, other_key.status_code) == (first.credential_id, 200)
    assert _count(service_issuer, Credential) == 1


@BOTH_DATABASES
def test_twenty_concurrent_issues_of_one_result_give_one_credential(service_issuer):
    """Twenty simultaneous requests for one exam result yield exactly one credential."""
    request = issuance.IssueRequest(learner="alice", achievement_id="gate-engineer-b1",
                                    source="exam:race", actor="exams", reason="passed")
    results: list[issuance.Issued] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            results.append(issuance.issue(service_issuer, request,
                                          idempotency=("exams", "race")))
        except BaseException as exc:  # collected and asserted on in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({r.credential_id for r in results}) == 1
    assert len({r.token for r in results}) == 1
    assert _count(service_issuer, Credential) == 1
    assert _count(service_issuer, AuditRecord) == 1


def test_unknown_achievement_is_refused_and_nothing_stored(service_issuer, issue_credential):
    """An unknown achievement id is an error and leaves the database unchanged."""
    with pytest.raises(AchievementError):
        issue_credential(achievement_id="no-such-achievement")
    assert _count(service_issuer, Credential) == 0


def test_status_indices_are_distinct_and_random(service_issuer, issue_credential):
    """Each credential gets its own index, not in issuance order."""
    for _ in range(20):
        issue_credential()
    with write_session(service_issuer.engine) as session:
        indices = list(session.scalars(select(Credential.status_index)
                                       .order_by(Credential.serial)))
    assert len(set(indices)) == 20
    assert indices != sorted(indices)
