"""Build and strictly validate Open Badges 3.0 ``OpenBadgeCredential`` JSON.

The credential follows the W3C Verifiable Credentials Data Model 2.0 with the
Open Badges 3.0 context. Privacy (Open Badges 3.0 recommended practices):

- the learner is identified by an ``IdentityObject`` with ``hashed: true`` and
  ``identityHash = "sha256$" + hex(sha256(identity + salt))``; a fresh salt per
  credential makes two credentials of one learner unlinkable;
- the learner's display name appears only when the learner chose to show it;
- results (grades) and evidence appear only with the learner's consent, and
  evidence names graded work by its SHA-256 digest (an RFC 6920 ``ni:`` URI),
  never by content;
- both status entries point into shared lists of 131,072+ entries.

:func:`parse` is the strict reader verifiers use: exact ``@context`` URLs only
(no inline contexts that could remap terms), known properties only.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from certificates.achievements import Achievement

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
#: The only ``@context`` a qcampus credential may carry, in this order.
CONTEXTS = (VC_CONTEXT, OB_CONTEXT)
CREDENTIAL_TYPES = ("VerifiableCredential", "OpenBadgeCredential")

REVOCATION = "revocation"
SUSPENSION = "suspension"


@dataclass(frozen=True)
class IssuerProfile:
    """The issuer as an Open Badges ``Profile``.

    Attributes:
        id: The issuer's id: its public URL (``certificates.public_url``) or a
            ``did:web``. Verifiers compare it with the issuer they trust.
        name: Display name.
        url: Optional home page.
    """

    id: str
    name: str
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the ``Profile`` object."""
        raise NotImplementedError


@dataclass(frozen=True)
class Learner:
    """Who receives the credential.

    Attributes:
        identity: A stable identity of the learner (hub user name or e-mail);
            only its salted hash leaves the issuer.
        display_name: The learner's name, shown only if ``show_name``.
        show_name: The learner chose to show their name on the credential.
        salt: The salt of the identity hash; :func:`new_salt` if None.
    """

    identity: str
    display_name: str | None = None
    show_name: bool = False
    salt: str | None = None


@dataclass(frozen=True)
class Evidence:
    """Graded work, named by hash only.

    Attributes:
        digest: SHA-256 of the graded work (hex), e.g. of the submitted notebook.
        name: What the work is, without content (e.g. "Exam gate-engineer-b1, form 7").
    """

    digest: str
    name: str

    def to_json(self) -> dict[str, Any]:
        """Return the OB 3.0 ``Evidence`` object with an RFC 6920 ``ni:`` id."""
        raise NotImplementedError


@dataclass(frozen=True)
class Consent:
    """What the learner agreed to disclose beyond the achievement itself."""

    results: bool = False
    evidence: bool = False


@dataclass(frozen=True)
class StatusEntry:
    """A ``BitstringStatusListEntry``: one bit of a status list.

    Attributes:
        purpose: ``revocation`` or ``suspension``.
        index: The bit's index in the list.
        list_url: URL of the ``BitstringStatusListCredential``.
    """

    purpose: str
    index: int
    list_url: str

    @property
    def id(self) -> str:
        """Return the entry id ``<list_url>#<index>``."""
        return f"{self.list_url}#{self.index}"

    def to_json(self) -> dict[str, Any]:
        """Return the entry; ``statusListIndex`` is a string as the spec requires."""
        raise NotImplementedError

    @classmethod
    def from_json(cls, data: object) -> StatusEntry:
        """Read an entry strictly.

        Raises:
            MalformedCredential: wrong type, purpose, index or URL.
        """
        raise NotImplementedError


@dataclass(frozen=True)
class Credential:
    """A parsed, structurally valid ``OpenBadgeCredential``.

    Attributes:
        data: The JSON object as received.
        id: ``urn:uuid:…``.
        issuer_id: ``issuer.id``.
        valid_from: Parsed ``validFrom``.
        valid_until: Parsed ``validUntil`` or None.
        achievement_id: ``credentialSubject.achievement.id``.
        status: The status entries, by purpose.
    """

    data: dict[str, Any]
    id: str
    issuer_id: str
    valid_from: datetime
    valid_until: datetime | None
    achievement_id: str
    status: dict[str, StatusEntry] = field(default_factory=dict)


def new_salt() -> str:
    """Return a fresh random salt (32 hex digits)."""
    return secrets.token_hex(16)


def identity_hash(identity: str, salt: str) -> str:
    """Return ``sha256$<hex of sha256(identity + salt)>`` (UTF-8)."""
    return "sha256$" + hashlib.sha256((identity + salt).encode("utf-8")).hexdigest()


def new_id() -> str:
    """Return a fresh credential id ``urn:uuid:<uuid4>``."""
    return f"urn:uuid:{uuid.uuid4()}"


def build(
    *,
    issuer: IssuerProfile,
    achievement: Achievement,
    learner: Learner,
    base_url: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
    status: Sequence[StatusEntry] = (),
    evidence: Sequence[Evidence] = (),
    result: str | None = None,
    consent: Consent = Consent(),
    credential_id: str | None = None,
) -> dict[str, Any]:
    """Build an ``OpenBadgeCredential`` as a JSON-ready dict.

    Args:
        issuer: The issuer profile.
        achievement: The achievement awarded.
        learner: The recipient; only a salted hash of ``identity`` is written.
        base_url: The issuer's public URL, under which achievements are addressed.
        valid_from: Start of validity (time zone required; truncated to seconds).
        valid_until: End of validity, or None for no expiry.
        status: The revocation and suspension entries (one each).
        evidence: Graded work, written only if ``consent.evidence``.
        result: The grade (e.g. ``"87/100"``), written only if ``consent.results``.
        consent: What the learner agreed to disclose.
        credential_id: The id to use (``urn:uuid:…``); a new one if None.

    Raises:
        MalformedCredential: naive datetimes, ``valid_until`` not after
            ``valid_from``, or status entries not one per purpose.
    """
    raise NotImplementedError


def parse(data: object) -> Credential:
    """Validate an ``OpenBadgeCredential`` strictly and return it parsed.

    Rejects any ``@context`` other than exactly :data:`CONTEXTS`, unknown
    top-level or subject properties, a ``proof`` (qcampus credentials are
    secured by their VC-JWT envelope only), and malformed dates, ids or status
    entries.

    Raises:
        MalformedCredential: the first problem found, in words a verifier can show.
    """
    raise NotImplementedError


def format_datetime(moment: datetime) -> str:
    """Return *moment* as an XML Schema dateTime in UTC with a ``Z`` (seconds precision)."""
    raise NotImplementedError


def parse_datetime(text: object, where: str) -> datetime:
    """Parse an XML Schema dateTime with a time zone.

    Raises:
        MalformedCredential: not a string, or no valid dateTime with time zone.
    """
    raise NotImplementedError
