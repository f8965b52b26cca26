"""Tests of verify(): every outcome, every forgery and status case of THREATS 26 and 27."""

from __future__ import annotations

import base64
import copy
import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certificates import credential as cred
from certificates import statuslist, vcjwt
from certificates.credential import StatusEntry
from certificates.envelope import extract_token
from certificates.errors import StatusUnavailable
from certificates.keys import TrustedKeys, public_jwk
from certificates.statuslist import StatusDetail, StatusListDocument
from certificates.verification import EXIT_CODES, Outcome, verify

from .conftest import BASE, INDEX, NOW, list_url

LATER = NOW + timedelta(days=30)


def b64(data: bytes) -> str:
    """Encode base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode_part(segment: str) -> dict:
    """Decode a JWS segment into JSON."""
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


@pytest.fixture
def check(keystore, status_source):
    """Return verify() bound to the issuer's keys, a clean status source and LATER."""

    def run(text, *, status=..., now=LATER, keys=None, issuer_id=BASE):
        return verify(text, keys=keys or keystore.trusted_keys(), issuer_id=issuer_id,
                      status=status_source() if status is ... else status, now=now)

    return run


def test_genuine_credential_is_valid(issue, check):
    """A genuine credential with clean status lists is valid, in both languages."""
    verdict = check(issue())
    assert verdict.outcome is Outcome.VALID and verdict.valid and verdict.exit_code == 0
    assert verdict.message["en"].startswith("Valid") and "有効" in verdict.message["ja"]
    assert verdict.details["issuer"] == BASE and verdict.credential["issuer"]["id"] == BASE
    assert verdict.to_json()["outcome"] == "valid"


def test_every_outcome_has_a_distinct_exit_code():
    """Each outcome maps to its own exit code and only valid exits 0."""
    assert set(EXIT_CODES) == set(Outcome)
    assert len(set(EXIT_CODES.values())) == len(Outcome)
    assert [o for o, code in EXIT_CODES.items() if code == 0] == [Outcome.VALID]


# --- 26 (a): one field flipped, one byte changed ----------------------------------------


@pytest.mark.parametrize("change", [
    lambda c: c.update(name="Quantum Wizard"),
    lambda c: c["credentialSubject"]["achievement"].update(id=f"{BASE}/achievements/x"),
    lambda c: c.update(validUntil="2099-01-01T00:00:00Z", exp=4070908800),
    lambda c: c["credentialStatus"][0].update(statusListIndex="1"),
    lambda c: c.update({"@context": [c["@context"][0], {"name": "https://evil.example#n"}]}),
])
def test_flipped_field_is_tampered(issue, check, change):
    """Changing any field of the payload while keeping the signature is tampered."""
    header, payload, signature = issue().split(".")
    claims = decode_part(payload)
    change(claims)
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert check(forged).outcome is Outcome.TAMPERED


@pytest.mark.parametrize("where", ["payload", "signature"])
def test_changed_byte_is_tampered(issue, check, where):
    """One changed byte in the payload or the signature is tampered."""
    token = issue()
    header, payload, signature = token.split(".")
    position = len(header) + 1 + len(payload) // 2 if where == "payload" \
        else len(token) - len(signature) // 2
    replacement = "A" if token[position] != "A" else "B"
    forged = token[:position] + replacement + token[position + 1:]
    assert check(forged).outcome is Outcome.TAMPERED


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_byte_change_is_never_valid(issue, check, data):
    """Replacing any one byte of the token by any other byte never yields valid."""
    token = issue().encode()
    position = data.draw(st.integers(0, len(token) - 1), label="position")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != token[position]), label="byte")
    forged = token[:position] + bytes([byte]) + token[position + 1:]
    assert check(forged).outcome is not Outcome.VALID


# --- 26 (b): re-signed with the attacker's key --------------------------------------------


def test_attacker_key_in_jwk_header_is_unknown_key(issue, check, attacker_key):
    """A credential re-signed by an attacker who ships the key in the header is unknown_key."""
    claims = decode_part(issue().split(".")[1])
    claims["name"] = "Forged"
    header = {"alg": "EdDSA", "typ": "JWT", "kid": attacker_key.kid,
              "jwk": public_jwk(attacker_key.private_key.public_key())}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    forged = f"{signing_input}.{b64(attacker_key.private_key.sign(signing_input.encode()))}"
    verdict = check(forged)
    assert verdict.outcome is Outcome.UNKNOWN_KEY and "jwk" in verdict.details["reason"]


def test_attacker_signed_credential_is_unknown_key(make_credential, issue, check, attacker_key):
    """A credential signed with any unpublished key is unknown_key."""
    assert check(issue(key=attacker_key)).outcome is Outcome.UNKNOWN_KEY


def test_verification_method_in_the_credential_is_never_used(make_credential, check,
                                                             attacker_key):
    """A JSON credential whose proof names the attacker's verificationMethod is unknown_key."""
    document = make_credential()
    document["proof"] = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
                         "verificationMethod": f"did:key:{attacker_key.kid}",
                         "proofPurpose": "assertionMethod", "proofValue": "z3FXQ"}
    verdict = check(json.dumps(document))
    assert verdict.outcome is Outcome.UNKNOWN_KEY


def test_proof_smuggled_into_a_jwt_is_unknown_key(make_credential, issue, check, attacker_key):
    """A VC-JWT by an unpublished key carrying a verificationMethod is still unknown_key."""
    document = make_credential()
    document["proof"] = {"type": "JsonWebSignature2020",
                         "verificationMethod": {"publicKeyJwk": public_jwk(
                             attacker_key.private_key.public_key())}}
    assert check(issue(document, key=attacker_key)).outcome is Outcome.UNKNOWN_KEY


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_forbidden_algorithms_are_tampered(issue, check, keystore, alg):
    """alg none and HS256 with the public key as the secret are tampered."""
    import hashlib
    import hmac

    claims = decode_part(issue().split(".")[1])
    header = {"alg": alg, "typ": "JWT", "kid": keystore.active().kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    secret = json.dumps(public_jwk(keystore.active().public_key)).encode()
    signature = b"" if alg == "none" else hmac.new(secret, signing_input.encode(),
                                                   hashlib.sha256).digest()
    assert check(f"{signing_input}.{b64(signature)}").outcome is Outcome.TAMPERED


# --- 26 (c), (d): contexts and issuer profiles ---------------------------------------------


@pytest.mark.parametrize("context", [
    ["https://www.w3.org/ns/credentials/v2",
     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
     "https://attacker.example/context.json"],
    ["https://www.w3.org/ns/credentials/v2",
     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
     {"@protected": False, "achievement": "https://attacker.example/vocab#other"}],
])
def test_unknown_or_remapping_context_is_malformed_even_when_signed(
        make_credential, issue, check, context):
    """An unexpected @context is refused even under the issuer's own signature."""
    document = make_credential()
    document["@context"] = context
    verdict = check(issue(document))
    assert verdict.outcome is Outcome.MALFORMED and "@context" in verdict.details["reason"]


def test_issuer_profile_hosted_by_an_attacker_is_unknown_key(make_credential, issue, check,
                                                              attacker_key):
    """A credential naming an attacker's issuer id fails, with its key or with the real one."""
    from certificates.credential import IssuerProfile

    profile = IssuerProfile("https://qcampus-certs.example", "qcampus")
    document = make_credential(issuer=profile)
    for key in (attacker_key, None):
        verdict = check(issue(document, key=key))
        assert verdict.outcome is Outcome.UNKNOWN_KEY


def test_verifier_trusting_another_issuer_refuses(issue, check):
    """The issuer's own credential is unknown_key to a verifier that trusts someone else."""
    assert check(issue(), issuer_id="https://other.example").outcome is Outcome.UNKNOWN_KEY


# --- 27: status and key rotation -------------------------------------------------------


def test_revoked_bit_is_revoked_with_date_and_reason(issue, check, status_source):
    """A set revocation bit is revoked, with the source's date and reason category."""
    details = {(list_url("revocation"), INDEX): StatusDetail(
        NOW + timedelta(days=2), "academic_misconduct",
        {"en": "Academic misconduct", "ja": "学術上の不正"})}
    verdict = check(issue(), status=status_source(revoked=(INDEX,), details=details))
    assert verdict.outcome is Outcome.REVOKED and verdict.exit_code == EXIT_CODES[Outcome.REVOKED]
    assert verdict.details["revoked_at"] == "2026-06-03T09:00:00Z"
    assert verdict.details["reason_category"] == "academic_misconduct"
    assert "Academic misconduct" in verdict.message["en"] and "学術上の不正" in verdict.message["ja"]


def test_suspended_bit_is_suspended(issue, check, status_source):
    """A set suspension bit is suspended."""
    assert check(issue(), status=status_source(suspended=(INDEX,))).outcome is Outcome.SUSPENDED


def test_other_bits_do_not_affect_the_credential(issue, check, status_source):
    """Neighbouring revoked bits leave the credential valid."""
    source = status_source(revoked=(INDEX - 1, INDEX + 1), suspended=(0,))
    assert check(issue(), status=source).outcome is Outcome.VALID


def test_no_status_source_is_status_unknown(issue, check):
    """Without any status list the verdict is status_unknown, never valid."""
    verdict = check(issue(), status=None)
    assert verdict.outcome is Outcome.STATUS_UNKNOWN
    assert verdict.details["code"] == "STATUS_RETRIEVAL_ERROR"
    assert verdict.message["en"].startswith("Signature valid, status unknown")


def test_unsigned_status_list_is_status_unknown(issue, check, issuer):
    """An unsigned status list gives status_unknown with STATUS_VERIFICATION_ERROR."""
    tokens = {}
    for purpose in ("revocation", "suspension"):
        document = statuslist.build_credential(issuer=issuer, url=list_url(purpose),
                                               purpose=purpose,
                                               status_list=statuslist.StatusList(),
                                               valid_from=NOW)
        claims = vcjwt.claims_for(document, signed_at=NOW)
        unsigned_header = b64(json.dumps({"alg": "none"}).encode())
        tokens[list_url(purpose)] = f"{unsigned_header}.{b64(json.dumps(claims).encode())}."
    verdict = check(issue(), status=statuslist.MappingStatusSource(tokens))
    assert verdict.outcome is Outcome.STATUS_UNKNOWN
    assert verdict.details["code"] == "STATUS_VERIFICATION_ERROR"


def test_status_list_signed_by_attacker_is_status_unknown(issue, check, issuer, attacker_key):
    """A status list signed with another key gives status_unknown, even if it says 'clear'."""
    tokens = {list_url(p): vcjwt.sign(statuslist.build_credential(
        issuer=issuer, url=list_url(p), purpose=p, status_list=statuslist.StatusList(),
        valid_from=NOW), attacker_key, signed_at=NOW) for p in ("revocation", "suspension")}
    verdict = check(issue(), status=statuslist.MappingStatusSource(tokens))
    assert verdict.outcome is Outcome.STATUS_UNKNOWN
    assert verdict.details["code"] == "STATUS_VERIFICATION_ERROR"


def test_short_status_list_is_status_unknown(issue, check, issuer, keystore):
    """A signed list shorter than 131,072 entries gives STATUS_LIST_LENGTH_ERROR."""
    import gzip

    tokens = {}
    for purpose in ("revocation", "suspension"):
        document = statuslist.build_credential(issuer=issuer, url=list_url(purpose),
                                               purpose=purpose,
                                               status_list=statuslist.StatusList(),
                                               valid_from=NOW)
        document["credentialSubject"]["encodedList"] = "u" + b64(gzip.compress(bytes(2048)))
        tokens[list_url(purpose)] = vcjwt.sign(document, keystore.signing_key(), signed_at=NOW)
    verdict = check(issue(), status=statuslist.MappingStatusSource(tokens))
    assert verdict.outcome is Outcome.STATUS_UNKNOWN
    assert verdict.details["code"] == "STATUS_LIST_LENGTH_ERROR"


def test_out_of_range_index_is_status_unknown(make_credential, issue, check):
    """A status index beyond the list gives RANGE_ERROR, never valid."""
    status = [StatusEntry(p, statuslist.MIN_LENGTH + 5, list_url(p))
              for p in ("revocation", "suspension")]
    verdict = check(issue(make_credential(status=status)))
    assert verdict.outcome is Outcome.STATUS_UNKNOWN and verdict.details["code"] == "RANGE_ERROR"


class CachedSource:
    """A status source whose network is down but which kept a copy (stands in for an HTTP cache)."""

    def __init__(self, inner, cached_at):
        self.inner, self.cached_at = inner, cached_at

    def fetch(self, url):
        cached = StatusListDocument(self.inner.fetch(url).token, self.cached_at)
        raise StatusUnavailable(f"{url} is unreachable", cached=cached)

    def detail(self, url, index):
        return None


def test_unreachable_list_is_status_unknown(issue, check):
    """An unreachable list without a cached copy is status_unknown with STATUS_RETRIEVAL_ERROR."""
    verdict = check(issue(), status=statuslist.MappingStatusSource({}))
    assert verdict.outcome is Outcome.STATUS_UNKNOWN
    assert verdict.details["code"] == "STATUS_RETRIEVAL_ERROR"


def test_unreachable_list_with_cache_names_the_cache_time(issue, check, status_source):
    """A clean cached copy still gives status_unknown, naming when it was cached."""
    cached_at = NOW + timedelta(days=1)
    verdict = check(issue(), status=CachedSource(status_source(), cached_at))
    assert verdict.outcome is Outcome.STATUS_UNKNOWN
    assert "cached at 2026-06-02T09:00:00Z" in verdict.message["en"]
    assert "2026-06-02T09:00:00Z" in verdict.message["ja"]


def test_cached_copy_that_says_revoked_is_revoked(issue, check, status_source):
    """A cached copy with the bit set is enough to report revoked."""
    source = CachedSource(status_source(revoked=(INDEX,)), NOW)
    assert check(issue(), status=source).outcome is Outcome.REVOKED


def test_retired_key_still_verifies(issue, check, keystore):
    """A credential signed before rotation stays valid after it."""
    token = issue()
    keystore.rotate(now=NOW + timedelta(days=1))
    assert check(token).outcome is Outcome.VALID


def test_compromised_key_stops_verifying_what_it_signed_after(issue, check, keystore,
                                                              status_source):
    """After a compromise at T, what claims to be signed after T is refused; before, unconfirmed."""
    old_key = keystore.signing_key()
    before = issue()
    after = issue(key=old_key, signed_at=NOW + timedelta(days=2),
                  valid_from=NOW + timedelta(days=2))
    backdated = issue(key=old_key, signed_at=NOW, valid_from=NOW + timedelta(days=2))
    keystore.mark_compromised(old_key.kid, NOW + timedelta(days=1))
    source = status_source()  # re-signed with the new key
    assert check(before, status=source).outcome is Outcome.KEY_COMPROMISED
    verdict = check(after, status=source)
    assert verdict.outcome is Outcome.UNKNOWN_KEY and "compromised" in verdict.details["reason"]
    assert check(backdated, status=source).outcome is Outcome.UNKNOWN_KEY


def test_backdated_forgery_with_a_compromised_key_is_not_called_valid(
        issue, check, keystore, status_source, make_credential):
    """Offline, a forgery back-dated before the compromise is key_compromised, never valid.

    Without the issuer's records nothing tells it from a genuine credential of
    that time, so the verdict says what was confirmed and sends the reader online.
    """
    stolen = keystore.signing_key()
    keystore.mark_compromised(stolen.kid, NOW + timedelta(days=1))
    forged = issue(make_credential(learner=cred.Learner("mallory")), key=stolen,
                   signed_at=NOW - timedelta(days=10))
    verdict = check(forged, status=status_source(), now=NOW + timedelta(days=2))
    assert verdict.outcome is Outcome.KEY_COMPROMISED and not verdict.valid
    assert verdict.exit_code not in (0, EXIT_CODES[Outcome.STATUS_UNKNOWN])
    assert verdict.details["key_compromised_at"] == "2026-06-02T09:00:00Z"
    page = f"{BASE}/verify/{verdict.details['credential_id'].removeprefix('urn:uuid:')}"
    assert "Not confirmed" in verdict.message["en"] and "online" in verdict.message["en"]
    assert page in verdict.message["en"] and page in verdict.message["ja"]
    assert "2026-06-02T09:00:00Z" in verdict.message["en"] and "未確認" in verdict.message["ja"]
    assert not verdict.message["en"].startswith("Valid")


def test_compromised_key_with_status_unknown_is_still_key_compromised(issue, check, keystore):
    """Without status lists the verdict names both gaps: the key and the unchecked status."""
    stolen = keystore.signing_key()
    token = issue()
    keystore.mark_compromised(stolen.kid, NOW + timedelta(days=1))
    verdict = check(token, status=None)
    assert verdict.outcome is Outcome.KEY_COMPROMISED
    assert "could not be checked" in verdict.message["en"]


def test_revoked_outranks_a_compromised_key(issue, check, keystore, status_source):
    """A credential the issuer revoked is reported revoked, whatever its key."""
    stolen = keystore.signing_key()
    token = issue()
    keystore.mark_compromised(stolen.kid, NOW + timedelta(days=1))
    assert check(token, status=status_source(revoked=(INDEX,))).outcome is Outcome.REVOKED


def test_status_list_signed_after_compromise_is_refused(issue, check, keystore, issuer):
    """A status list signed with the compromised key after the compromise is not trusted."""
    old_key = keystore.signing_key()
    token = issue()
    signed_at = NOW + timedelta(days=2)
    tokens = {list_url(p): vcjwt.sign(statuslist.build_credential(
        issuer=issuer, url=list_url(p), purpose=p, status_list=statuslist.StatusList(),
        valid_from=signed_at), old_key, signed_at=signed_at) for p in ("revocation", "suspension")}
    keystore.mark_compromised(old_key.kid, NOW + timedelta(days=1))
    verdict = check(token, status=statuslist.MappingStatusSource(tokens))
    # The credential's own key is the compromised one, so it is unconfirmed offline too.
    assert verdict.outcome is Outcome.KEY_COMPROMISED
    assert verdict.details["code"] == "STATUS_VERIFICATION_ERROR"
    assert "could not be checked" in verdict.message["en"]


# --- dates -------------------------------------------------------------------------------


def test_expired_credential_is_expired(issue, check):
    """A credential past validUntil is expired."""
    verdict = check(issue(valid_until=NOW + timedelta(days=1)))
    assert verdict.outcome is Outcome.EXPIRED and "2026-06-02" in verdict.message["ja"]


def test_future_credential_is_not_yet_valid(issue, check):
    """A credential before validFrom is not_yet_valid."""
    assert check(issue(), now=NOW - timedelta(days=1)).outcome is Outcome.NOT_YET_VALID


def test_revocation_wins_over_expiry(issue, check, status_source):
    """A revoked, expired credential is reported as revoked."""
    verdict = check(issue(valid_until=NOW + timedelta(days=1)),
                    status=status_source(revoked=(INDEX,)))
    assert verdict.outcome is Outcome.REVOKED


# --- inputs and offline equivalence ------------------------------------------------------


def test_accepted_wrappers(issue, check):
    """A bare token, {"credential": …} and an EnvelopedVerifiableCredential all verify."""
    token = issue()
    envelope = {"@context": "https://www.w3.org/ns/credentials/v2",
                "type": "EnvelopedVerifiableCredential",
                "id": f"data:application/vc+jwt,{token}"}
    for text in (token, f"\n{token}\n", json.dumps({"credential": token}), json.dumps(envelope),
                 token.encode()):
        assert check(text).outcome is Outcome.VALID
    assert extract_token(json.dumps(envelope)) == token


@pytest.mark.parametrize("text", [
    "", "hello", "{not json", "[]", '{"credential": 5}', "a.b", "a.b.c.d", b"\xff\xfe\x00",
    '{"type": "EnvelopedVerifiableCredential", "id": "https://attacker.example/vc"}',
    "x" * 300_000,
])
def test_garbage_is_malformed(check, text):
    """Inputs that are not a credential in any accepted form are malformed."""
    verdict = check(text)
    assert verdict.outcome is Outcome.MALFORMED
    assert verdict.message["en"] and verdict.message["ja"]


def test_unsigned_json_credential_is_malformed(make_credential, check):
    """A bare JSON credential without any proof is malformed (nothing vouches for it)."""
    assert check(json.dumps(make_credential())).outcome is Outcome.MALFORMED


def test_offline_and_online_give_the_same_verdicts(issue, keystore, status_source, tmp_path,
                                                   attacker_key):
    """Published JWKS + status list files give the verdicts of the key store + live source."""
    source = status_source(revoked=(INDEX,))
    files = []
    for purpose in ("revocation", "suspension"):
        path = tmp_path / f"{purpose}.jwt"
        path.write_text(source.fetch(list_url(purpose)).token)
        files.append(path)
    offline_keys = TrustedKeys.from_jwks(json.loads(json.dumps(keystore.jwks())))
    header, payload, signature = issue().split(".")
    cases = [issue(), f"{header}.{payload[:-2]}AA.{signature}", issue(key=attacker_key), "junk"]
    for text in cases:
        online = verify(text, keys=keystore.trusted_keys(), issuer_id=BASE, status=source,
                        now=LATER)
        offline = verify(text, keys=offline_keys, issuer_id=BASE,
                         status=statuslist.FileStatusSource(files), now=LATER)
        assert online.outcome is offline.outcome
        assert online.details.get("code") == offline.details.get("code")


def test_unknown_key_verdict_names_the_kid(issue, check, attacker_key):
    """An unknown_key verdict reports which kid the token named."""
    verdict = check(issue(key=attacker_key))
    assert verdict.details["kid"] == attacker_key.kid


ODD_VALUES = [None, 0, -1, 1.5, True, "", "x", [], {}, [1], {"a": 1}, 10**30,
              "2026-01-01T00:00:00Z", "urn:uuid:zz"]


def _paths(value, prefix=()):
    """Yield the path of every member and item inside *value*."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_oddly_shaped_signed_payloads_give_a_verdict(issue, check, keystore, data):
    """A payload the issuer's key signed but of any odd shape gives a verdict, never a crash."""
    header, payload, _ = issue().split(".")
    claims = decode_part(payload)
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        path = data.draw(st.sampled_from(list(_paths(claims))), label="path")
        target = claims
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = copy.deepcopy(data.draw(st.sampled_from(ODD_VALUES), label="value"))
    signing_input = f"{header}.{b64(json.dumps(claims).encode())}"
    signature = keystore.signing_key().private_key.sign(signing_input.encode())
    verdict = check(f"{signing_input}.{b64(signature)}")
    assert verdict.outcome in set(Outcome)


@pytest.mark.parametrize("text", [
    "[" * 100_000,
    '{"credential":' * 50_000,
    f"{b64(b'[' * 50_000)}.{b64(b'{}')}.AA",
])
def test_deeply_nested_json_is_refused_not_crashed(check, text):
    """Absurdly nested JSON, outside or in the JWT header, gives a verdict, never a crash."""
    assert check(text).outcome in {Outcome.MALFORMED, Outcome.TAMPERED}
