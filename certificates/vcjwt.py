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

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certificates import base64url
from certificates.credential import parse_datetime
from certificates.errors import MalformedCredential, SignatureInvalid, UnknownKey
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


#: Registered claims mirrored from the credential body.
REGISTERED_CLAIMS = ("iss", "jti", "sub", "nbf", "exp", "iat")
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
_HEADER_KEYS = frozenset({"alg", "kid", "typ", "cty"})


def _strict_json(data: bytes) -> dict[str, Any]:
    """Parse a JSON object, refusing duplicate member names and non-standard constants."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise ValueError(f"duplicate member {key!r}")
            result[key] = value
        return result

    def constant(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=pairs,
                           parse_constant=constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _moment(value: object, claim: str) -> datetime:
    """Return a NumericDate claim as a datetime, refusing non-integers and absurd values."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 253402300800:
        raise MalformedCredential(f"The token's {claim} claim must be a whole number of seconds "
                                  f"since 1970 before the year 10000.")
    return datetime.fromtimestamp(value, UTC)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def claims_for(credential: Mapping[str, Any], *, signed_at: datetime) -> dict[str, Any]:
    """Return the JWT payload: *credential* plus ``iss``/``jti``/``nbf``/``exp``/``sub``/``iat``."""
    clash = set(credential) & set(REGISTERED_CLAIMS)
    if clash:
        raise MalformedCredential(f"The credential already has JWT claims {sorted(clash)}.")
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(issuer_id, str) or not isinstance(credential.get("id"), str):
        raise MalformedCredential("A credential to sign needs an id and an issuer id.")
    if signed_at.tzinfo is None:
        raise MalformedCredential("The signing time needs a time zone.")
    claims = dict(credential)
    claims["iss"] = issuer_id
    claims["jti"] = credential["id"]
    subject = credential.get("credentialSubject")
    if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
        claims["sub"] = subject["id"]
    claims["nbf"] = _epoch(parse_datetime(credential.get("validFrom"), "validFrom"))
    if "validUntil" in credential:
        claims["exp"] = _epoch(parse_datetime(credential["validUntil"], "validUntil"))
    claims["iat"] = _epoch(signed_at)
    return claims


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
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": TYP}
    payload = claims_for(credential, signed_at=signed_at)
    signing_input = ".".join(
        base64url.encode(json.dumps(part, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        for part in (header, payload)
    )
    signature = key.private_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{base64url.encode(signature)}"


def split(token: str) -> tuple[str, str, str]:
    """Return the three base64url segments of a compact JWS.

    Raises:
        MalformedCredential: not three segments of base64url characters (only the
            signature may be empty).
    """
    parts = token.split(".")
    # An empty signature (``alg: none``) still splits, so the header check can refuse it.
    if len(parts) != 3 or not all(_SEGMENT.match(part) for part in parts[:2]) \
            or not _SEGMENT.match(parts[2] or "A"):
        raise MalformedCredential("This is not a compact JWT (three base64url parts joined "
                                  "by dots).")
    return parts[0], parts[1], parts[2]


def read_header(token: str) -> dict[str, Any]:
    """Decode the protected header of *token* without trusting it.

    Raises:
        MalformedCredential: not a compact JWS.
        SignatureInvalid: the header does not decode to a JSON object.
    """
    return _header(split(token)[0])


def _header(header_b64: str) -> dict[str, Any]:
    try:
        return _strict_json(base64url.decode(header_b64))
    except ValueError as exc:
        raise SignatureInvalid(f"The JWT header is damaged ({exc}).") from exc


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
    header_b64, payload_b64, signature_b64 = split(token)
    header = _header(header_b64)
    embedded = EMBEDDED_KEY_HEADERS & set(header)
    if embedded:
        raise UnknownKey(f"The token names its own key ({', '.join(sorted(embedded))}); only "
                         f"keys the issuer publishes are trusted.")
    if header.get("alg") != ALGORITHM:
        raise SignatureInvalid(f"The token uses the algorithm {header.get('alg')!r}; only "
                               f"{ALGORITHM} (Ed25519) is accepted.")
    if "crit" in header:
        raise SignatureInvalid("The token requires header extensions (crit) this verifier does "
                               "not understand.")
    unknown = set(header) - _HEADER_KEYS
    if unknown:
        raise SignatureInvalid(f"The JWT header has unexpected members {sorted(unknown)}.")
    if "typ" in header and header["typ"] not in ACCEPTED_TYPS:
        raise SignatureInvalid(f"The JWT type {header['typ']!r} is not a credential type.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise UnknownKey("The token does not name its signing key (kid).")
    if kid not in keys:
        raise UnknownKey(f"The signing key {kid!r} is not one the issuer publishes.")
    try:
        signature = base64url.decode(signature_b64)
        payload = base64url.decode(payload_b64)
    except ValueError as exc:
        raise SignatureInvalid(f"The token is damaged ({exc}).") from exc
    if not _signature_matches(keys[kid].public_key, signature,
                              f"{header_b64}.{payload_b64}".encode("ascii")):
        raise SignatureInvalid("The signature does not match the content: the credential was "
                               "changed after it was signed, or not signed by this key.")
    try:
        claims = _strict_json(payload)
    except ValueError as exc:
        # A valid signature over a payload that is not JSON: the issuer never makes these.
        raise MalformedCredential(f"The signed payload is not a JSON object ({exc}).") from exc
    signed_at = _moment(claims.get("iat"), "iat")
    # Trust is checked at the later of the signing time and validFrom, so a key
    # compromised at T cannot vouch for a credential valid from T on.
    if "nbf" in claims:
        signed_at = max(signed_at, _moment(claims["nbf"], "nbf"))
    keys.key_for(kid, signed_at)
    return VerifiedToken(header=header, claims=claims, kid=kid, signed_at=signed_at)


#: Digests of (public key, signature, signing input) triples that verified. Ed25519
#: verification is a pure function of the three, so a match can be remembered;
#: key trust, claims and status are still checked on every verification. As many
#: as the service's verdict cache holds by default: it serves the tokens whose
#: cached verdicts a status or key change has just made unusable.
_VERIFIED: OrderedDict[bytes, None] = OrderedDict()
_VERIFIED_SIZE = 1024
_VERIFIED_LOCK = threading.Lock()


def _signature_matches(public_key: Ed25519PublicKey, signature: bytes,
                       signing_input: bytes) -> bool:
    """Return whether *signature* is *public_key*'s Ed25519 signature of *signing_input*."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(b"%d:%d:" % (len(raw), len(signature)) + raw + signature
                            + signing_input).digest()
    with _VERIFIED_LOCK:
        if digest in _VERIFIED:
            _VERIFIED.move_to_end(digest)
            return True
    try:
        public_key.verify(signature, signing_input)
    except InvalidSignature:
        return False
    with _VERIFIED_LOCK:
        _VERIFIED[digest] = None
        while len(_VERIFIED) > _VERIFIED_SIZE:
            _VERIFIED.popitem(last=False)
    return True


def check_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """Check that the registered claims agree with the credential body.

    Returns:
        The credential body: *claims* without the registered claims.

    Raises:
        MalformedCredential: a registered claim is missing, mistyped, or
            disagrees with the field it mirrors.
    """
    body = {k: v for k, v in claims.items() if k not in REGISTERED_CLAIMS}
    issuer = body.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    expected: dict[str, Any] = {"iss": issuer_id, "jti": body.get("id")}
    subject = body.get("credentialSubject")
    if isinstance(subject, Mapping) and "id" in subject:
        expected["sub"] = subject["id"]
    expected["nbf"] = _epoch(parse_datetime(body.get("validFrom"), "validFrom"))
    if "validUntil" in body:
        expected["exp"] = _epoch(parse_datetime(body["validUntil"], "validUntil"))
    for claim in ("iss", "jti", "sub", "nbf", "exp"):
        if claim in expected and claims.get(claim) != expected[claim]:
            raise MalformedCredential(f"The JWT claim {claim!r} does not match the credential "
                                      f"({claims.get(claim)!r} ≠ {expected[claim]!r}).")
        if claim not in expected and claim in claims:
            raise MalformedCredential(f"The JWT claim {claim!r} has no counterpart in the "
                                      f"credential.")
    return body
