"""Tests of OpenBadgeCredential building (privacy included) and strict parsing."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import timedelta

import pytest

from certificates import credential as cred
from certificates.errors import MalformedCredential

from .conftest import BASE, INDEX, NOW

DIGEST = hashlib.sha256(b"submitted notebook").hexdigest()


def test_credential_has_the_vc2_and_ob3_shape(make_credential):
    """Contexts, types, id, issuer profile, dates and name follow VC 2.0 and OB 3.0."""
    data = make_credential()
    assert data["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert data["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert data["id"].startswith("urn:uuid:")
    assert data["issuer"] == {"id": BASE, "type": ["Profile"], "name": "qcampus", "url": BASE}
    assert data["validFrom"] == "2026-06-01T09:00:00Z"
    assert data["validUntil"] == "2029-05-31T09:00:00Z"
    assert data["credentialSubject"]["type"] == ["AchievementSubject"]
    assert data["credentialSubject"]["achievement"]["id"] == f"{BASE}/achievements/gate-engineer-b1"


def test_status_entries_are_bitstring_entries(make_credential):
    """Both status entries name their purpose, a string index and the shared list URL."""
    entries = make_credential()["credentialStatus"]
    assert entries == [
        {"id": f"{BASE}/status/{purpose}#{INDEX}", "type": "BitstringStatusListEntry",
         "statusPurpose": purpose, "statusListIndex": str(INDEX),
         "statusListCredential": f"{BASE}/status/{purpose}"}
        for purpose in ("revocation", "suspension")]


def test_one_status_entry_is_one_object_and_stands_for_suspension_too(make_credential):
    """Open Badges 3.0 allows one credentialStatus object: qcampus names its revocation entry,
    and the suspension list at the same index applies as well."""
    revocation = cred.StatusEntry("revocation", INDEX, f"{BASE}/status/revocation")
    data = make_credential(status=[revocation])
    assert data["credentialStatus"] == revocation.to_json()
    parsed = cred.parse(data)
    assert parsed.status == {
        "revocation": revocation,
        "suspension": cred.StatusEntry("suspension", INDEX, f"{BASE}/status/suspension")}


def test_a_revocation_list_elsewhere_implies_no_suspension(make_credential):
    """Only a list at the issuer's .../status/revocation path implies the suspension list."""
    revocation = cred.StatusEntry("revocation", INDEX, f"{BASE}/lists/7")
    assert cred.parse(make_credential(status=[revocation])).status == {"revocation": revocation}


def test_learner_is_a_salted_hash(make_credential):
    """The identifier is sha256(identity + salt), hashed, and the identity never appears."""
    data = make_credential(learner=cred.Learner("ada@example.org", "Ada Lovelace", salt="s4lt"))
    (identifier,) = data["credentialSubject"]["identifier"]
    expected = "sha256$" + hashlib.sha256(b"ada@example.org" + b"s4lt").hexdigest()
    assert identifier == {"type": "IdentityObject", "identityType": "identifier",
                          "hashed": True, "identityHash": expected, "salt": "s4lt"}
    text = json.dumps(data, ensure_ascii=False)
    assert "ada@example.org" not in text and "Ada Lovelace" not in text


def test_each_credential_gets_a_fresh_salt(make_credential):
    """Two credentials of one learner carry different hashes, so they cannot be linked."""
    first, second = make_credential(), make_credential()
    hashes = {d["credentialSubject"]["identifier"][0]["identityHash"] for d in (first, second)}
    assert len(hashes) == 2


def test_name_only_when_the_learner_chose_it(make_credential):
    """The display name appears only with show_name."""
    shown = make_credential(learner=cred.Learner("ada", "Ada Lovelace", show_name=True))
    hashed, named = shown["credentialSubject"]["identifier"]
    assert hashed["hashed"] is True
    assert named == {"type": "IdentityObject", "identityType": "name", "hashed": False,
                     "identityHash": "Ada Lovelace"}
    assert cred.shown_name(shown) == "Ada Lovelace"
    assert cred.shown_name(make_credential(learner=cred.Learner("ada", "Ada Lovelace"))) is None
    assert "name" not in shown["credentialSubject"]


def test_no_grades_or_evidence_without_consent(make_credential):
    """A result and evidence given without consent are left out."""
    data = make_credential(result="87/100", evidence=[cred.Evidence(DIGEST, "Exam, form 7")])
    assert "result" not in data["credentialSubject"] and "evidence" not in data
    assert "87/100" not in json.dumps(data)


def test_grades_and_evidence_with_consent(make_credential):
    """With consent the grade is a Result and evidence names the work by hash only."""
    data = make_credential(result="87/100", evidence=[cred.Evidence(DIGEST, "Exam, form 7")],
                           consent=cred.Consent(results=True, evidence=True))
    assert data["credentialSubject"]["result"] == [{"type": ["Result"], "value": "87/100"}]
    (evidence,) = data["evidence"]
    assert evidence["id"].startswith("ni:///sha-256;") and evidence["type"] == ["Evidence"]
    assert set(evidence) == {"id", "type", "name"}


def test_evidence_digest_must_be_sha256():
    """Evidence refuses anything but a SHA-256 hex digest (no content by mistake)."""
    with pytest.raises(MalformedCredential):
        cred.Evidence("print('my answer')", "Exam").to_json()


def test_naive_or_inverted_dates_are_refused(make_credential):
    """Naive datetimes and validUntil before validFrom are refused."""
    with pytest.raises(MalformedCredential):
        make_credential(valid_from=NOW.replace(tzinfo=None))
    with pytest.raises(MalformedCredential):
        make_credential(valid_until=NOW - timedelta(days=1))


def test_parse_accepts_what_build_makes(make_credential):
    """parse() reads a built credential and exposes its status entries."""
    parsed = cred.parse(make_credential())
    assert parsed.issuer_id == BASE and parsed.valid_from == NOW
    assert parsed.status["revocation"].index == INDEX


@pytest.mark.parametrize("context", [
    ["https://www.w3.org/ns/credentials/v2"],
    ["https://www.w3.org/ns/credentials/v2",
     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
     "https://attacker.example/context.json"],
    ["https://www.w3.org/ns/credentials/v2",
     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
     {"name": "https://attacker.example/vocab#grade"}],
    ["https://www.w3.org/ns/credentials/v2",
     {"@context": {"OpenBadgeCredential": "https://attacker.example/Free"}}],
    ["https://www.w3.org/2018/credentials/v1",
     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
    "https://www.w3.org/ns/credentials/v2",
])
def test_unknown_or_remapping_contexts_are_refused(make_credential, context):
    """Any @context other than the exact two URLs is refused, inline remaps included."""
    data = make_credential()
    data["@context"] = context
    with pytest.raises(MalformedCredential, match="@context"):
        cred.parse(data)


@pytest.mark.parametrize("change", [
    lambda d: d.update(proof={"type": "DataIntegrityProof",
                              "verificationMethod": "did:key:attacker"}),
    lambda d: d.update(grade="A+"),
    lambda d: d.update(id="42"),
    lambda d: d.update(type=["VerifiableCredential"]),
    lambda d: d.update(issuer="https://campus.example.org/services/qcampus"),
    lambda d: d.update(validFrom="yesterday"),
    lambda d: d.update(validFrom="2026-06-01T09:00:00"),
    lambda d: d["credentialSubject"].update(type="AchievementSubject"),
    lambda d: d["credentialSubject"].pop("identifier"),
    lambda d: d["credentialSubject"]["identifier"][0].update(identityHash="ada"),
    lambda d: d["credentialStatus"][0].update(statusListIndex=5),
    lambda d: d["credentialStatus"][0].update(statusListIndex="-1"),
    lambda d: d["credentialStatus"][0].update(statusPurpose="message"),
    lambda d: d["credentialStatus"][0].update(id="https://elsewhere/#1"),
    lambda d: d["credentialStatus"].append(copy.deepcopy(d["credentialStatus"][0])),
    lambda d: d.update(validUntil=d["validFrom"]),
])
def test_structural_problems_are_refused(make_credential, change):
    """Proofs, unknown properties and malformed fields fail closed."""
    data = make_credential()
    change(data)
    with pytest.raises(MalformedCredential):
        cred.parse(data)
