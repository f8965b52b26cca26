"""Verify a credential: the one function behind the web service and the offline CLI.

:func:`verify` takes what an employer has (the file or the text) and returns a
:class:`Verdict`. The same inputs give the same verdict online and offline; only
the status source differs (the service's database, or a local file, or none).

Accepted inputs:

- a compact VC-JWT (``eyJ…``), the credential file qcampus hands out;
- JSON ``{"credential": "<VC-JWT>"}``;
- a VC Data Model 2.0 ``EnvelopedVerifiableCredential``
  (``{"type": "EnvelopedVerifiableCredential", "id": "data:application/vc+jwt,<VC-JWT>"}``).

A bare JSON credential is refused: an embedded ``proof`` or
``verificationMethod`` names the signer's own key, which is never trusted
(``unknown_key``), and one without any proof is ``malformed``.

Checks, in order, each failing closed: encoding and JWS header → trusted key
(by ``kid`` only) and signature → credential structure and claims → issuer id →
status (revoked / suspended) → validity period → status availability. A
credential whose status could not be established is never ``valid``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from certificates.keys import TrustedKeys
from certificates.statuslist import StatusSource

#: Largest input accepted, in bytes (credentials are a few kilobytes).
MAX_INPUT = 256 * 1024


class Outcome(enum.StrEnum):
    """What a verification found; only ``VALID`` means the credential can be relied on."""

    VALID = "valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    TAMPERED = "tampered"
    UNKNOWN_KEY = "unknown_key"
    MALFORMED = "malformed"
    STATUS_UNKNOWN = "status_unknown"


#: Exit code of ``qcampus cert verify`` per outcome (0 only for valid).
EXIT_CODES: dict[Outcome, int] = {
    Outcome.VALID: 0,
    Outcome.MALFORMED: 2,
    Outcome.TAMPERED: 3,
    Outcome.UNKNOWN_KEY: 4,
    Outcome.REVOKED: 5,
    Outcome.SUSPENDED: 6,
    Outcome.EXPIRED: 7,
    Outcome.NOT_YET_VALID: 8,
    Outcome.STATUS_UNKNOWN: 9,
}


@dataclass(frozen=True)
class Verdict:
    """The result of :func:`verify`.

    Attributes:
        outcome: What was found.
        message: A sentence for the reader, by language (``en``, ``ja``).
        details: Machine-readable facts: ``code`` (e.g. ``RANGE_ERROR``),
            ``reason`` (why, in English), ``credential_id``, ``issuer``,
            ``achievement``, ``kid``, ``valid_from``, ``valid_until``,
            ``status_checked_at``, ``revoked_at``, ``reason_category``; present
            when known.
        credential: The credential JSON once its signature verified, else None.
    """

    outcome: Outcome
    message: dict[str, str]
    details: dict[str, Any] = field(default_factory=dict)
    credential: dict[str, Any] | None = None

    @property
    def valid(self) -> bool:
        """Return whether the credential can be relied on."""
        return self.outcome is Outcome.VALID

    @property
    def exit_code(self) -> int:
        """Return the CLI exit code of this outcome."""
        return EXIT_CODES[self.outcome]

    def to_json(self) -> dict[str, Any]:
        """Return ``{"outcome", "valid", "message", "details"}`` for the JSON API."""
        raise NotImplementedError


def extract_token(text: str | bytes) -> str:
    """Return the VC-JWT inside *text* (a bare token or one of the JSON wrappers).

    Raises:
        MalformedCredential: none of the accepted forms, or too large.
        UnknownKey: a JSON credential secured by an embedded proof.
    """
    raise NotImplementedError


def verify(text: str | bytes, *, keys: TrustedKeys, issuer_id: str,
           status: StatusSource | None, now: datetime) -> Verdict:
    """Verify a credential for one trusted issuer.

    Args:
        text: The credential file's content.
        keys: The trusted issuer's keys (from its key store or its published JWKS).
        issuer_id: The trusted issuer's id; a credential naming another issuer
            is ``unknown_key`` even if its key is trusted.
        status: Where to get status lists, or None (then a credential with a
            status entry is at best ``status_unknown``).
        now: The time of verification (time zone required).

    Returns:
        The :class:`Verdict`; this function does not raise for bad input.
    """
    raise NotImplementedError
