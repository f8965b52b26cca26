"""Tests of the issuer's did:web identifier and DID document."""

from __future__ import annotations

import pytest

from certificates import did
from certificates.errors import KeyStoreError

from .conftest import NOW


def test_did_web_document_lists_every_key(keystore):
    """The did:web document has a JsonWebKey method per key; compromised ones are revoked."""
    first = keystore.active().kid
    keystore.mark_compromised(first, NOW)
    second = keystore.active().kid
    doc = keystore.did_web_document("campus.example.org:8443", "services/qcampus")
    did = "did:web:campus.example.org%3A8443:services:qcampus"
    assert doc["id"] == did
    methods = {m["id"]: m for m in doc["verificationMethod"]}
    assert set(methods) == {f"{did}#{first}", f"{did}#{second}"}
    assert all(m["type"] == "JsonWebKey" and m["controller"] == did for m in methods.values())
    assert "revoked" in methods[f"{did}#{first}"]
    assert doc["assertionMethod"] == [f"{did}#{second}"]


@pytest.mark.parametrize("domain, path, expected", [
    ("campus.example.org", None, "did:web:campus.example.org"),
    ("campus.example.org", "/services/qcampus/", "did:web:campus.example.org:services:qcampus"),
    ("localhost:8000", "a b", "did:web:localhost%3A8000:a%20b"),
])
def test_web_did_encodes_port_and_path(domain, path, expected):
    """Ports are percent-encoded and path segments become colon-separated parts."""
    assert did.web_did(domain, path) == expected


def test_web_did_refuses_urls():
    """A URL where a host name belongs is refused."""
    with pytest.raises(KeyStoreError):
        did.web_did("https://campus.example.org")
