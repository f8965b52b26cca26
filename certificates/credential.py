"""Build and strictly validate Open Badges 3.0 ``OpenBadgeCredential`` JSON.

The credential follows the W3C Verifiable Credentials Data Model 2.0 with the
Open Badges 3.0 context. Privacy (Open Badges 3.0 recommended practices):

- the learner is identified by an ``IdentityObject`` with ``hashed: true`` and
  ``identityHash = "sha256$" + hex(sha256(identity + salt))``; a fresh salt per
  credential makes two credentials of one learner unlinkable;
- the learner's display name appears only when the learner chose to show it, as
  an unhashed ``IdentityObject`` of ``identityType`` ``name``;
- results (grades) and evidence appear only with the learner's consent, and
  evidence names graded work by its SHA-256 digest (an RFC 6920 ``ni:`` URI),
  never by content;
- both status entries point into shared lists of 131,072+ entries.

:func:`parse` is the strict reader verifiers use: exact ``@context`` URLs only
(no inline contexts that could remap terms), known properties only.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from certificates import base64url
from certificates.achievements import Achievement
from certificates.errors import MalformedCredential

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
#: The only ``@context`` a qcampus credential may carry, in this order.
CONTEXTS = (VC_CONTEXT, OB_CONTEXT)
CREDENTIAL_TYPES = ("VerifiableCredential", "OpenBadgeCredential")

REVOCATION = "revocation"
SUSPENSION = "suspension"
#: Where an issuer publishes its two status lists, under its public URL.
REVOCATION_PATH = f"/status/{REVOCATION}"
SUSPENSION_PATH = f"/status/{SUSPENSION}"


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
        profile: dict[str, Any] = {"id": self.id, "type": ["Profile"], "name": self.name}
        if self.url:
            profile["url"] = self.url
        return profile


@dataclass(frozen=True)
class Learner:
    """Who receives the credential.

    Attributes:
        identity: A stable identity of the learner (hub user name or e-mail);
            only its salted hash leaves the issuer.
        display_name: The learner's name, written (as an unhashed ``IdentityObject``
            of ``identityType`` ``name``) only if ``show_name``.
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
        if not _HEX64.match(self.digest):
            raise MalformedCredential("Evidence digest must be 64 lower-case hex digits (SHA-256).")
        digest = base64url.encode(bytes.fromhex(self.digest))
        return {"id": f"ni:///sha-256;{digest}", "type": ["Evidence"], "name": self.name}


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
        return {
            "id": self.id,
            "type": "BitstringStatusListEntry",
            "statusPurpose": self.purpose,
            "statusListIndex": str(self.index),
            "statusListCredential": self.list_url,
        }

    @classmethod
    def from_json(cls, data: object) -> StatusEntry:
        """Read an entry strictly.

        Raises:
            MalformedCredential: wrong type, purpose, index or URL.
        """
        where = "credentialStatus"
        if not isinstance(data, dict) or set(data) - _STATUS_KEYS \
                or data.get("type") != "BitstringStatusListEntry":
            raise MalformedCredential(f"{where} must be BitstringStatusListEntry objects with the "
                                      f"properties {sorted(_STATUS_KEYS)} only.")
        purpose = data.get("statusPurpose")
        if purpose not in (REVOCATION, SUSPENSION):
            raise MalformedCredential(f"{where}.statusPurpose must be revocation or suspension, "
                                      f"not {purpose!r}.")
        index = data.get("statusListIndex")
        if not isinstance(index, str) or not _INDEX.match(index):
            raise MalformedCredential(f"{where}.statusListIndex must be a decimal number as text, "
                                      f"not {index!r}.")
        url = data.get("statusListCredential")
        if not isinstance(url, str) or not _URL.match(url):
            raise MalformedCredential(f"{where}.statusListCredential must be an https or http URL.")
        entry = cls(purpose, int(index), url)
        if "id" in data and data["id"] != entry.id:
            raise MalformedCredential(f"{where}.id must be {entry.id!r}.")
        return entry


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


def shown_name(credential: dict[str, Any]) -> str | None:
    """Return the learner's name as the credential shows it, or None if it is not shown."""
    subject = credential.get("credentialSubject")
    identifiers = subject.get("identifier") if isinstance(subject, dict) else None
    for identifier in identifiers if isinstance(identifiers, list) else ():
        if isinstance(identifier, dict) and identifier.get("identityType") == "name" \
                and identifier.get("hashed") is False:
            return identifier.get("identityHash")
    return None


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
    valid_from = _seconds(valid_from, "valid_from")
    if valid_until is not None:
        valid_until = _seconds(valid_until, "valid_until")
        if valid_until <= valid_from:
            raise MalformedCredential("valid_until must be after valid_from.")
    purposes = [entry.purpose for entry in status]
    if len(set(purposes)) != len(purposes):
        raise MalformedCredential("Give at most one status entry per purpose.")
    salt = learner.salt or new_salt()
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "identifier": [{
            "type": "IdentityObject",
            "identityType": "identifier",
            "hashed": True,
            "identityHash": identity_hash(learner.identity, salt),
            "salt": salt,
        }],
        "achievement": achievement.to_json(base_url),
    }
    if learner.show_name and learner.display_name:
        # Open Badges 3.0 names the earner with an unhashed IdentityObject of type "name".
        subject["identifier"].append({
            "type": "IdentityObject",
            "identityType": "name",
            "hashed": False,
            "identityHash": learner.display_name,
        })
    if consent.results and result is not None:
        subject["result"] = [{"type": ["Result"], "value": result}]
    credential: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": credential_id or new_id(),
        "type": list(CREDENTIAL_TYPES),
        "issuer": issuer.to_json(),
        "name": achievement.to_json(base_url)["name"],
        "validFrom": format_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    credential["credentialSubject"] = subject
    if consent.evidence and evidence:
        credential["evidence"] = [item.to_json() for item in evidence]
    if len(status) == 1:  # Open Badges 3.0 allows one credentialStatus object
        credential["credentialStatus"] = status[0].to_json()
    elif status:
        credential["credentialStatus"] = [entry.to_json() for entry in status]
    parse(credential)  # what we issue must pass our own strict reader
    return credential


def parse(data: object) -> Credential:
    """Validate an ``OpenBadgeCredential`` strictly and return it parsed.

    Rejects any ``@context`` other than exactly :data:`CONTEXTS`, unknown
    top-level or subject properties, a ``proof`` (qcampus credentials are
    secured by their VC-JWT envelope only), and malformed dates, ids or status
    entries.

    Raises:
        MalformedCredential: the first problem found, in words a verifier can show.
    """
    if not isinstance(data, dict):
        raise MalformedCredential("A credential must be a JSON object.")
    check_context(data.get("@context"))
    unknown = set(data) - _CREDENTIAL_KEYS
    if "proof" in data:
        raise MalformedCredential("The credential carries an embedded proof; qcampus credentials "
                                  "are secured by their VC-JWT signature only.")
    if unknown:
        raise MalformedCredential(f"The credential has unknown properties {sorted(unknown)}.")
    types = data.get("type")
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types) \
            or types[:1] != ["VerifiableCredential"] \
            or not ({"OpenBadgeCredential", "AchievementCredential"} & set(types)):
        raise MalformedCredential("type must be [\"VerifiableCredential\", "
                                  "\"OpenBadgeCredential\"].")
    cid = data.get("id")
    if not isinstance(cid, str) or not _URN_UUID.match(cid):
        raise MalformedCredential("id must be a urn:uuid: identifier.")
    issuer = data.get("issuer")
    if not isinstance(issuer, dict) or set(issuer) - _PROFILE_KEYS \
            or issuer.get("type") != ["Profile"] or not isinstance(issuer.get("id"), str) \
            or not isinstance(issuer.get("name"), str):
        raise MalformedCredential("issuer must be a Profile object with type [\"Profile\"], "
                                  "an id and a name.")
    if not isinstance(data.get("name"), str):
        raise MalformedCredential("name must be text.")
    valid_from = parse_datetime(data.get("validFrom"), "validFrom")
    valid_until = None
    if "validUntil" in data:
        valid_until = parse_datetime(data["validUntil"], "validUntil")
        if valid_until <= valid_from:
            raise MalformedCredential("validUntil must be after validFrom.")
    subject = data.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != ["AchievementSubject"] \
            or set(subject) - _SUBJECT_KEYS:
        raise MalformedCredential("credentialSubject must be an AchievementSubject with the "
                                  f"properties {sorted(_SUBJECT_KEYS)} only.")
    _check_identifier(subject)
    achievement = subject.get("achievement")
    if not isinstance(achievement, dict) or achievement.get("type") != ["Achievement"] \
            or not isinstance(achievement.get("id"), str) \
            or not isinstance(achievement.get("name"), str):
        raise MalformedCredential("credentialSubject.achievement must be an Achievement with an "
                                  "id and a name.")
    status: dict[str, StatusEntry] = {}
    raw_status = data.get("credentialStatus", [])
    if isinstance(raw_status, dict):
        raw_status = [raw_status]
    if not isinstance(raw_status, list):
        raise MalformedCredential("credentialStatus must be an object or a list of objects.")
    for raw in raw_status:
        entry = StatusEntry.from_json(raw)
        if entry.purpose in status:
            raise MalformedCredential(f"credentialStatus names {entry.purpose} twice.")
        status[entry.purpose] = entry
    implied = implied_suspension(status.get(REVOCATION))
    if implied is not None and SUSPENSION not in status:
        status[SUSPENSION] = implied
    for key in ("evidence",):
        if key in data and (not isinstance(data[key], list)
                            or not all(isinstance(e, dict) for e in data[key])):
            raise MalformedCredential(f"{key} must be a list of objects.")
    return Credential(data=data, id=cid, issuer_id=issuer["id"], valid_from=valid_from,
                      valid_until=valid_until, achievement_id=achievement["id"], status=status)


def implied_suspension(revocation: StatusEntry | None) -> StatusEntry | None:
    """Return the suspension entry a qcampus revocation entry stands for, or None.

    Open Badges 3.0 allows one ``credentialStatus`` object, so a qcampus
    credential names only its revocation entry, which every Open Badges verifier
    checks. The issuer publishes its suspension list next to the revocation list
    (``…/status/revocation`` → ``…/status/suspension``) and sets a suspended
    credential's bit at the same index; qcampus verifiers check both lists.
    """
    if revocation is None or not revocation.list_url.endswith(REVOCATION_PATH):
        return None
    return StatusEntry(SUSPENSION, revocation.index,
                       revocation.list_url[: -len(REVOCATION_PATH)] + SUSPENSION_PATH)


def format_datetime(moment: datetime) -> str:
    """Return *moment* as an XML Schema dateTime in UTC with a ``Z`` (seconds precision)."""
    return _seconds(moment, "a date-time").isoformat().replace("+00:00", "Z")


def parse_datetime(text: object, where: str) -> datetime:
    """Parse an XML Schema dateTime with a time zone.

    Raises:
        MalformedCredential: not a string, or no valid dateTime with time zone.
    """
    if not isinstance(text, str) or not _DATETIME.match(text):
        raise MalformedCredential(f"{where} must be a date-time with a time zone, such as "
                                  f"2026-04-01T09:00:00Z.")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedCredential(f"{where} is not a valid date-time: {text!r}.") from None
    return moment.astimezone(UTC)


def check_context(context: object) -> None:
    """Accept only exactly :data:`CONTEXTS`: URL strings, in order, nothing inline.

    An inline context object, or any other URL, could redefine what the terms
    mean to a JSON-LD processor while the JSON looks the same (term remapping).

    Raises:
        MalformedCredential: any other ``@context``.
    """
    if context != list(CONTEXTS):
        raise MalformedCredential(
            "@context must be exactly [\"" + VC_CONTEXT + "\", \"" + OB_CONTEXT + "\"]; "
            "other or inline contexts could change what the credential means."
        )


def _check_identifier(subject: dict[str, Any]) -> None:
    identifiers = subject.get("identifier")
    if "id" not in subject and not identifiers:
        raise MalformedCredential("credentialSubject must identify the learner (identifier).")
    if identifiers is None:
        return
    if not isinstance(identifiers, list) or not identifiers:
        raise MalformedCredential("credentialSubject.identifier must be a non-empty list.")
    for identifier in identifiers:
        if not isinstance(identifier, dict) or identifier.get("type") != "IdentityObject" \
                or set(identifier) - _IDENTITY_KEYS:
            raise MalformedCredential("credentialSubject.identifier entries must be "
                                      "IdentityObject objects.")
        if identifier.get("hashed") is True:
            if not isinstance(identifier.get("identityHash"), str) \
                    or not _HASHED.match(identifier["identityHash"]) \
                    or not isinstance(identifier.get("salt"), str):
                raise MalformedCredential("A hashed identifier needs identityHash "
                                          "sha256$<64 hex digits> and its salt.")
        elif identifier.get("hashed") is not False or not isinstance(
                identifier.get("identityHash"), str):
            raise MalformedCredential("IdentityObject.hashed must be true or false, with an "
                                      "identityHash.")


def _seconds(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise MalformedCredential(f"{what} must be a datetime with a time zone.")
    return moment.astimezone(UTC).replace(microsecond=0)


_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HASHED = re.compile(r"^sha256\$[0-9a-f]{64}$")
_INDEX = re.compile(r"^(0|[1-9][0-9]{0,9})$")
_URL = re.compile(r"^https?://[^\s#]+$")
_URN_UUID = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_STATUS_KEYS = {"id", "type", "statusPurpose", "statusListIndex", "statusListCredential"}
_PROFILE_KEYS = {"id", "type", "name", "url", "email", "description", "image"}
_IDENTITY_KEYS = {"type", "identityType", "hashed", "identityHash", "salt"}
_SUBJECT_KEYS = {"id", "type", "identifier", "name", "achievement", "result", "activityStartDate",
                 "activityEndDate", "creditsEarned", "licenseNumber", "role", "term", "source",
                 "narrative", "image"}
_CREDENTIAL_KEYS = {"@context", "id", "type", "issuer", "name", "description", "image",
                    "validFrom", "validUntil", "awardedDate", "credentialSubject", "evidence",
                    "credentialStatus", "credentialSchema", "endorsement", "endorsementJwt",
                    "refreshService", "termsOfUse"}
