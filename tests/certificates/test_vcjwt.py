"""Tests of VC-JWT signing and the JWS checks that choose no key from the token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from certificates import vcjwt
from certificates.errors import MalformedCredential, SignatureInvalid, UnknownKey
from certificates.keys import public_jwk

from .conftest import BASE, NOW


def b64(data: bytes) -> str:
    """Encode base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def part(obj: dict) -> str:
    """Encode a JSON object as a JWS segment."""
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def decode_part(segment: str) -> dict:
    """Decode a JWS segment into JSON."""
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def forge(header: dict, payload: dict, sign) -> str:
    """Assemble a token with *sign* applied to the signing input."""
    signing_input = f"{part(header)}.{part(payload)}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def test_header_and_mirrored_claims(issue, keystore, make_credential):
    """Header is EdDSA/JWT/kid and the registered claims mirror the credential."""
    data = make_credential()
    token = issue(data)
    header, payload = (decode_part(s) for s in token.split(".")[:2])
    assert header == {"alg": "EdDSA", "kid": keystore.active().kid, "typ": "JWT"}
    assert payload["iss"] == BASE and payload["jti"] == data["id"]
    assert payload["nbf"] == int(NOW.timestamp()) and payload["iat"] == int(NOW.timestamp())
    assert payload["exp"] == int(datetime(2029, 5, 31, 9, tzinfo=UTC).timestamp())
    assert "sub" not in payload  # the subject is a hashed identifier, not an id
    assert vcjwt.check_claims(payload) == data


def test_pyjwt_verifies_with_the_public_key(issue, keystore):
    """PyJWT, given only the public key, accepts the token."""
    token = issue()
    public = keystore.active().public_key
    claims = jwt.decode(token, public, algorithms=["EdDSA"],
                        options={"verify_exp": False, "verify_nbf": False})
    assert claims["iss"] == BASE
    from_jwk = jwt.PyJWK({**public_jwk(public), "alg": "EdDSA"})
    assert jwt.decode(token, from_jwk, algorithms=["EdDSA"],
                      options={"verify_exp": False, "verify_nbf": False})["jti"] == claims["jti"]


def test_raw_ed25519_verification_accepts(issue, keystore):
    """cryptography's Ed25519 verify over header.payload accepts the signature."""
    token = issue()
    signing_input, _, signature = token.rpartition(".")
    keystore.active().public_key.verify(
        base64.urlsafe_b64decode(signature + "=="), signing_input.encode())


def test_verify_token_returns_claims(issue, keystore):
    """A genuine token verifies and names its key and signing time."""
    verified = vcjwt.verify_token(issue(), keystore.trusted_keys())
    assert verified.kid == keystore.active().kid and verified.signed_at == NOW


def test_alg_none_is_refused(issue, keystore):
    """An unsigned token (alg none) is refused."""
    header_b64, payload_b64, _ = issue().split(".")
    header = decode_part(header_b64) | {"alg": "none"}
    with pytest.raises(SignatureInvalid, match="none"):
        vcjwt.verify_token(f"{part(header)}.{payload_b64}.", keystore.trusted_keys())
    with pytest.raises(SignatureInvalid):
        vcjwt.verify_token(f"{part(header)}.{payload_b64}.AA", keystore.trusted_keys())


def test_hs256_with_the_public_key_as_secret_is_refused(issue, keystore):
    """HMAC keyed with the public key (raw or PEM) never verifies."""
    payload = decode_part(issue().split(".")[1])
    public = keystore.active().public_key
    for secret in (public.public_bytes(serialization.Encoding.Raw,
                                       serialization.PublicFormat.Raw),
                   public.public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)):
        token = forge({"alg": "HS256", "kid": keystore.active().kid, "typ": "JWT"}, payload,
                      lambda data, s=secret: hmac.new(s, data, hashlib.sha256).digest())
        with pytest.raises(SignatureInvalid, match="HS256"):
            vcjwt.verify_token(token, keystore.trusted_keys())


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_other_asymmetric_algorithms_are_refused(issue, keystore, algorithm):
    """RS256 and ES256 tokens are refused even when they name the issuer's kid."""
    payload = decode_part(issue().split(".")[1])
    key = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
           if algorithm == "RS256" else ec.generate_private_key(ec.SECP256R1()))
    token = jwt.encode(payload, key, algorithm=algorithm,
                       headers={"kid": keystore.active().kid, "typ": "JWT"})
    with pytest.raises(SignatureInvalid, match=algorithm):
        vcjwt.verify_token(token, keystore.trusted_keys())


@pytest.mark.parametrize("header", ["jwk", "jku", "x5u", "x5c"])
def test_embedded_keys_are_never_used(issue, keystore, attacker_key, header):
    """A token re-signed by an attacker who embeds the key (CVE-2018-0114) is refused."""
    payload = decode_part(issue().split(".")[1])
    value = {"jwk": public_jwk(attacker_key.private_key.public_key()),
             "jku": "https://attacker.example/jwks.json",
             "x5u": "https://attacker.example/cert.pem", "x5c": ["MIIB"]}[header]
    for kid in (attacker_key.kid, keystore.active().kid):
        token = forge({"alg": "EdDSA", "kid": kid, "typ": "JWT", header: value}, payload,
                      attacker_key.private_key.sign)
        with pytest.raises(UnknownKey, match=header):
            vcjwt.verify_token(token, keystore.trusted_keys())


def test_attacker_key_with_the_issuers_kid_does_not_verify(issue, keystore, attacker_key):
    """Re-signing with another key under the issuer's kid fails the signature check."""
    payload = decode_part(issue().split(".")[1])
    token = forge({"alg": "EdDSA", "kid": keystore.active().kid, "typ": "JWT"}, payload,
                  attacker_key.private_key.sign)
    with pytest.raises(SignatureInvalid):
        vcjwt.verify_token(token, keystore.trusted_keys())


def test_unknown_kid_is_refused(issue, keystore, attacker_key):
    """A token from a key the issuer never published is unknown_key."""
    with pytest.raises(UnknownKey, match="not one the issuer publishes"):
        vcjwt.verify_token(issue(key=attacker_key), keystore.trusted_keys())


def test_missing_kid_is_refused(issue, keystore):
    """A token that names no key is refused."""
    payload = decode_part(issue().split(".")[1])
    token = forge({"alg": "EdDSA", "typ": "JWT"}, payload,
                  keystore.signing_key().private_key.sign)
    with pytest.raises(UnknownKey, match="kid"):
        vcjwt.verify_token(token, keystore.trusted_keys())


@pytest.mark.parametrize("extra", [{"crit": ["exp"], "exp": 1}, {"crit": ["b64"], "b64": False},
                                   {"typ": "at+jwt"}, {"zip": "DEF"}])
def test_unknown_or_critical_headers_are_refused(issue, keystore, extra):
    """crit, unexpected typ and unknown header members are refused even when signed."""
    payload = decode_part(issue().split(".")[1])
    header = {"alg": "EdDSA", "kid": keystore.active().kid, "typ": "JWT"} | extra
    token = forge(header, payload, keystore.signing_key().private_key.sign)
    with pytest.raises(SignatureInvalid):
        vcjwt.verify_token(token, keystore.trusted_keys())


def test_vc_jose_cose_typ_is_accepted(issue, keystore):
    """typ vc+jwt (VC-JOSE-COSE) verifies as well as JWT."""
    payload = decode_part(issue().split(".")[1])
    header = {"alg": "EdDSA", "kid": keystore.active().kid, "typ": "vc+jwt"}
    token = forge(header, payload, keystore.signing_key().private_key.sign)
    assert vcjwt.verify_token(token, keystore.trusted_keys()).header["typ"] == "vc+jwt"


def test_non_canonical_base64_is_refused(issue, keystore):
    """Padding or unused low bits in the signature make the token invalid."""
    token = issue()
    with pytest.raises(MalformedCredential):
        vcjwt.verify_token(token + "==", keystore.trusted_keys())
    head, _, signature = token.rpartition(".")
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    sibling = last[last.index(signature[-1]) ^ 1]  # same 2 significant bits, other padding
    with pytest.raises(SignatureInvalid):
        vcjwt.verify_token(f"{head}.{signature[:-1]}{sibling}", keystore.trusted_keys())


@pytest.mark.parametrize("claim, value", [("iss", "https://attacker.example"),
                                          ("jti", "urn:uuid:00000000-0000-4000-8000-000000000000"),
                                          ("nbf", 0), ("exp", 4102444800),
                                          ("sub", "did:example:someone")])
def test_claims_must_agree_with_the_body(issue, claim, value):
    """A registered claim that disagrees with the credential is refused."""
    payload = decode_part(issue().split(".")[1])
    payload[claim] = value
    with pytest.raises(MalformedCredential, match=claim):
        vcjwt.check_claims(payload)


def test_claims_cannot_be_signed_twice(make_credential, keystore):
    """A credential that already carries registered claims is not signed."""
    with pytest.raises(MalformedCredential, match="iss"):
        vcjwt.sign(make_credential() | {"iss": BASE}, keystore.signing_key(), signed_at=NOW)


def test_employer_pyjwt_example_runs(issue, keystore, tmp_path, monkeypatch, capsys):
    """The PyJWT example in docs/employers.md verifies a credential and prints its name."""
    import re
    import warnings
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "employers.md").read_text("utf-8")
    (example,) = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    (tmp_path / "credential.jwt").write_text(issue() + "\n")
    (tmp_path / "jwks.json").write_text(json.dumps(keystore.jwks(issuer=BASE)))
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        # The example leaves files to be closed on release, as a short script may.
        warnings.simplefilter("ignore", ResourceWarning)
        exec(compile(example, "employers.md", "exec"), {})
    assert "Quantum Gate-Model Engineer" in capsys.readouterr().out


def test_remembered_signature_is_bound_to_its_key(issue, keystore, attacker_key):
    """A signature verified once does not verify again under another key with the same kid."""
    from certificates.keys import IssuerKey, TrustedKeys

    token = issue()
    vcjwt.verify_token(token, keystore.trusted_keys())
    impostor = IssuerKey(keystore.active().kid, attacker_key.private_key.public_key(), "active",
                         NOW)
    with pytest.raises(SignatureInvalid):
        vcjwt.verify_token(token, TrustedKeys([impostor]))
