"""The JSON API: verification, idempotent issuance with a scoped token, OpenAPI description."""

from __future__ import annotations

import secrets

import jsonschema
import pytest
from sqlalchemy import func, select

from certificates.db import write_session
from certificates.models import Credential
from tests.certificates.conftest import BOTH_DATABASES, csrf_of

PAYLOAD = {"learner": "alice", "achievement": "gate-engineer-b1", "source": "exam:1",
           "reason": "passed the exam"}


@pytest.fixture
def issuer_token(deployment) -> str:
    """Return the issuer token the init hook wrote for the exam service."""
    return (deployment.secrets / "certificates-issuer-token").read_text().strip()


def _post(client, token: str | None, payload=PAYLOAD, key: str | None = "key-1", **kwargs):
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/credentials", json=payload, headers=headers, **kwargs)


def _count(service_issuer) -> int:
    with write_session(service_issuer.engine) as session:
        return session.scalar(select(func.count()).select_from(Credential))


def test_issue_then_verify_through_the_api(client, issuer_token):
    """An issued credential comes back as a VC-JWT that the verify API calls valid."""
    response = _post(client, issuer_token)
    assert response.status_code == 201
    body = response.json
    assert body["id"].startswith("urn:uuid:") and body["credential"].count(".") == 2
    assert body["verify_url"].endswith(body["id"].removeprefix("urn:uuid:"))
    verdict = client.post("/api/v1/verify", data=body["credential"],
                          content_type="application/vc+jwt").json
    assert verdict["outcome"] == "valid" and verdict["valid"] is True
    assert set(verdict["message"]) == {"en", "ja"}
    wrapped = client.post("/api/v1/verify", json={"credential": body["credential"]}).json
    assert wrapped["outcome"] == "valid"


def test_replayed_key_returns_the_same_response(client, issuer_token, service_issuer):
    """The same Idempotency-Key and payload return the identical response."""
    first = _post(client, issuer_token)
    again = _post(client, issuer_token)
    assert (first.status_code, first.json) == (again.status_code, again.json)
    assert _count(service_issuer) == 1


def test_same_key_with_other_payload_is_422(client, issuer_token, service_issuer):
    """The same Idempotency-Key with another payload is refused and stores nothing."""
    _post(client, issuer_token)
    changed = dict(PAYLOAD, learner="mallory", source="exam:2")
    response = _post(client, issuer_token, changed)
    assert response.status_code == 422
    assert "different request" in response.json["message"]
    assert _count(service_issuer) == 1


def test_same_exam_result_with_new_key_returns_existing(client, issuer_token, service_issuer):
    """A second key for the same exam result gets the existing credential with 200."""
    first = _post(client, issuer_token)
    second = _post(client, issuer_token, key="key-2")
    assert second.status_code == 200 and second.json["id"] == first.json["id"]
    assert _count(service_issuer) == 1


@pytest.mark.parametrize(("token", "status"), [
    (None, 401), ("", 401), ("wrong-token", 401), ("x" * 10_000, 401),
])
def test_issuing_needs_the_issuer_token(client, service_issuer, token, status):
    """Without the right bearer token nothing is issued."""
    response = _post(client, token)
    assert response.status_code == status
    assert _count(service_issuer) == 0


def test_hub_token_needs_the_issue_scope(client, hub, service_issuer):
    """A hub token issues only with the custom:certificates:issue scope."""
    plain = hub.add_user("alice", scopes=("access:services!service=qcampus",))
    scoped = hub.add_user("exams", scopes=("custom:certificates:issue",))
    assert _post(client, plain).status_code == 403
    assert _post(client, scoped).status_code == 201
    assert _count(service_issuer) == 1


def test_missing_idempotency_key_is_400(client, issuer_token, service_issuer):
    """The Idempotency-Key header is required."""
    response = _post(client, issuer_token, key=None)
    assert response.status_code == 400 and "Idempotency-Key" in response.json["message"]
    assert _count(service_issuer) == 0


@pytest.mark.parametrize("payload", [
    "not json",
    [1, 2],
    dict(PAYLOAD, learner="x" * 10_000),
    dict(PAYLOAD, learner=""),
    dict(PAYLOAD, learner=5),
    dict(PAYLOAD, unexpected=True),
    dict(PAYLOAD, evidence="abc"),
    dict(PAYLOAD, valid_for_days=0),
    dict(PAYLOAD, valid_for_days=True),
    dict(PAYLOAD, reason="line\x00break"),
    {k: v for k, v in PAYLOAD.items() if k != "source"},
])
def test_bad_payloads_are_400_and_store_nothing(client, issuer_token, service_issuer, payload):
    """Malformed, oversized or incomplete requests are refused with a clear message."""
    if isinstance(payload, str):
        response = client.post("/api/v1/credentials", data=payload,
                               headers={"Authorization": f"Bearer {issuer_token}",
                                        "Idempotency-Key": secrets.token_hex(4)},
                               content_type="application/json")
    else:
        response = _post(client, issuer_token, payload, key=secrets.token_hex(4))
    assert response.status_code == 400
    assert response.json["message"]
    assert _count(service_issuer) == 0


def test_unknown_achievement_is_422(client, issuer_token, service_issuer):
    """An unknown achievement id is refused with a message naming it."""
    response = _post(client, issuer_token, dict(PAYLOAD, achievement="no-such"))
    assert response.status_code == 422 and "no-such" in response.json["message"]
    assert _count(service_issuer) == 0


def test_verify_api_empty_body_is_400(client):
    """An empty body to the verify API explains what to send."""
    response = client.post("/api/v1/verify", data=b"")
    assert response.status_code == 400 and "credential" in response.json["message"]


def test_verify_api_needs_no_csrf_token_or_login(client, issue_credential):
    """The verify API works for any client without cookies."""
    issued = issue_credential()
    response = client.post("/api/v1/verify", data=issued.token,
                           headers={"Sec-Fetch-Site": "cross-site"})
    assert response.json["outcome"] == "valid"


def test_openapi_description(client):
    """The OpenAPI 3.1 document describes both operations and their schemas."""
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {"/verify", "/credentials"}
    schemas = document["components"]["schemas"]
    assert set(schemas["Verdict"]["properties"]["outcome"]["enum"]) == {
        "valid", "revoked", "suspended", "expired", "not_yet_valid", "tampered",
        "unknown_key", "malformed", "status_unknown", "key_compromised", "not_issued"}
    assert set(schemas["IssueRequest"]["required"]) == {"learner", "achievement", "source",
                                                        "reason"}


def test_openapi_schemas_are_valid_json_schema(client, issuer_token):
    """The request and verdict schemas are valid JSON Schema and match real traffic."""
    document = client.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(PAYLOAD, schemas["IssueRequest"])
    issued = _post(client, issuer_token).json
    verdict = client.post("/api/v1/verify", data=issued["credential"]).json
    jsonschema.validate(verdict, schemas["Verdict"])


@BOTH_DATABASES
def test_round_trip_on_each_database(client, staff_client, issuer_token, service_issuer):
    """Issue by API, revoke on the staff page, see it revoked: on SQLite and PostgreSQL."""
    issued = _post(client, issuer_token).json
    credential_uuid = issued["id"].removeprefix("urn:uuid:")
    token = csrf_of(staff_client, "/admin/")
    revoked = staff_client.post(f"/admin/credentials/{credential_uuid}/status", data={
        "csrf_token": token, "action": "revoke", "reason_category": "superseded",
        "reason": "re-issued"})
    assert revoked.status_code == 302
    verdict = client.post("/api/v1/verify", data=issued["credential"]).json
    assert verdict["outcome"] == "revoked"
    assert verdict["details"]["reason_category"] == "superseded"
    assert "Hash chain verified: 2 records" in staff_client.get("/admin/audit").get_data(
        as_text=True)
