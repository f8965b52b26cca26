"""Tests of the issuer key store, JWKS, did:web document and trusted keys."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates.errors import KeyStoreError, UnknownKey
from certificates.keys import KeyStore, TrustedKeys, public_jwk, thumbprint

from .conftest import NOW


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_creates_private_files(keystore):
    """The directory is 0700 and every file in it 0600."""
    assert _mode(keystore.directory) == 0o700
    files = list(keystore.directory.iterdir())
    assert {p.suffix for p in files} >= {".pem", ".json"}
    assert all(_mode(p) == 0o600 for p in files)


def test_ensure_is_idempotent(keystore):
    """A second ensure() keeps the existing active key."""
    kid = keystore.active().kid
    assert keystore.ensure().kid == kid
    assert len(keystore.keys()) == 1


def test_kid_is_the_rfc7638_thumbprint(keystore):
    """The kid is SHA-256 over the required JWK members in lexicographic order."""
    jwk = public_jwk(keystore.active().public_key)
    members = '{"crv":"Ed25519","kty":"OKP","x":"' + jwk["x"] + '"}'
    expected = base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest())
    assert keystore.active().kid == expected.rstrip(b"=").decode()


def test_rfc8037_thumbprint_example():
    """The thumbprint of the RFC 8037 example key matches the RFC's value."""
    d = base64.urlsafe_b64decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
    public = Ed25519PrivateKey.from_private_bytes(d).public_key()
    assert public_jwk(public)["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert thumbprint(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_key_readable_by_others_is_refused(keystore, mode):
    """A private key file readable by group or others is refused with the fix named."""
    kid = keystore.active().kid
    os.chmod(keystore.directory / f"{kid}.pem", mode)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        KeyStore(keystore.directory).signing_key()


def test_missing_store_says_how_to_create_keys(tmp_path):
    """A store without keys tells the operator to run qcampus init."""
    with pytest.raises(KeyStoreError, match="qcampus init"):
        KeyStore(tmp_path / "none").signing_key()


def test_rotate_retires_and_still_publishes(keystore):
    """After rotation a new key signs and the old one stays in the JWKS as retired."""
    old = keystore.active().kid
    new = keystore.rotate(now=NOW).kid
    assert new != old and keystore.signing_key().kid == new
    published = {k["kid"]: k["status"] for k in keystore.jwks()["keys"]}
    assert published == {old: "retired", new: "active"}
    assert keystore.trusted_keys().key_for(old, NOW + timedelta(days=400))


def test_mark_compromised_records_the_moment(keystore):
    """A compromised key verifies signatures before the moment, not at or after it."""
    kid = keystore.active().kid
    at = NOW + timedelta(hours=1)
    keystore.mark_compromised(kid, at)
    trusted = keystore.trusted_keys()
    assert trusted.key_for(kid, at - timedelta(seconds=1))
    with pytest.raises(UnknownKey, match="compromised"):
        trusted.key_for(kid, at)
    assert keystore.signing_key().kid != kid  # issuing continues with a fresh key
    jwk = next(k for k in keystore.jwks()["keys"] if k["kid"] == kid)
    assert jwk["status"] == "compromised" and jwk["revoked"] == "2026-06-01T10:00:00Z"


def test_mark_compromised_needs_a_known_kid_and_time_zone(keystore):
    """Unknown kids and naive times are refused."""
    with pytest.raises(KeyStoreError, match="Unknown key"):
        keystore.mark_compromised("nope", NOW)
    with pytest.raises(KeyStoreError, match="time zone"):
        keystore.mark_compromised(keystore.active().kid, NOW.replace(tzinfo=None))


def test_jwks_holds_no_private_material(keystore):
    """The JWKS publishes x, never d."""
    keystore.rotate(now=NOW)
    for jwk in keystore.jwks()["keys"]:
        assert "d" not in jwk and jwk["kty"] == "OKP" and jwk["alg"] == "EdDSA"


def test_trusted_keys_round_trip_through_jwks(keystore):
    """TrustedKeys read from the published JWKS equal the store's, compromise included."""
    old = keystore.active().kid
    keystore.mark_compromised(old, NOW)
    published = json.loads(json.dumps(keystore.jwks()))
    trusted = TrustedKeys.from_jwks(published)
    assert set(trusted) == set(keystore.trusted_keys())
    assert trusted[old].compromised_at == NOW


@pytest.mark.parametrize("change", [
    lambda k: k.update(kid="someone-else"),
    lambda k: k.update(crv="P-256"),
    lambda k: k.update(d="AAAA"),
    lambda k: k.update(x="not base64!"),
    lambda k: k.update(status="compromised"),
    lambda k: k.update(alg="HS256"),
])
def test_bad_jwks_entries_are_refused(keystore, change):
    """A JWKS that binds a kid to another key, or is not Ed25519, is refused."""
    jwks = keystore.jwks()
    change(jwks["keys"][0])
    with pytest.raises(KeyStoreError):
        TrustedKeys.from_jwks(jwks)



def test_jwks_names_the_issuer_for_offline_verifiers(keystore):
    """A JWKS published with the issuer id carries it back into TrustedKeys."""
    published = keystore.jwks(issuer="https://campus.example.org/services/qcampus")
    assert published["issuer"] == "https://campus.example.org/services/qcampus"
    assert TrustedKeys.from_jwks(published).issuer == published["issuer"]
    assert "issuer" not in keystore.jwks() and TrustedKeys.from_jwks(keystore.jwks()).issuer is None
    with pytest.raises(KeyStoreError, match="issuer"):
        TrustedKeys.from_jwks({**published, "issuer": ["a"]})
