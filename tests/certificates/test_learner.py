"""The learner's pages: own certificates only, downloads, PDF with QR code, the shown name."""

from __future__ import annotations

import json

import pypdfium2
import pytest
import zxingcpp

from certificates import verification
from certificates.keys import KeyStore
from tests.certificates.conftest import SERVICE_URL, csrf_of, signed_in


def pdf_page(document: bytes) -> tuple[str, list[str]]:
    """Return the text and the QR codes of the first page of a PDF."""
    doc = pypdfium2.PdfDocument(document)
    try:
        page = doc[0]
        text = page.get_textpage().get_text_range()
        image = page.render(scale=2).to_pil()
    finally:
        doc.close()
    return text, [code.text for code in zxingcpp.read_barcodes(image)]


def uuid_of(issued) -> str:
    """Return the bare UUID of an issued credential."""
    return issued.credential_id.removeprefix("urn:uuid:")


def test_signed_out_learner_is_sent_to_the_hub(client):
    """Without a hub session the page redirects to the hub's OAuth authorisation."""
    answer = client.get("/my/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("http://hub.test/hub/api/oauth2/authorize")


def test_list_shows_only_own_certificates(learner_client, issue_credential):
    """Alice sees her certificate and not Bob's."""
    issue_credential(learner="alice", achievement_id="foundations-a2")
    issue_credential(learner="bob", achievement_id="optimisation-b1")
    page = learner_client.get("/my/?lang=en").get_data(as_text=True)
    assert "Quantum Foundations" in page
    assert "Quantum Optimisation Practitioner" not in page


def test_list_is_empty_with_a_helpful_message(learner_client):
    """A learner without certificates is told when they will appear."""
    page = learner_client.get("/my/?lang=en").get_data(as_text=True)
    assert "You have no certificates yet" in page


def test_page_language_from_query_or_browser(learner_client, issue_credential):
    """``?lang=ja`` or an Accept-Language of Japanese gives the Japanese page."""
    issue_credential(learner="alice", achievement_id="foundations-a2")
    by_query = learner_client.get("/my/?lang=ja").get_data(as_text=True)
    by_header = learner_client.get("/my/", headers={"Accept-Language": "ja,en;q=0.5"})
    for page in (by_query, by_header.get_data(as_text=True)):
        assert "マイ認定証" in page
        assert "量子技術の基礎" in page
        assert '<html lang="ja">' in page
    assert "My certificates" in learner_client.get(
        "/my/", headers={"Accept-Language": "fr"}).get_data(as_text=True)


@pytest.mark.parametrize("suffix", ["", "/credential.jwt", "/credential.json",
                                    "/certificate.pdf"])
def test_another_learners_certificate_is_not_found(learner_client, issue_credential, suffix):
    """Every page of Bob's certificate answers 404 to Alice, like a certificate that does not exist."""
    bobs = issue_credential(learner="bob")
    answer = learner_client.get(f"/my/{uuid_of(bobs)}{suffix}")
    assert answer.status_code == 404
    missing = learner_client.get(f"/my/00000000-0000-4000-8000-000000000000{suffix}")
    assert missing.status_code == 404
    assert answer.get_data() == missing.get_data()


@pytest.mark.parametrize("credential_uuid", ["not-a-uuid", "' OR 1=1 --",
                                             "00000000000040008000000000000000"])
def test_malformed_ids_are_not_found(learner_client, credential_uuid):
    """Ids that are not canonical UUIDs (including SQL) answer 404."""
    assert learner_client.get(f"/my/{credential_uuid}").status_code == 404


def test_detail_offers_share_link_qr_and_downloads(learner_client, issue_credential):
    """The certificate page shows the verification link, its QR code and the downloads."""
    issued = issue_credential(learner="alice")
    page = learner_client.get(f"/my/{uuid_of(issued)}?lang=en").get_data(as_text=True)
    url = f"{SERVICE_URL}/verify/{uuid_of(issued)}"
    assert f'href="{url}"' in page
    assert 'src="data:image/svg+xml;base64,' in page
    for path in ("certificate.pdf?lang=en", "certificate.pdf?lang=ja", "credential.jwt",
                 "credential.json"):
        assert f"/my/{uuid_of(issued)}/{path}" in page


def test_jwt_download_is_the_issued_token(learner_client, issue_credential, deployment):
    """The .jwt download is the signed credential as issued, and it verifies offline."""
    issued = issue_credential(learner="alice")
    answer = learner_client.get(f"/my/{uuid_of(issued)}/credential.jwt")
    assert answer.status_code == 200
    assert answer.mimetype == "application/vc+jwt"
    assert "attachment" in answer.headers["Content-Disposition"]
    assert answer.get_data(as_text=True) == issued.token
    keys = KeyStore(deployment.secrets / "issuer-keys").trusted_keys()
    verdict = verification.verify(answer.get_data(), keys=keys, issuer_id=SERVICE_URL,
                                  status=None, now=_now())
    # No status source offline here: the signature holds, the status is not claimed.
    assert verdict.outcome is verification.Outcome.STATUS_UNKNOWN


def test_json_download_wraps_the_same_token(client, learner_client, issue_credential):
    """The JSON download is an EnvelopedVerifiableCredential the service verifies as valid."""
    issued = issue_credential(learner="alice")
    answer = learner_client.get(f"/my/{uuid_of(issued)}/credential.json")
    envelope = json.loads(answer.get_data())
    assert envelope["type"] == "EnvelopedVerifiableCredential"
    assert envelope["id"] == f"data:application/vc+jwt,{issued.token}"
    verdict = client.post("/api/v1/verify", data=answer.get_data(),
                          content_type="application/json").get_json()
    assert verdict["outcome"] == "valid"


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_pdf_download_has_qr_code_to_the_verification_page(learner_client, issue_credential,
                                                           lang):
    """The PDF's QR code decodes to the public verification page of this credential."""
    issued = issue_credential(learner="alice", achievement_id="foundations-a2")
    answer = learner_client.get(f"/my/{uuid_of(issued)}/certificate.pdf?lang={lang}")
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    text, codes = pdf_page(answer.get_data())
    assert codes == [f"{SERVICE_URL}/verify/{uuid_of(issued)}"]
    assert ("量子技術の基礎" if lang == "ja" else "Quantum Foundations") in text
    assert issued.credential_id in text


def test_pdf_in_an_unknown_language_is_refused(learner_client, issue_credential):
    """``?lang=fr`` answers 400 naming the languages on offer, in both languages."""
    issued = issue_credential(learner="alice")
    answer = learner_client.get(f"/my/{uuid_of(issued)}/certificate.pdf?lang=fr",
                                headers={"Accept": "application/json"})
    assert answer.status_code == 400
    message = answer.get_json()["message"]
    assert "en, ja" in message
    assert "認定証の言語" in message


def test_choosing_to_show_the_name(learner_client, client, issue_credential):
    """Showing the name puts it on the PDF and the verification page, not in the signed file."""
    issued = issue_credential(learner="alice")
    base = f"/my/{uuid_of(issued)}"
    before, _ = pdf_page(learner_client.get(f"{base}/certificate.pdf").get_data())
    assert "Holder identified by the credential" in before
    token = csrf_of(learner_client, base)
    answer = learner_client.post(f"{base}/name", data={
        "csrf_token": token, "show_name": "on", "display_name": "Alice Example"})
    assert answer.status_code == 302
    after, _ = pdf_page(learner_client.get(f"{base}/certificate.pdf").get_data())
    assert "Alice Example" in after
    assert "(name as given by the holder)" in after
    verify_page = client.get(f"/verify/{uuid_of(issued)}").get_data(as_text=True)
    assert "Alice Example" in verify_page
    # The signed credential is unchanged: same bytes, still valid.
    assert learner_client.get(f"{base}/credential.jwt").get_data(as_text=True) == issued.token
    assert b"Alice Example" not in learner_client.get(f"{base}/credential.jwt").get_data()


def test_choosing_to_hide_the_name_again(learner_client, client, issue_credential):
    """Unticking the box removes the name from the PDF and the verification page."""
    issued = issue_credential(learner="alice")
    base = f"/my/{uuid_of(issued)}"
    token = csrf_of(learner_client, base)
    learner_client.post(f"{base}/name", data={"csrf_token": token, "show_name": "on",
                                              "display_name": "Alice Example"})
    learner_client.post(f"{base}/name", data={"csrf_token": token,
                                              "display_name": "Alice Example"})
    text, _ = pdf_page(learner_client.get(f"{base}/certificate.pdf").get_data())
    assert "Alice Example" not in text
    assert "Alice Example" not in client.get(f"/verify/{uuid_of(issued)}").get_data(as_text=True)


def test_name_form_needs_the_csrf_token(learner_client, issue_credential):
    """A name change without the session's CSRF token is refused and changes nothing."""
    issued = issue_credential(learner="alice")
    base = f"/my/{uuid_of(issued)}"
    csrf_of(learner_client, base)
    answer = learner_client.post(f"{base}/name", data={"show_name": "on",
                                                       "display_name": "Mallory"})
    assert answer.status_code == 400
    cross_site = learner_client.post(
        f"{base}/name", data={"csrf_token": csrf_of(learner_client, base), "show_name": "on",
                              "display_name": "Mallory"},
        headers={"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    assert "Mallory" not in learner_client.get(base).get_data(as_text=True)


def test_name_of_another_learners_certificate_cannot_be_changed(app, hub, issue_credential):
    """Alice cannot set a name on Bob's certificate: 404, nothing stored."""
    bobs = issue_credential(learner="bob")
    alice = signed_in(app, hub, "alice")
    token = csrf_of(alice, "/")
    answer = alice.post(f"/my/{uuid_of(bobs)}/name", data={
        "csrf_token": token, "show_name": "on", "display_name": "Mallory"})
    assert answer.status_code == 404
    bob = signed_in(app, hub, "bob")
    assert "Mallory" not in bob.get(f"/my/{uuid_of(bobs)}").get_data(as_text=True)


@pytest.mark.parametrize("name", ["", "N" * 10_000, "bad\x00name"])
def test_bad_names_are_refused(learner_client, issue_credential, name):
    """An empty, 10 KB or control-character name is refused with 400; nothing is stored."""
    issued = issue_credential(learner="alice")
    base = f"/my/{uuid_of(issued)}"
    answer = learner_client.post(f"{base}/name", data={
        "csrf_token": csrf_of(learner_client, base), "show_name": "on", "display_name": name})
    assert answer.status_code == 400
    text, _ = pdf_page(learner_client.get(f"{base}/certificate.pdf").get_data())
    assert "Holder identified by the credential" in text


def test_pages_carry_the_security_headers(learner_client, issue_credential):
    """The learner's pages and downloads have the CSP, nosniff and no-cache headers."""
    issued = issue_credential(learner="alice")
    for path in ("/my/", f"/my/{uuid_of(issued)}", f"/my/{uuid_of(issued)}/certificate.pdf"):
        answer = learner_client.get(path)
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    download = learner_client.get(f"/my/{uuid_of(issued)}/credential.jwt")
    assert "no-store" in download.headers["Cache-Control"]


def _now():
    """Return the current UTC time."""
    from certificates.models import utcnow

    return utcnow()


def test_status_shows_revoked_and_expired(learner_client, staff_client, service_issuer,
                                          issue_credential):
    """The learner sees a revoked certificate as revoked and a lapsed one as expired."""
    from datetime import timedelta

    from certificates.db import write_session
    from certificates.models import Credential, utcnow

    revoked = issue_credential(learner="alice")
    lapsed = issue_credential(learner="alice", achievement_id="foundations-a2")
    answer = staff_client.post(f"/admin/credentials/{uuid_of(revoked)}/status", data={
        "csrf_token": csrf_of(staff_client, f"/admin/credentials/{uuid_of(revoked)}"),
        "action": "revoke", "reason_category": "issued_in_error", "reason": "test"})
    assert answer.status_code in (302, 303)
    with write_session(service_issuer.engine) as session:
        session.get(Credential, lapsed.serial).valid_until = utcnow() - timedelta(days=1)
    assert 'id="status">Revoked<' in learner_client.get(
        f"/my/{uuid_of(revoked)}?lang=en").get_data(as_text=True)
    assert 'id="status">有効期限切れ<' in learner_client.get(
        f"/my/{uuid_of(lapsed)}?lang=ja").get_data(as_text=True)


def test_a_signed_name_is_shown_as_signed(learner_client, issue_credential):
    """When the issuer signed the learner's name, the learner can show or hide only that name."""
    issued = issue_credential(learner="alice", display_name="Alice Signed", show_name=True)
    base = f"/my/{uuid_of(issued)}"
    page = learner_client.get(f"{base}?lang=en").get_data(as_text=True)
    assert 'name="display_name"' not in page
    assert "The signed credential names you" in page
    token = csrf_of(learner_client, base)
    learner_client.post(f"{base}/name", data={"csrf_token": token})
    hidden, _ = pdf_page(learner_client.get(f"{base}/certificate.pdf").get_data())
    assert "Alice Signed" not in hidden
    learner_client.post(f"{base}/name", data={"csrf_token": token, "show_name": "on",
                                              "display_name": "Mallory"})
    shown, _ = pdf_page(learner_client.get(f"{base}/certificate.pdf").get_data())
    assert "Alice Signed" in shown
    assert "Mallory" not in shown
    assert "(name as given by the holder)" not in shown
