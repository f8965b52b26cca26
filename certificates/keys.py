"""The issuer's Ed25519 signing keys: generation, rotation, compromise, publication.

A :class:`KeyStore` is a directory (mode 0700; in a deployment
``<QCAMPUS_HOME>/secrets/issuer-keys``) holding one PEM file per private key
(``<kid>.pem``, mode 0600) and ``keys.json``, the state of every key. A key's
``kid`` is its RFC 7638 JWK thumbprint. Exactly one key is *active* and signs;
:meth:`KeyStore.rotate` retires it (it keeps verifying what it signed) and
makes a new one active; :meth:`KeyStore.mark_compromised` records the moment
from which a key's signatures are no longer trusted.

The published JWKS (:meth:`KeyStore.jwks`) lists every key with standard JWK
members plus three documented extension members that RFC 7517 allows and
JOSE libraries ignore:

- ``status``: ``"active"``, ``"retired"`` or ``"compromised"``;
- ``created``: when the key was generated (XML Schema dateTime, UTC);
- ``revoked``: for a compromised key, the moment from which its signatures are
  rejected (the name Controlled Identifiers v1.0 gives this property).

:class:`TrustedKeys` is what verifiers hold: built from a :class:`KeyStore` or
from a published JWKS, it answers "may this kid verify something signed at T?".
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KeyStatus = Literal["active", "retired", "compromised"]
STATE_FILE = "keys.json"


def thumbprint(public_key: Ed25519PublicKey) -> str:
    """Return the RFC 7638 JWK thumbprint (SHA-256, base64url) of *public_key*."""
    raise NotImplementedError


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """Return the bare OKP/Ed25519 JWK of *public_key* (``kty``, ``crv``, ``x``)."""
    raise NotImplementedError


@dataclass(frozen=True)
class IssuerKey:
    """The public half of an issuer key and its life cycle."""

    kid: str
    public_key: Ed25519PublicKey
    status: KeyStatus
    created: datetime
    retired_at: datetime | None = None
    compromised_at: datetime | None = None

    def jwk(self) -> dict[str, str]:
        """Return the published JWK: key, ``kid``, ``alg``, ``use`` and life-cycle members."""
        raise NotImplementedError

    def trusts(self, signed_at: datetime) -> bool:
        """Return whether a signature made at *signed_at* is still trusted.

        Active and retired keys are trusted; a compromised key only for
        signatures made strictly before its compromise moment.
        """
        raise NotImplementedError


@dataclass(frozen=True)
class SigningKey:
    """The active private key and its ``kid``."""

    kid: str
    private_key: Ed25519PrivateKey


class TrustedKeys(Mapping[str, IssuerKey]):
    """The keys a verifier trusts for one issuer, by ``kid``."""

    def __init__(self, keys: Mapping[str, IssuerKey] | list[IssuerKey]) -> None:
        raise NotImplementedError

    @classmethod
    def from_jwks(cls, jwks: object) -> TrustedKeys:
        """Build from a published JWKS document (a dict with ``keys``).

        Only ``OKP``/``Ed25519`` keys are accepted; each ``kid`` must equal the
        key's thumbprint, so a JWKS cannot bind one kid to another key.

        Raises:
            KeyStoreError: the document is not such a JWKS.
        """
        raise NotImplementedError

    def __getitem__(self, kid: str) -> IssuerKey:
        raise NotImplementedError

    def __iter__(self) -> Iterator[str]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def key_for(self, kid: str, signed_at: datetime) -> Ed25519PublicKey:
        """Return the public key *kid* if it may verify a signature made at *signed_at*.

        Raises:
            UnknownKey: the kid is not published, or the key was compromised at
                or before *signed_at*.
        """
        raise NotImplementedError

    def jwks(self) -> dict[str, Any]:
        """Return these keys as a JWKS document."""
        raise NotImplementedError


class KeyStore:
    """The issuer's key directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def ensure(self, *, now: datetime | None = None) -> IssuerKey:
        """Create the directory (0700) and a first active key unless one exists.

        Returns:
            The active key.

        Raises:
            KeyStoreError: the directory or a key file cannot be created, or an
                existing key file is readable by group or others.
        """
        raise NotImplementedError

    def keys(self) -> list[IssuerKey]:
        """Return every key, oldest first."""
        raise NotImplementedError

    def active(self) -> IssuerKey:
        """Return the public half of the active key.

        Raises:
            KeyStoreError: the store holds no active key (run ``qcampus init``).
        """
        raise NotImplementedError

    def signing_key(self) -> SigningKey:
        """Load the active private key.

        Raises:
            KeyStoreError: no active key, or its file is readable by group or
                others (fix with ``chmod 600``) or unreadable.
        """
        raise NotImplementedError

    def rotate(self, *, now: datetime | None = None) -> IssuerKey:
        """Make a new active key; the previous one is retired but stays published.

        Returns:
            The new active key.
        """
        raise NotImplementedError

    def mark_compromised(self, kid: str, at: datetime) -> IssuerKey:
        """Record that *kid* is compromised from *at* on.

        Signatures made at or after *at* no longer verify. If *kid* is the active
        key a new active key is generated first, so issuing continues.

        Raises:
            KeyStoreError: *kid* is unknown or *at* has no time zone.
        """
        raise NotImplementedError

    def trusted_keys(self) -> TrustedKeys:
        """Return every published key as :class:`TrustedKeys`."""
        raise NotImplementedError

    def jwks(self) -> dict[str, Any]:
        """Return the public JWKS: every key with its life-cycle members."""
        raise NotImplementedError

    def did_web_document(self, domain: str, path: str | None = None) -> dict[str, Any]:
        """Build the ``did:web`` DID document that lists the keys.

        Args:
            domain: Host (and optional port) serving ``/.well-known/did.json`` or
                ``/<path>/did.json``, e.g. ``campus.example.org``.
            path: Optional path below the host, e.g. ``services/qcampus``.

        Returns:
            A DID document with one ``JsonWebKey`` verification method per key
            (id ``<did>#<kid>``), active and retired keys under
            ``assertionMethod``, and a ``revoked`` time on compromised ones.
        """
        raise NotImplementedError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
