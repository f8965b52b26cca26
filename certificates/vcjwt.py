"""Secure credentials as VC-JWT (Open Badges 3.0 §8.2): compact JWS with Ed25519.

Encoding decisions (one mapping, checked both ways):

- Header: ``{"alg": "EdDSA", "kid": <thumbprint>, "typ": "JWT"}``. ``typ`` is
  ``JWT`` as Open Badges 3.0 §8.2 requires, so Open Badges verifiers accept the
  token; on reading, ``vc+jwt`` (VC-JOSE-COSE) is accepted too.
- Payload: the credential JSON itself (no ``vc`` wrapper), plus the registered
  claims mirrored from it: ``iss`` = ``issuer.id``, ``jti`` = ``id``,
  ``nbf`` = ``validFrom``, ``exp`` = ``validUntil`` (only when present),
  ``sub`` = ``credentialSubject.id`` (only when present; qcampus subjects carry
  a hashed identifier instead of an id), and ``iat`` = signing time.

Reading (:func:`verify_token`) trusts nothing in the token to choose a key:
only ``EdDSA`` is allowed; the ``kid`` is looked up in the caller's
:class:`~certificates.keys.TrustedKeys` only; a ``jwk``, ``jku``, ``x5u``,
``x5c``, ``x5t`` or ``x5t#S256`` header is refused (CVE-2018-0114); any ``crit``
header is refused as none is understood; base64url must be canonical, so every
changed byte changes the verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certificates.keys import SigningKey, TrustedKeys

ALGORITHM = "EdDSA"
TYP = "JWT"
ACCEPTED_TYPS = frozenset({"JWT", "vc+jwt"})
#: Headers that would let a token name its own key; always refused.
EMBEDDED_KEY_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"})


@dataclass(frozen=True)
class VerifiedToken:
    """A token whose signature verified with a trusted key.

    Attributes:
        header: The protected header.
        claims: The payload (the credential plus registered claims).
        kid: The key that verified it.
        signed_at: The ``iat`` claim as a datetime (UTC).
    """

    header: dict[str, Any]
    claims: dict[str, Any]
    kid: str
    signed_at: datetime


def claims_for(credential: Mapping[str, Any], *, signed_at: datetime) -> dict[str, Any]:
    """Return the JWT payload: *credential* plus ``iss``/``jti``/``nbf``/``exp``/``sub``/``iat``."""
    raise NotImplementedError


def sign(credential: Mapping[str, Any], key: SigningKey, *, signed_at: datetime) -> str:
    """Sign *credential* as a compact VC-JWT with *key*.

    Args:
        credential: A credential JSON object (an ``OpenBadgeCredential`` or a
            ``BitstringStatusListCredential``) without registered JWT claims.
        key: The issuer's active key (:meth:`KeyStore.signing_key`).
        signed_at: The signing time written as ``iat``.

    Returns:
        ``<header>.<payload>.<signature>`` in base64url without padding.
    """
    raise NotImplementedError


def verify_token(token: str, keys: TrustedKeys) -> VerifiedToken:
    """Check the JWS structure, header and signature of *token*.

    Checks only what proves origin and integrity; the caller checks the
    credential body, the issuer and the dates.

    Raises:
        MalformedCredential: not a compact JWS at all (wrong number of parts,
            characters outside base64url).
        SignatureInvalid: a part does not decode, the header is not the JSON
            this issuer writes, ``alg`` is not ``EdDSA`` (``none``, ``HS256``,
            ``RS256``, ``ES256``…), a ``crit`` header is present, or the
            signature does not match.
        UnknownKey: an embedded-key header, a missing ``kid``, or a ``kid`` the
            trusted keys do not contain or no longer trust at ``iat``.
    """
    raise NotImplementedError


def check_claims(claims: Mapping[str, Any]) -> None:
    """Check that the registered claims agree with the credential body.

    Raises:
        MalformedCredential: a registered claim is missing, mistyped, or
            disagrees with the field it mirrors.
    """
    raise NotImplementedError
