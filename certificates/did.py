"""The issuer's ``did:web`` identifier and DID document.

A ``did:web`` DID is resolved by fetching ``https://<domain>/<path>/did.json``
(or ``/.well-known/did.json`` without a path). The document lists every issuer
key as a ``JsonWebKey`` verification method whose fragment is the key's
``kid``; compromised keys carry ``revoked`` (Controlled Identifiers v1.0) and
are left out of ``assertionMethod``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from certificates.errors import KeyStoreError
from certificates.keys import IssuerKey, format_time, public_jwk


def web_did(domain: str, path: str | None = None) -> str:
    """Return the ``did:web`` identifier for *domain* and optional *path*."""
    if not domain or "/" in domain:
        raise KeyStoreError(f"A did:web domain is a host name (and port), not {domain!r}.")
    parts = [domain.replace(":", "%3A")]
    if path:
        parts += [quote(segment, safe="") for segment in path.strip("/").split("/") if segment]
    return "did:web:" + ":".join(parts)


def web_document(keys: list[IssuerKey], domain: str, path: str | None = None) \
        -> dict[str, Any]:
    """Build a ``did:web`` DID document listing *keys* (see :meth:`KeyStore.did_web_document`)."""
    did = web_did(domain, path)
    methods = []
    for key in keys:
        method: dict[str, Any] = {
            "id": f"{did}#{key.kid}",
            "type": "JsonWebKey",
            "controller": did,
            "publicKeyJwk": public_jwk(key.public_key),
        }
        if key.compromised_at is not None:
            method["revoked"] = format_time(key.compromised_at)
        methods.append(method)
    usable = [f"{did}#{key.kid}" for key in keys if key.status != "compromised"]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": usable,
    }
