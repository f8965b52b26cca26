"""The public verification pages: every verdict, clearly, in English and Japanese."""

from __future__ import annotations

import base64
import io
import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from certificates import credential as cred
from certificates import status, statuslist, vcjwt
from certificates.db import write_session
from certificates.keys import TrustedKeys
from certificates.models import Credential
from tests.certificates.conftest import BOTH_DATABASES, SERVICE_URL, csrf_of


def _uuid(issued) -> str:
    return issued.credential_id.removeprefix("urn:uuid:")


def _outcome(response) -> str:
    body = response.get_data(as_text=True)
    return body.split('data-outcome="', 1)[1].split('"', 1)[0]


def _sign(service_issuer, catalogue, *, valid_from, valid_until=None, list_base=SERVICE_URL,
          key=None) -> str:
    """Sign a credential outside the database, as a forger or an old copy would look."""
    document = cred.build(
        issuer=service_issuer.profile, achievement=catalogue.get("gate-engineer-b1"),
        learner=cred.Learner("carol"), base_url=SERVICE_URL, valid_from=valid_from,
        valid_until=valid_until,
        status=[cred.StatusEntry(p, 4242, f"{list_base}/status/{p}")
                for p in ("revocation", "suspension")])
    return vcjwt.sign(document, key or service_issuer.keystore.signing_key(), signed_at=valid_from)


def _upload(client, text: str | bytes, as_file: bool = False):
    token = csrf_of(client)
    if as_file:
        data = {"csrf_token": token, "credential": (io.BytesIO(
            text if isinstance(text, bytes) else text.encode()), "credential.jwt")}
        return client.post("/verify", data=data, content_type="multipart/form-data")
    return client.post("/verify", data={"csrf_token": token, "text": text})


def test_valid_credential_page(client, issue_credential):
    """A fresh credential's page says Valid / 有効 and hides the learner's name."""
    issued = issue_credential(display_name="Alice Q.", show_name=False)
    page = client.get(f"/verify/{_uuid(issued)}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and _outcome(page) == "valid"
    assert "Valid" in body and "有効" in body
    assert "Alice Q." not in body and "name not shown" in body


def test_shown_name_appears_on_the_page(client, issue_credential):
    """A learner who chose to show the name is named on the page."""
    issued = issue_credential(display_name="Alice Q.", show_name=True)
    assert "Alice Q." in client.get(f"/verify/{_uuid(issued)}").get_data(as_text=True)


def test_signed_name_has_no_holder_note(client, issue_credential):
    """A name the issuer signed is shown without the "as given by the holder" note."""
    issued = issue_credential(display_name="Alice Q.", show_name=True)
    body = client.get(f"/verify/{_uuid(issued)}").get_data(as_text=True)
    assert "Alice Q." in body
    assert "name as given by the holder" not in body and 'id="holder-declared"' not in body


def test_typed_name_is_marked_as_given_by_the_holder(client, service_issuer, issue_credential):
    """A name the learner typed after issuance carries the holder note in English and Japanese."""
    issued = issue_credential(display_name="Alice Q.", show_name=False)
    with write_session(service_issuer.engine) as session:
        session.scalar(select(Credential).where(Credential.id == issued.credential_id)) \
            .display_name = "Alice Typed"
    page = client.get(f"/verify/{_uuid(issued)}")
    body = page.get_data(as_text=True)
    assert _outcome(page) == "valid"
    holder = body.split('id="holder">', 1)[1].split("</dd>", 1)[0]
    assert holder.startswith("Alice Typed")
    assert "(name as given by the holder)" in holder and "（氏名は本人の申告によります）" in holder
    uploaded = _upload(client, issued.token).get_data(as_text=True)
    assert "(name as given by the holder)" in uploaded.split('id="holder">', 1)[1]


def test_full_urn_in_the_link_also_works(client, issue_credential):
    """The link may carry the full urn:uuid id."""
    issued = issue_credential()
    assert _outcome(client.get(f"/verify/{issued.credential_id}")) == "valid"


def test_revoked_page_shows_date_and_reason_category(client, service_issuer,
                                                     issue_credential):
    """A revoked credential's page says so with its reason category and date, in EN and JA."""
    issued = issue_credential()
    event = status.change_status(service_issuer, issued.credential_id, "revoked",
                                   reason_category="academic_misconduct",
                                   reason="private note", actor="ada")
    body = client.get(f"/verify/{_uuid(issued)}").get_data(as_text=True)
    assert 'data-outcome="revoked"' in body
    assert "Revoked" in body and "失効" in body
    assert "Academic misconduct" in body and "学術上の不正" in body
    assert event.at.strftime("%Y-%m-%d") in body
    assert "private note" not in body


def test_suspended_page(client, service_issuer, issue_credential):
    """A suspended credential's page says suspended."""
    issued = issue_credential()
    status.change_status(service_issuer, issued.credential_id, "suspended",
                           reason_category="under_review", reason="appeal", actor="ada")
    page = client.get(f"/verify/{_uuid(issued)}")
    assert _outcome(page) == "suspended" and "一時停止中" in page.get_data(as_text=True)


@pytest.mark.parametrize("credential_id", [
    "00000000-0000-4000-8000-000000000000", "not-a-uuid", "' OR 1=1 --", "x" * 10_000,
])
def test_unknown_credential_is_404(client, credential_id):
    """An id that was never issued answers 404 saying it does not exist."""
    page = client.get(f"/verify/{credential_id}")
    assert page.status_code == 404
    assert "does not exist" in page.get_data(as_text=True)


def test_lookup_form_redirects_to_the_page(client, issue_credential):
    """Typing an id into the start page opens its verification page."""
    issued = issue_credential()
    response = client.get("/verify", query_string={"id": issued.credential_id})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/verify/{_uuid(issued)}")


@pytest.mark.parametrize("as_file", [False, True])
def test_upload_of_issued_credential_is_valid(client, issue_credential, as_file):
    """Uploading the credential file, or pasting it, verifies it."""
    issued = issue_credential()
    assert _outcome(_upload(client, issued.token, as_file)) == "valid"


def test_upload_json_wrapper(client, issue_credential):
    """The JSON form of the credential file verifies too."""
    issued = issue_credential()
    assert _outcome(_upload(client, json.dumps({"credential": issued.token}))) == "valid"


def test_upload_of_changed_byte_is_tampered(client, issue_credential):
    """One changed byte in the payload makes the credential tampered."""
    issued = issue_credential()
    header, payload, signature = issued.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["credentialSubject"]["achievement"]["name"] = "Quantum Wizard"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    page = _upload(client, f"{header}.{forged}.{signature}")
    assert _outcome(page) == "tampered"


def test_upload_signed_by_unknown_key(client, service_issuer, catalogue, attacker_key):
    """A credential signed by a key the issuer never published is unknown_key."""
    token = _sign(service_issuer, catalogue, valid_from=datetime.now(UTC) - timedelta(days=1),
                  key=attacker_key)
    assert _outcome(_upload(client, token)) == "unknown_key"


@pytest.mark.parametrize("text", ["not a credential", "{\"credential\": 5}", "{", "\u0000" * 10])
def test_upload_of_garbage_is_malformed(client, text):
    """Anything that is not a credential is reported as malformed, never as an error page."""
    page = _upload(client, text)
    assert page.status_code == 200 and _outcome(page) == "malformed"


def test_expired_and_not_yet_valid(client, service_issuer, catalogue):
    """Validity dates in the past or future give expired and not_yet_valid."""
    now = datetime.now(UTC).replace(microsecond=0)
    expired = _sign(service_issuer, catalogue, valid_from=now - timedelta(days=30),
                    valid_until=now - timedelta(days=1))
    future = _sign(service_issuer, catalogue, valid_from=now + timedelta(days=30))
    _record(service_issuer, expired)
    _record(service_issuer, future)
    assert _outcome(_upload(client, expired)) == "expired"
    assert _outcome(_upload(client, future)) == "not_yet_valid"


def test_status_list_elsewhere_is_status_unknown(client, service_issuer, catalogue):
    """A signed credential whose status list this service cannot serve is never valid."""
    token = _sign(service_issuer, catalogue, valid_from=datetime.now(UTC) - timedelta(days=1),
                  list_base="https://unreachable.example")
    _record(service_issuer, token)
    page = _upload(client, token)
    assert _outcome(page) == "status_unknown"
    assert "Valid" not in page.get_data(as_text=True).split("<main>")[1].split("</h1>")[0]


def test_empty_upload_is_400(client):
    """Pressing Verify with nothing chosen explains what to do."""
    page = _upload(client, "")
    assert page.status_code == 400 and "Choose a credential file" in page.get_data(as_text=True)


def test_status_list_endpoint_serves_a_signed_list(client, service_issuer, issue_credential):
    """The status list is a signed VC-JWT whose bit shows the revocation."""
    issued = issue_credential()
    status.change_status(service_issuer, issued.credential_id, "revoked",
                           reason_category="other", reason="x", actor="ada")
    response = client.get("/status/revocation")
    assert response.mimetype == "application/vc+jwt"
    bits = statuslist.read_credential(
        response.get_data(as_text=True), keys=TrustedKeys.from_jwks(
            client.get("/.well-known/jwks.json").json),
        issuer_id=SERVICE_URL, url=f"{SERVICE_URL}/status/revocation", purpose="revocation",
        now=datetime.now(UTC))
    index = json.loads(base64.urlsafe_b64decode(issued.token.split(".")[1] + "=="))[
        "credentialStatus"]["statusListIndex"]
    assert bits.length >= statuslist.MIN_LENGTH and bits.get(int(index))
    assert client.get("/status/other").status_code == 404


def test_published_keys_did_and_achievement(client, service_issuer):
    """JWKS, did:web document and achievements are public JSON."""
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.json["keys"][0]["kid"] == service_issuer.keystore.active().kid
    assert jwks.headers["Access-Control-Allow-Origin"] == "*"
    assert "d" not in jwks.json["keys"][0]
    did = client.get("/.well-known/did.json").json
    assert did["id"] == "did:web:localhost"
    achievement = client.get("/achievements/gate-engineer-b1").json
    assert achievement["id"] == f"{SERVICE_URL}/achievements/gate-engineer-b1"
    assert client.get("/achievements/nope").status_code == 404


def _record(service_issuer, token: str) -> None:
    """Store *token* as if this issuer had issued it (the record online verification requires)."""
    from certificates import issuance

    body = vcjwt.check_claims(vcjwt.verify_token(token, service_issuer.trusted_keys()).claims)
    with write_session(service_issuer.engine) as session:
        session.add(Credential(
            id=body["id"], learner_hash="sha256$test", learner="carol",
            achievement_id="gate-engineer-b1", status_index=secrets.randbelow(131_072) + 131_072,
            status="active",
            issued_at=datetime.fromisoformat(body["validFrom"]), valid_until=None,
            source=f"test:{body['id']}", document=json.dumps(body), issued_by="test",
            reason="test", token=token, token_sha256=issuance.token_sha256(token)))


def _verify_api(client, token: str) -> dict:
    return client.post("/api/v1/verify", data=token, content_type="application/vc+jwt").json


@BOTH_DATABASES
def test_backdated_forgery_with_a_compromised_key_is_refused(client, service_issuer, catalogue,
                                                             issue_credential):
    """A stolen key's forgery, dated before the compromise, is refused by page, upload and API."""
    genuine = issue_credential()
    stolen = service_issuer.keystore.signing_key()
    service_issuer.keystore.mark_compromised(stolen.kid, datetime.now(UTC) + timedelta(seconds=2))
    forged = _sign(service_issuer, catalogue, key=stolen,
                   valid_from=datetime.now(UTC).replace(microsecond=0) - timedelta(days=30))
    page = _upload(client, forged)
    assert _outcome(page) == "not_issued"
    assert "no record" in page.get_data(as_text=True)
    verdict = _verify_api(client, forged)
    assert verdict["outcome"] == "not_issued" and verdict["valid"] is False
    assert set(verdict["message"]) == {"en", "ja"}
    # Forged with the id of a real credential: still refused, and nothing of the real row shown.
    with service_issuer.engine.connect() as connection:
        body = json.loads(connection.exec_driver_sql("SELECT document FROM credentials").scalar())
    assert body["id"] == genuine.credential_id
    twin = vcjwt.sign(body, stolen, signed_at=datetime.fromisoformat(body["validFrom"])
                      - timedelta(days=1))
    assert twin != genuine.token and _verify_api(client, twin)["outcome"] == "not_issued"


@BOTH_DATABASES
def test_genuine_credential_issued_before_the_compromise_still_verifies(
        client, service_issuer, issue_credential):
    """What the issuer recorded issuing before the compromise stays valid, online."""
    issued = issue_credential()
    kid = service_issuer.keystore.active().kid
    service_issuer.keystore.mark_compromised(kid, datetime.now(UTC) + timedelta(seconds=2))
    assert _outcome(client.get(f"/verify/{_uuid(issued)}")) == "valid"
    assert _outcome(_upload(client, issued.token)) == "valid"
    verdict = _verify_api(client, issued.token)
    assert verdict["outcome"] == "valid" and verdict["details"]["kid"] == kid


def test_recorded_time_not_the_token_decides_a_compromised_key(client, service_issuer,
                                                              issue_credential):
    """A credential recorded as issued after the compromise moment is refused online."""
    issued = issue_credential()
    kid = service_issuer.keystore.active().kid
    service_issuer.keystore.mark_compromised(kid, datetime.now(UTC) - timedelta(days=1))
    assert _verify_api(client, issued.token)["outcome"] == "unknown_key"


@BOTH_DATABASES
def test_credential_signed_with_a_valid_key_but_never_issued_is_refused(client, service_issuer,
                                                                        catalogue):
    """A token the active key signed but the issuer never recorded is not_issued online."""
    token = _sign(service_issuer, catalogue, valid_from=datetime.now(UTC) - timedelta(days=1))
    assert _outcome(_upload(client, token)) == "not_issued"
    assert _outcome(_upload(client, token, as_file=True)) == "not_issued"
    assert _verify_api(client, token)["valid"] is False
    _record(service_issuer, token)
    assert _verify_api(client, token)["outcome"] == "valid"


def test_rotation_and_compromise_take_effect_at_once(client, service_issuer, issue_credential):
    """After a rotation old and new credentials verify; a compromise stops the old key."""
    old = issue_credential()
    old_kid = service_issuer.keystore.active().kid
    service_issuer.keystore.rotate()
    new = issue_credential()
    assert {k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]} == {
        old_kid, service_issuer.keystore.active().kid}
    assert _outcome(client.get(f"/verify/{_uuid(old)}")) == "valid"
    assert _outcome(client.get(f"/verify/{_uuid(new)}")) == "valid"
    service_issuer.keystore.mark_compromised(old_kid, datetime.now(UTC) - timedelta(days=1))
    assert _outcome(client.get(f"/verify/{_uuid(old)}")) == "unknown_key"
    assert _outcome(client.get(f"/verify/{_uuid(new)}")) == "valid"
