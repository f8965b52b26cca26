"""Verify a credential: the one function behind the web service and the offline CLI.

:func:`verify` takes what an employer has (the file or the text) and returns a
:class:`Verdict`. The same inputs give the same verdict online and offline; only
the status source differs (the service's database, or a local file, or none).

Accepted inputs are those :func:`certificates.envelope.extract_token` reads: a
compact VC-JWT, JSON ``{"credential": …}`` or an ``EnvelopedVerifiableCredential``.

Checks, in order, each failing closed: encoding and JWS header → trusted key
(by ``kid`` only) and signature → credential structure and claims → issuer id →
the issuer's record of the token (online) → status (revoked / suspended) →
validity period → a compromised key (offline) → status availability. A
credential whose status could not be established is never ``valid``.

Online, the service passes its own records (:data:`IssueRecords`): a token it
never issued is ``not_issued`` however good its signature, and a compromised
key is trusted only for what the records say it issued before the compromise.
Offline there are no records; a token's own signing time is chosen by whoever
signed it, so a credential signed by a key later reported compromised is
``key_compromised``, never ``valid``: the verifier says what it confirmed and
sends the reader to the issuer's page.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from certificates import credential as credential_module
from certificates import statuslist, vcjwt
from certificates.envelope import extract_token
from certificates.errors import (
    CertificateError,
    MalformedCredential,
    SignatureInvalid,
    StatusError,
    StatusRangeError,
    StatusUnavailable,
    UnknownKey,
)
from certificates.keys import TrustedKeys
from certificates.statuslist import StatusDetail, StatusListDocument, StatusSource


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
    KEY_COMPROMISED = "key_compromised"
    NOT_ISSUED = "not_issued"


#: The issuer's records (online only): when it issued exactly this token, or None if never.
IssueRecords = Callable[[str], datetime | None]

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
    Outcome.KEY_COMPROMISED: 10,
    Outcome.NOT_ISSUED: 11,
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
        return {"outcome": self.outcome.value, "valid": self.valid,
                "message": dict(self.message), "details": dict(self.details)}


def _msg(en: str, ja: str) -> dict[str, str]:
    return {"en": en, "ja": ja}


def _time(moment: datetime | None) -> str | None:
    return credential_module.format_datetime(moment) if moment is not None else None


_FAILURES: dict[type[CertificateError], tuple[Outcome, dict[str, str]]] = {
    MalformedCredential: (Outcome.MALFORMED, _msg(
        "This is not a readable qcampus credential. Ask the holder for the credential file "
        "(.jwt or .json) they downloaded from qcampus.",
        "qcampus の証明書として読み取れません。保持者に qcampus からダウンロードした証明書ファイル"
        "（.jwt または .json）を依頼してください。")),
    SignatureInvalid: (Outcome.TAMPERED, _msg(
        "The credential has been altered or damaged: its signature does not match. Do not rely "
        "on it; ask the holder for the original file.",
        "証明書が改ざんまたは破損しています。署名が一致しません。信頼せず、保持者に元のファイルを"
        "依頼してください。")),
    UnknownKey: (Outcome.UNKNOWN_KEY, _msg(
        "The credential was not signed by a key this issuer publishes (unknown issuer or "
        "key). Do not rely on it.",
        "この証明書は発行者が公開している鍵で署名されていません（不明な発行者または鍵）。"
        "信頼しないでください。")),
}


def _named_kid(token: str) -> dict[str, str]:
    """Return the kid a token names, for diagnosis only (untrusted, bounded), if readable."""
    try:
        kid = vcjwt.read_header(token).get("kid")
    except (MalformedCredential, SignatureInvalid):
        return {}  # the token is unreadable; the verdict already says so
    return {"kid": kid[:100]} if isinstance(kid, str) else {}


def _failed(exc: CertificateError, details: dict[str, Any]) -> Examination:
    for kind, (outcome, message) in _FAILURES.items():
        if isinstance(exc, kind):
            return Examination({**details, "reason": exc.message}, failure=(outcome, message))
    raise exc  # pragma: no cover - every error verify_token raises is listed above


@dataclass(frozen=True)
class StatusReading:
    """What one status list says about a credential, before the time of verification is applied.

    Attributes:
        entry: The credential's status entry.
        listed: The verified list (the live one, or the cached copy of an
            unreachable one), or None when there is none to read.
        fetched_at: When that copy was obtained (None: live, at the time of verification).
        error: Why the status is not established: always raised without a
            list; with a cached copy, raised unless the copy's bit is set.
        detail: The issuer's record of the change, when the list's bit is set.
    """

    entry: credential_module.StatusEntry
    listed: statuslist.VerifiedList | None = None
    fetched_at: datetime | None = None
    error: StatusError | None = None
    detail: StatusDetail | None = None

    def bit_at(self, now: datetime) -> tuple[bool, datetime]:
        """Return the entry's bit at *now* and when the list was obtained.

        An unreachable list whose cached copy says the bit is set still counts
        as set: the issuer has said so, and a cache can only be older than the truth.

        Raises:
            StatusError: no list, a list outside its validity period at *now*, an
                index out of range, or a cached copy whose bit is clear.
        """
        if self.listed is None:
            raise self.error or StatusUnavailable("The status list was not read.")
        self.listed.check_time(now)
        is_set = self.listed.bit(self.entry.index)
        if self.error is not None and not is_set:
            raise self.error
        return is_set, self.fetched_at or now


@dataclass(frozen=True)
class Examination:
    """Everything a verification finds that does not depend on the time of verification.

    :func:`judge` turns it into a :class:`Verdict` at a given moment: the
    validity periods of the credential and of its status lists are decided then.

    Attributes:
        details: The verdict's details except ``checked_at``.
        failure: The outcome and message when already decided without a time
            (malformed, tampered, unknown key, another issuer), else None.
        parsed: The credential once its signature and structure verified.
        readings: One :class:`StatusReading` per status entry, revocation first.
        key_compromised_at: When the signing key was reported compromised, if
            it was and no issuer record vouches for when the token was signed
            (offline): the verdict can then never be ``valid``.
    """

    details: dict[str, Any]
    failure: tuple[Outcome, dict[str, str]] | None = None
    parsed: credential_module.Credential | None = None
    readings: tuple[StatusReading, ...] = ()
    key_compromised_at: datetime | None = None

    @property
    def complete(self) -> bool:
        """Tell whether the signature verified and every status list could be read.

        Only a complete examination may be remembered: the rest is either free
        for anyone to produce (a damaged or foreign token) or may change
        without the keys or the lists changing (an unavailable list).
        """
        return self.parsed is not None and all(reading.error is None
                                               for reading in self.readings)


def examine(text: str | bytes, *, keys: TrustedKeys, issuer_id: str,
            status: StatusSource | None, records: IssueRecords | None = None) -> Examination:
    """Examine a credential file for one trusted issuer (see :func:`verify`)."""
    try:
        token = extract_token(text)
    except (MalformedCredential, UnknownKey) as exc:
        return _failed(exc, {})
    return examine_token(token, keys=keys, issuer_id=issuer_id, status=status, records=records)


_NOT_ISSUED = _msg(
    "The signature matches one of the issuer's keys, but the issuer has no record of issuing "
    "this credential: it may have been made with a stolen key. Do not rely on it; ask the "
    "holder for the verification link the issuer gave them.",
    "署名は発行者の鍵と一致しますが、発行者にはこの証明書を発行した記録がありません。盗まれた鍵で"
    "作られた可能性があります。信頼せず、発行者が発行した検証リンクを保持者に依頼してください。")


def examine_token(token: str, *, keys: TrustedKeys, issuer_id: str,
                  status: StatusSource | None, records: IssueRecords | None = None) -> Examination:
    """Check a VC-JWT's signature, claims, credential, issuer, records and status lists.

    Args:
        token: The compact VC-JWT.
        keys: The trusted issuer's keys.
        issuer_id: The trusted issuer's id.
        status: Where to get status lists, or None.
        records: The issuer's own records of what it issued (the service has
            them, an offline verifier does not). With records, a token they do
            not hold is ``not_issued`` and a compromised key is judged by the
            recorded issuing time instead of the token's own claims.

    Returns:
        The :class:`Examination`; this function does not raise for bad input.
    """
    try:
        verified = vcjwt.verify_token(token, keys)
    except (MalformedCredential, SignatureInvalid, UnknownKey) as exc:
        return _failed(exc, _named_kid(token))
    details: dict[str, Any] = {"kid": verified.kid}
    try:
        body = vcjwt.check_claims(verified.claims)
        parsed = credential_module.parse(body)
    except MalformedCredential as exc:
        return _failed(exc, details)
    details.update(credential_id=parsed.id, issuer=parsed.issuer_id,
                   achievement=parsed.achievement_id, valid_from=_time(parsed.valid_from),
                   valid_until=_time(parsed.valid_until), signed_at=_time(verified.signed_at))
    if parsed.issuer_id != issuer_id:
        return Examination({**details, "reason": "issuer mismatch"}, failure=(
            Outcome.UNKNOWN_KEY, _msg(
                f"The credential names the issuer {parsed.issuer_id}, not {issuer_id}. Do not "
                f"rely on it as a credential of {issuer_id}.",
                f"この証明書の発行者は {parsed.issuer_id} で、{issuer_id} ではありません。"
                f"{issuer_id} の証明書として信頼しないでください。")), parsed=parsed)
    key_compromised_at = keys[verified.kid].compromised_at
    if records is not None:
        recorded_at = records(token)
        if recorded_at is None:
            # Nothing from the forged body is handed back, and the result is not
            # remembered: anyone with a stolen key can vary such tokens for free.
            return Examination({**details, "reason": "no issuer record of this token"},
                               failure=(Outcome.NOT_ISSUED, _NOT_ISSUED))
        try:
            # The record says when the issuer signed; the token's iat only says what its
            # signer claimed.
            keys.key_for(verified.kid, max(recorded_at, verified.signed_at))
        except UnknownKey as exc:
            return _failed(exc, details)
        details["issued_at"] = _time(recorded_at)
        key_compromised_at = None
    elif key_compromised_at is not None:
        details["key_compromised_at"] = _time(key_compromised_at)
    readings = tuple(_read_status(parsed.status[purpose], keys=keys, issuer_id=issuer_id,
                                  status=status)
                     for purpose in (credential_module.REVOCATION, credential_module.SUSPENSION)
                     if purpose in parsed.status)
    return Examination(details, parsed=parsed, readings=readings,
                       key_compromised_at=key_compromised_at)


def _read_status(entry: credential_module.StatusEntry, *, keys: TrustedKeys, issuer_id: str,
                 status: StatusSource | None) -> StatusReading:
    """Obtain and verify the list *entry* points into, without judging its time."""
    if status is None:
        return StatusReading(entry, error=StatusUnavailable(
            "No status list was given, so revocation was not checked."))
    error: StatusUnavailable | None = None
    try:
        document = status.fetch(entry.list_url)
    except StatusUnavailable as exc:
        if not isinstance(exc.cached, StatusListDocument):
            return StatusReading(entry, error=exc)
        document, error = exc.cached, exc
    except StatusError as exc:
        return StatusReading(entry, error=exc)
    try:
        listed = statuslist.verified_list(document.token, keys=keys, issuer_id=issuer_id,
                                          url=entry.list_url, purpose=entry.purpose)
    except StatusError as exc:
        return StatusReading(entry, error=exc)
    try:
        is_set = listed.bit(entry.index)
    except StatusRangeError:
        is_set = False  # reported when judged, after the list's time
    detail = status.detail(entry.list_url, entry.index) if is_set else None
    return StatusReading(entry, listed, document.fetched_at, error, detail)


def verify(text: str | bytes, *, keys: TrustedKeys, issuer_id: str,
           status: StatusSource | None, now: datetime,
           records: IssueRecords | None = None) -> Verdict:
    """Verify a credential for one trusted issuer.

    Args:
        text: The credential file's content.
        keys: The trusted issuer's keys (from its key store or its published JWKS).
        issuer_id: The trusted issuer's id; a credential naming another issuer
            is ``unknown_key`` even if its key is trusted.
        status: Where to get status lists, or None (then a credential with a
            status entry is at best ``status_unknown``).
        now: The time of verification (time zone required).
        records: The issuer's own records (online only; see :func:`examine_token`).

    Returns:
        The :class:`Verdict`; this function does not raise for bad input.
    """
    if now.tzinfo is None:
        raise ValueError("verify() needs an aware 'now'")
    return judge(examine(text, keys=keys, issuer_id=issuer_id, status=status, records=records),
                 now)


def judge(examination: Examination, now: datetime) -> Verdict:
    """Return the verdict of *examination* at *now* (time zone required).

    Status set (revoked, suspended) wins over the validity period, which wins
    over a compromised signing key (offline), which wins over a status that
    could not be established.
    """
    if now.tzinfo is None:
        raise ValueError("judge() needs an aware 'now'")
    now = now.astimezone(UTC)
    checked = _time(now)
    details: dict[str, Any] = {"checked_at": checked, **examination.details}
    parsed = examination.parsed
    body = parsed.data if parsed is not None else None
    if examination.failure is not None:
        outcome, message = examination.failure
        return Verdict(outcome, message, details, body)
    assert parsed is not None and body is not None  # an examination without failure has both
    unknown: list[tuple[str, StatusError, datetime | None]] = []
    for reading in examination.readings:
        purpose = reading.entry.purpose
        try:
            is_set, checked_at = reading.bit_at(now)
        except StatusError as exc:
            cached = exc.cached if isinstance(exc, StatusUnavailable) else None
            cached_at = cached.fetched_at if isinstance(cached, StatusListDocument) else None
            unknown.append((purpose, exc, cached_at))
            continue
        details[f"{purpose}_checked_at"] = checked if checked_at is now else _time(checked_at)
        if is_set:
            return _status_set(purpose, reading.detail or StatusDetail(), details, body)
    if parsed.valid_until is not None and now >= parsed.valid_until:
        return Verdict(Outcome.EXPIRED, _msg(
            f"The credential expired on {_time(parsed.valid_until)}.",
            f"この証明書は {_time(parsed.valid_until)} に有効期限が切れました。"), details, body)
    if now < parsed.valid_from:
        return Verdict(Outcome.NOT_YET_VALID, _msg(
            f"The credential is not valid before {_time(parsed.valid_from)}.",
            f"この証明書は {_time(parsed.valid_from)} より前は有効ではありません。"), details, body)
    if unknown:
        purpose, exc, cached_at = unknown[0]
        details.update(code=exc.code, reason=exc.message, status_purpose=purpose)
    if examination.key_compromised_at is not None:
        return _unconfirmed(examination.key_compromised_at, parsed, details, body,
                            status_checked=not unknown)
    if unknown:
        cached = f" (cached at {_time(cached_at)})" if cached_at else ""
        cached_ja = f"（{_time(cached_at)} 時点のキャッシュ）" if cached_at else ""
        if cached_at:
            details["status_cached_at"] = _time(cached_at)
        return Verdict(Outcome.STATUS_UNKNOWN, _msg(
            f"Signature valid, status unknown{cached}: whether the credential was revoked or "
            f"suspended could not be checked ({exc.code}). Try again later or verify online.",
            f"署名は有効ですが、状態は不明です{cached_ja}。失効・停止されているか確認できません"
            f"でした（{exc.code}）。後でもう一度、またはオンラインで検証してください。"),
            details, body)
    return Verdict(Outcome.VALID, _msg(
        f"Valid: issued by {details['issuer']}, signed by a published key, not revoked or "
        f"suspended.",
        f"有効です。{details['issuer']} が発行し、公開された鍵で署名され、失効・停止されて"
        f"いません。"), details, body)


def _unconfirmed(compromised_at: datetime, parsed: credential_module.Credential,
                 details: dict[str, Any], body: dict[str, Any], *,
                 status_checked: bool) -> Verdict:
    """Say what a check without the issuer's records confirms of a compromised key's credential."""
    when = _time(compromised_at)
    signed = details.get("signed_at") or _time(parsed.valid_from)
    page = f"{parsed.issuer_id}/verify/{parsed.id.removeprefix('urn:uuid:')}"
    status_en = ("its status lists show it neither revoked nor suspended"
                 if status_checked else "its revocation status could not be checked")
    status_ja = ("ステータスリスト上は失効・停止されていません" if status_checked
                 else "失効状態は確認できませんでした")
    return Verdict(Outcome.KEY_COMPROMISED, _msg(
        f"Not confirmed: the signature matches a key {details['issuer']} published, and "
        f"{status_en}, but the issuer reported that key compromised on {when}. The credential "
        f"says it was signed on {signed}, before that, yet whoever signed it chose that date, "
        f"so this check cannot tell it from a forgery. Verify it online at {page}, where the "
        f"issuer checks its own record of what it issued.",
        f"未確認：署名は {details['issuer']} が公開した鍵と一致し、{status_ja}。しかし発行者は"
        f"その鍵が {when} に漏えいしたと報告しています。証明書には {signed} に署名したとありますが、"
        f"この日付は署名した者が決められるため、偽造と区別できません。発行者が自らの発行記録と"
        f"照合する {page} でオンライン検証してください。"), details, body)


def _status_set(purpose: str, detail: StatusDetail, details: dict[str, Any],
                body: dict[str, Any]) -> Verdict:
    when = _time(detail.changed_at)
    if when:
        details["revoked_at" if purpose == credential_module.REVOCATION else "suspended_at"] = when
    if detail.reason:
        details["reason_category"] = detail.reason
    label = dict(detail.label) if detail.label else None
    reason_en = f" Reason: {label['en'] if label else detail.reason}." if detail.reason else ""
    reason_ja = f" 理由：{label['ja'] if label else detail.reason}。" if detail.reason else ""
    on_en, on_ja = (f" on {when}", f"（{when}）") if when else ("", "")
    if purpose == credential_module.REVOCATION:
        return Verdict(Outcome.REVOKED, _msg(
            f"The issuer revoked this credential{on_en}.{reason_en} It is no longer valid.",
            f"発行者はこの証明書を失効させました{on_ja}。{reason_ja}この証明書は無効です。"),
            details, body)
    return Verdict(Outcome.SUSPENDED, _msg(
        f"The issuer suspended this credential{on_en}.{reason_en} It is not valid while "
        f"suspended.",
        f"発行者はこの証明書を一時停止しています{on_ja}。{reason_ja}停止中は無効です。"),
        details, body)
