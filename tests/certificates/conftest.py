"""Fixtures of the credential core tests.

- ``now``: a fixed, time-zone aware moment all tests issue and verify at.
- ``keystore``: a fresh :class:`~certificates.keys.KeyStore` with one active key.
- ``catalogue``: the checkout's achievement catalogue.
- ``issuer``: the issuer profile (id :data:`BASE`) written into credentials.
- ``status_entries``: the revocation and suspension entries at :data:`INDEX`.
- ``make_credential``: builds an ``OpenBadgeCredential`` dict (keyword overrides).
- ``issue``: builds and signs a credential, returning its VC-JWT.
- ``status_source``: builds signed status lists (with chosen bits set) behind a
  :class:`~certificates.statuslist.MappingStatusSource`.
- ``attacker_key``: an Ed25519 key the issuer never published.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates import achievements, statuslist, vcjwt
from certificates import credential as cred
from certificates.keys import KeyStore, SigningKey, thumbprint

BASE = "https://campus.example.org/services/qcampus"
INDEX = 70_001
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def list_url(purpose: str) -> str:
    """Return the status list URL of *purpose*."""
    return f"{BASE}/status/{purpose}"


@pytest.fixture
def now() -> datetime:
    """Return the fixed moment of issuance."""
    return NOW


@pytest.fixture
def keystore(tmp_path: Path) -> KeyStore:
    """Return a key store with one active key created a day before :data:`NOW`."""
    store = KeyStore(tmp_path / "secrets" / "issuer-keys")
    store.ensure(now=NOW - timedelta(days=1))
    return store


@pytest.fixture(scope="session")
def catalogue() -> achievements.Catalogue:
    """Return the checkout's achievement catalogue."""
    return achievements.load()


@pytest.fixture
def issuer() -> cred.IssuerProfile:
    """Return the issuer profile."""
    return cred.IssuerProfile(id=BASE, name="qcampus", url=BASE)


@pytest.fixture
def status_entries() -> list[cred.StatusEntry]:
    """Return revocation and suspension entries at :data:`INDEX`."""
    return [cred.StatusEntry(purpose, INDEX, list_url(purpose))
            for purpose in (cred.REVOCATION, cred.SUSPENSION)]


@pytest.fixture
def make_credential(issuer, catalogue, status_entries) -> Callable[..., dict[str, Any]]:
    """Return a factory of credential dicts; keyword arguments override :func:`build`'s."""

    def make(**overrides: Any) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "issuer": issuer,
            "achievement": catalogue.get("gate-engineer-b1"),
            "learner": cred.Learner("learner42@example.org"),
            "base_url": BASE,
            "valid_from": NOW,
            "valid_until": NOW + timedelta(days=3 * 365),
            "status": status_entries,
        }
        arguments.update(overrides)
        return cred.build(**arguments)

    return make


@pytest.fixture
def issue(keystore, make_credential) -> Callable[..., str]:
    """Return a factory that builds and signs a credential with the active key."""

    def sign(credential: dict[str, Any] | None = None, *, key: SigningKey | None = None,
             signed_at: datetime = NOW, **overrides: Any) -> str:
        document = credential if credential is not None else make_credential(**overrides)
        return vcjwt.sign(document, key or keystore.signing_key(), signed_at=signed_at)

    return sign


@pytest.fixture
def status_source(keystore, issuer) -> Callable[..., statuslist.MappingStatusSource]:
    """Return a factory of status sources with signed lists; ``revoked``/``suspended`` set bits."""

    def make(revoked: tuple[int, ...] = (), suspended: tuple[int, ...] = (),
             details: dict | None = None) -> statuslist.MappingStatusSource:
        tokens = {}
        for purpose, bits in ((cred.REVOCATION, revoked), (cred.SUSPENSION, suspended)):
            status_list = statuslist.StatusList()
            for index in bits:
                status_list.set(index)
            document = statuslist.build_credential(
                issuer=issuer, url=list_url(purpose), purpose=purpose,
                status_list=status_list, valid_from=NOW)
            tokens[list_url(purpose)] = vcjwt.sign(document, keystore.signing_key(),
                                                   signed_at=NOW)
        return statuslist.MappingStatusSource(tokens, details)

    return make


@pytest.fixture
def attacker_key() -> SigningKey:
    """Return a key the issuer never published."""
    private = Ed25519PrivateKey.generate()
    return SigningKey(thumbprint(private.public_key()), private)
