"""Staff pages: who gets in, issuing and revoking with reasons, searching safely."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from certificates import audit
from certificates.db import write_session
from certificates.models import AuditRecord, Credential, StatusEvent
from tests.certificates.conftest import csrf_of

INJECTIONS = [
    "' OR '1'='1", "'; DROP TABLE credentials; --", "\" OR 1=1 --", "%", "_", "\\",
    "1) UNION SELECT token, token, token FROM credentials --", "admin'--",
    "' AND (SELECT 1 FROM pg_sleep(0)) = 1 --", "\x00", "%' OR '%'='", "量子'; --",
]


def _counts(service_issuer) -> tuple[int, int, int]:
    with write_session(service_issuer.engine) as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Credential, StatusEvent, AuditRecord))


def test_anonymous_visitor_is_sent_to_hub_login(client):
    """A staff page without a session redirects to the hub's OAuth page with state and PKCE."""
    response = client.get("/admin/audit")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("http://hub.test/hub/api/oauth2/authorize")
    assert "state=" in location and "code_challenge_method=S256" in location


def test_learner_is_refused(learner_client):
    """A signed-in user outside the staff groups gets 403 on every staff page."""
    for url in ["/admin/", "/admin/audit"]:
        response = learner_client.get(url)
        assert response.status_code == 403 and "instructors" in response.get_data(as_text=True)


def test_user_without_service_access_scope_is_not_signed_in(app, hub):
    """A hub token lacking access to this service counts as no login."""
    test_client = app.test_client()
    token = hub.add_user("ada", ("instructors",), scopes=("read:users",))
    with test_client.session_transaction() as session:
        session["hub_token"] = token
    assert test_client.get("/admin/").status_code == 401


def test_issue_by_hand_records_reason_and_is_idempotent(staff_client, service_issuer):
    """The manual form issues once, even if submitted twice, and audits the reason."""
    token = csrf_of(staff_client, "/admin/")
    form = {"csrf_token": token, "learner": "bob", "achievement": "gate-engineer-b1",
            "reason": "re-sat under supervision", "request_id": uuid.uuid4().hex,
            "display_name": "Bob B.", "show_name": "on"}
    first = staff_client.post("/admin/issue", data=form)
    second = staff_client.post("/admin/issue", data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    with write_session(service_issuer.engine) as session:
        row = session.scalar(select(Credential))
        record = session.scalar(select(AuditRecord))
    assert (row.learner, row.issued_by, row.display_name) == ("bob", "ada", "Bob B.")
    assert (record.actor, record.reason) == ("ada", "re-sat under supervision")
    assert _counts(service_issuer) == (1, 0, 1)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("learner", "x" * 10_000, "too long"),
    ("reason", "", "required"),
    ("display_name", "n" * 10_000, "too long"),
    ("request_id", "not-a-uuid", "incomplete"),
    ("achievement", "no-such", "no-such"),
])
def test_bad_issue_forms_are_refused(staff_client, service_issuer, field, value, message):
    """10 KB names, missing reasons and unknown achievements are refused, nothing stored."""
    token = csrf_of(staff_client, "/admin/")
    form = {"csrf_token": token, "learner": "bob", "achievement": "gate-engineer-b1",
            "reason": "manual", "request_id": uuid.uuid4().hex, field: value}
    response = staff_client.post("/admin/issue", data=form)
    assert response.status_code in (400, 422)
    assert message in response.get_data(as_text=True)
    assert _counts(service_issuer) == (0, 0, 0)


def test_revoke_through_the_admin_page(staff_client, client, service_issuer, issue_credential):
    """An instructor revokes with a reason; the public page then says revoked."""
    issued = issue_credential()
    credential_uuid = issued.credential_id.removeprefix("urn:uuid:")
    token = csrf_of(staff_client, f"/admin/credentials/{credential_uuid}")
    response = staff_client.post(f"/admin/credentials/{credential_uuid}/status", data={
        "csrf_token": token, "action": "revoke", "reason_category": "issued_in_error",
        "reason": "wrong learner"})
    assert response.status_code == 302
    assert 'data-outcome="revoked"' in client.get(f"/verify/{credential_uuid}").get_data(
        as_text=True)
    page = staff_client.get(f"/admin/credentials/{credential_uuid}").get_data(as_text=True)
    assert "wrong learner" in page and "revoked" in page
    again = staff_client.post(f"/admin/credentials/{credential_uuid}/status", data={
        "csrf_token": token, "action": "reinstate", "reason_category": "other", "reason": "x"})
    assert again.status_code == 409
    assert _counts(service_issuer) == (1, 1, 2)


@pytest.mark.parametrize("form", [
    {"action": "delete", "reason_category": "other", "reason": "x"},
    {"action": "revoke", "reason_category": "because", "reason": "x"},
    {"action": "revoke", "reason_category": "other", "reason": ""},
    {"action": "revoke", "reason_category": "other", "reason": "r" * 10_000},
])
def test_bad_status_forms_are_refused(staff_client, service_issuer, issue_credential, form):
    """Unknown actions, categories and empty or huge reasons change nothing."""
    issued = issue_credential()
    credential_uuid = issued.credential_id.removeprefix("urn:uuid:")
    token = csrf_of(staff_client, "/admin/")
    response = staff_client.post(f"/admin/credentials/{credential_uuid}/status",
                                 data={"csrf_token": token, **form})
    assert response.status_code == 400
    assert _counts(service_issuer) == (1, 0, 1)


def test_status_change_of_unknown_credential_is_404(staff_client):
    """Revoking an id that does not exist answers 404."""
    token = csrf_of(staff_client, "/admin/")
    response = staff_client.post(f"/admin/credentials/{uuid.uuid4()}/status", data={
        "csrf_token": token, "action": "revoke", "reason_category": "other", "reason": "x"})
    assert response.status_code == 404 and "does not exist" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/admin/", "/admin/audit"])
@pytest.mark.parametrize("parameter", ["q", "status", "action", "sort"])
@pytest.mark.parametrize("value", INJECTIONS)
def test_sql_injection_in_search_fields(staff_client, service_issuer, issue_credential, url,
                                        parameter, value):
    """Injection strings in every search field never error, leak or change anything."""
    issued = issue_credential(learner="alice")
    before = _counts(service_issuer)
    response = staff_client.get(url, query_string={parameter: value})
    assert response.status_code in (200, 400), response.status_code
    body = response.get_data(as_text=True)
    assert issued.token not in body
    if parameter == "q" and response.status_code == 200:
        # Matched literally: none of these strings occurs in the stored data.
        assert "alice" not in body
    assert _counts(service_issuer) == before
    with write_session(service_issuer.engine) as session:
        assert audit.verify_chain(session).records == before[2]


def test_search_finds_literal_matches(staff_client, issue_credential):
    """Search matches learner names, and % or _ only literally."""
    issue_credential(learner="alice_1")
    issue_credential(learner="bob")
    assert "alice_1" in staff_client.get("/admin/", query_string={"q": "e_1"}).get_data(
        as_text=True)
    body = staff_client.get("/admin/", query_string={"q": "bo"}).get_data(as_text=True)
    assert "bob" in body and "alice_1" not in body
    assert "alice_1" not in staff_client.get("/admin/", query_string={"q": "%"}).get_data(
        as_text=True)


def test_sort_keys_come_from_an_allowlist(staff_client):
    """A sort key outside the allowlist is a 400 naming the allowed keys."""
    response = staff_client.get("/admin/audit", query_string={"sort": "seq; DROP TABLE x"})
    assert response.status_code == 400 and "newest" in response.get_data(as_text=True)
    assert staff_client.get("/admin/audit", query_string={"sort": "oldest"}).status_code == 200


def test_audit_page_shows_chain_status(staff_client, service_issuer, issue_credential):
    """The audit page lists records and says the hash chain verified."""
    issued = issue_credential()
    body = staff_client.get("/admin/audit").get_data(as_text=True)
    assert issued.credential_id in body and "Hash chain verified: 1 records" in body
    with service_issuer.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        connection.exec_driver_sql("UPDATE audit_log SET reason = 'edited'")
    body = staff_client.get("/admin/audit").get_data(as_text=True)
    assert "does NOT verify" in body and "record 1 was altered" in body
