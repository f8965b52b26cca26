"""Bitstring Status List v1.0: the revocation and suspension lists.

A :class:`StatusList` is a bitstring of at least :data:`MIN_LENGTH` (131,072)
entries, so each credential hides in a crowd. Bit 0 is the most significant bit
of the first byte. ``encodedList`` is the GZIP-compressed bitstring in base64url
without padding, prefixed with the multibase code ``u``.

The list is published as a ``BitstringStatusListCredential`` secured as a
VC-JWT with the issuer's key (:func:`build_credential`, then
:func:`certificates.vcjwt.sign`); :func:`read_credential` verifies one and
returns its list. Errors carry the specification's error types
(:class:`~certificates.errors.StatusError` ``.code``).

A :class:`StatusSource` gives verification the signed list for a URL: the web
service reads its database, the offline verifier a local file or nothing.
"""

from __future__ import annotations

import gzip
import json
import secrets
import threading
import zlib
from collections import OrderedDict
from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from certificates import base64url, vcjwt
from certificates.credential import (
    REVOCATION,
    SUSPENSION,
    VC_CONTEXT,
    IssuerProfile,
    format_datetime,
    parse_datetime,
)
from certificates.errors import (
    CertificateError,
    StatusListLengthError,
    StatusRangeError,
    StatusUnavailable,
    StatusVerificationError,
)
from certificates.keys import TrustedKeys

MIN_LENGTH = 131_072
#: Largest decompressed list accepted (bytes): 128 times the minimum, against GZIP bombs.
MAX_BYTES = MIN_LENGTH // 8 * 128
STATUS_LIST_TYPES = ("VerifiableCredential", "BitstringStatusListCredential")


def _locate(index: int, length: int) -> tuple[int, int]:
    """Return the byte and the shift of bit *index* in a list of *length* entries."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < length:
        raise StatusRangeError(f"Status index {index!r} is outside the list of {length} entries.")
    # Bit 0 is the most significant bit of byte 0 (Bitstring Status List v1.0).
    return index // 8, 7 - index % 8


def _bit(bits: bytes | bytearray, index: int) -> bool:
    byte, shift = _locate(index, len(bits) * 8)
    return bool(bits[byte] >> shift & 1)


class StatusList:
    """A mutable bitstring of status bits."""

    def __init__(self, length: int = MIN_LENGTH, data: bytes | None = None) -> None:
        """Create a list of *length* bits, all 0, or wrapping *data*.

        Raises:
            StatusListLengthError: *length* is below :data:`MIN_LENGTH` or not a
                multiple of 8, or *data* does not hold *length* bits.
        """
        if length < MIN_LENGTH or length % 8:
            raise StatusListLengthError(
                f"A status list needs at least {MIN_LENGTH} entries (a multiple of 8), not "
                f"{length}."
            )
        if data is not None and len(data) * 8 != length:
            raise StatusListLengthError(f"{len(data)} bytes do not hold {length} entries.")
        self._bits = bytearray(data) if data is not None else bytearray(length // 8)

    @property
    def length(self) -> int:
        """Return the number of entries."""
        return len(self._bits) * 8

    def get(self, index: int) -> bool:
        """Return bit *index*.

        Raises:
            StatusRangeError: *index* is outside the list.
        """
        return _bit(self._bits, index)

    def set(self, index: int, value: bool = True) -> None:
        """Set bit *index* to *value*.

        Raises:
            StatusRangeError: *index* is outside the list.
        """
        byte, shift = _locate(index, self.length)
        if value:
            self._bits[byte] |= 1 << shift
        else:
            self._bits[byte] &= ~(1 << shift) & 0xFF

    def to_bytes(self) -> bytes:
        """Return the raw bitstring (for storage)."""
        return bytes(self._bits)

    def encode(self) -> str:
        """Return the ``encodedList`` value: ``u`` + base64url(GZIP(bits))."""
        # mtime=0 makes the encoding a function of the bits alone.
        packed = gzip.compress(bytes(self._bits), compresslevel=9, mtime=0)
        return "u" + base64url.encode(packed)

    @classmethod
    def decode(cls, encoded: str) -> StatusList:
        """Read an ``encodedList`` value.

        Raises:
            StatusVerificationError: not multibase base64url GZIP data, or it
                expands beyond :data:`MAX_BYTES`.
            StatusListLengthError: fewer than :data:`MIN_LENGTH` entries.
        """
        if not isinstance(encoded, str) or not encoded.startswith("u") or not encoded.isascii():
            raise StatusVerificationError("encodedList must be multibase base64url text "
                                          "(prefix 'u').")
        try:
            packed = base64url.decode(encoded[1:])
        except ValueError as exc:
            raise StatusVerificationError("encodedList is not base64url.") from exc
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            bits = inflater.decompress(packed, MAX_BYTES + 1)
        except zlib.error as exc:
            raise StatusVerificationError("encodedList is not GZIP data.") from exc
        if len(bits) > MAX_BYTES or inflater.unconsumed_tail:
            raise StatusVerificationError(f"encodedList expands beyond {MAX_BYTES} bytes.")
        if not inflater.eof:
            raise StatusVerificationError("encodedList is truncated GZIP data.")
        if len(bits) * 8 < MIN_LENGTH:
            raise StatusListLengthError(
                f"The status list has {len(bits) * 8} entries; at least {MIN_LENGTH} are "
                f"required so one credential cannot be told from the others."
            )
        return cls(len(bits) * 8, bits)


def allocate_index(used: Container[int], length: int = MIN_LENGTH, *,
                   attempts: int = 64) -> int:
    """Return a random index in ``[0, length)`` not in *used*.

    Random indices keep issuance order out of the list (Bitstring Status List
    privacy considerations). Uses :mod:`secrets`.

    Raises:
        StatusRangeError: no free index was found in *attempts* draws followed by
            a scan (the list is full).
    """
    for _ in range(attempts):
        index = secrets.randbelow(length)
        if index not in used:
            return index
    # Nearly full: scan from a random start so the choice stays unpredictable.
    start = secrets.randbelow(length)
    for offset in range(length):
        index = (start + offset) % length
        if index not in used:
            return index
    raise StatusRangeError(f"The status list of {length} entries is full; start a new list.")


def build_credential(*, issuer: IssuerProfile, url: str, purpose: str, status_list: StatusList,
                     valid_from: datetime, valid_until: datetime | None = None,
                     ttl_ms: int | None = None) -> dict[str, Any]:
    """Build a ``BitstringStatusListCredential`` (unsigned JSON).

    Args:
        issuer: The issuer profile (the same one as on the credentials).
        url: Where the list is published; becomes the credential ``id``.
        purpose: ``revocation`` or ``suspension``.
        status_list: The bits.
        valid_from: When this version of the list was made.
        valid_until: When verifiers must fetch a new one, or None.
        ttl_ms: Optional ``ttl`` hint in milliseconds.
    """
    if purpose not in (REVOCATION, SUSPENSION):
        raise CertificateError(f"A status list is for revocation or suspension, not {purpose!r}.")
    subject: dict[str, Any] = {
        "id": f"{url}#list",
        "type": "BitstringStatusList",
        "statusPurpose": purpose,
        "encodedList": status_list.encode(),
    }
    if ttl_ms is not None:
        subject["ttl"] = ttl_ms
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": list(STATUS_LIST_TYPES),
        "issuer": issuer.to_json(),
        "validFrom": format_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    credential["credentialSubject"] = subject
    return credential


def read_credential(token: str, *, keys: TrustedKeys, issuer_id: str, url: str, purpose: str,
                    now: datetime) -> StatusList:
    """Verify a signed status list credential and return its bits.

    Args:
        token: The VC-JWT of a ``BitstringStatusListCredential``.
        keys: The issuer's trusted keys.
        issuer_id: The trusted issuer id.
        url: The ``statusListCredential`` URL the entry named; must equal the
            list credential's ``id``.
        purpose: The entry's ``statusPurpose``; must match the list's.
        now: The time of verification (the list must be within its validity).

    Raises:
        StatusVerificationError: unsigned, wrongly signed, another issuer, another
            URL or purpose, expired, or malformed.
        StatusListLengthError: fewer than :data:`MIN_LENGTH` entries.
    """
    verified = verified_list(token, keys=keys, issuer_id=issuer_id, url=url, purpose=purpose)
    verified.check_time(now)
    return StatusList(len(verified.bits) * 8, verified.bits)


@dataclass(frozen=True)
class VerifiedList:
    """A status list credential whose signature and content verified; its time not yet checked.

    Attributes:
        bits: The decoded bitstring.
        valid_from: The list credential's ``validFrom``.
        valid_until: Its ``validUntil``, if any.
    """

    bits: bytes
    valid_from: datetime
    valid_until: datetime | None

    def check_time(self, now: datetime) -> None:
        """Refuse the list at *now* if it is outside its validity period.

        Raises:
            StatusVerificationError: not valid yet, or expired.
        """
        if self.valid_from > now:
            raise StatusVerificationError("The status list is not valid yet.")
        if self.valid_until is not None and self.valid_until <= now:
            raise StatusVerificationError("The status list has expired; fetch a fresh copy.")

    def bit(self, index: int) -> bool:
        """Return bit *index*.

        Raises:
            StatusRangeError: *index* is outside the list.
        """
        return _bit(self.bits, index)


#: Verified lists by (token, trust, issuer, URL, purpose). A list version is
#: verified once, not once per credential check; time checks still run each time.
_VERIFIED: OrderedDict[tuple, VerifiedList] = OrderedDict()
_VERIFIED_SIZE = 32
_VERIFIED_LOCK = threading.Lock()


def verified_list(token: str, *, keys: TrustedKeys, issuer_id: str, url: str,
                  purpose: str) -> VerifiedList:
    """Verify a status list credential's signature and content, remembering the result.

    Everything :func:`read_credential` checks except the time: the result
    depends on nothing but the arguments, so the caller applies
    :meth:`VerifiedList.check_time` at each verification.

    Raises:
        StatusVerificationError, StatusListLengthError: as :func:`read_credential`.
    """
    token = token.strip()
    # The fingerprint changes whenever a key is added, retired or marked compromised.
    cache_key = (token, keys.fingerprint, issuer_id, url, purpose)
    with _VERIFIED_LOCK:
        found = _VERIFIED.get(cache_key)
        if found is not None:
            _VERIFIED.move_to_end(cache_key)
            return found
    try:
        verified = vcjwt.verify_token(token, keys)
        body = vcjwt.check_claims(verified.claims)
    except CertificateError as exc:
        raise StatusVerificationError(f"The status list at {url} cannot be trusted: "
                                      f"{exc.message}") from exc
    compromised_at = keys[verified.kid].compromised_at
    if compromised_at is not None:
        # Whoever holds a stolen key can sign a list with any date (and any bit cleared);
        # the issuer signs its lists with the current key, so fetch the list again.
        raise StatusVerificationError(
            f"The status list at {url} was signed with the key {verified.kid}, which the issuer "
            f"reported compromised on {compromised_at.isoformat()}; fetch the current list.")
    try:
        subject = body["credentialSubject"]
        if body.get("type") != list(STATUS_LIST_TYPES) or subject.get("type") != \
                "BitstringStatusList":
            raise StatusVerificationError("The document is not a BitstringStatusListCredential.")
        if body.get("@context") != [VC_CONTEXT]:
            raise StatusVerificationError("The status list has unexpected @context entries.")
        if (body["issuer"].get("id") if isinstance(body["issuer"], dict) else body["issuer"]) \
                != issuer_id:
            raise StatusVerificationError(f"The status list is not issued by {issuer_id}.")
        if body.get("id") != url:
            raise StatusVerificationError(f"The status list is published for {body.get('id')!r}, "
                                          f"not {url!r}.")
        if subject.get("statusPurpose") != purpose:
            raise StatusVerificationError(f"The status list is for {subject.get('statusPurpose')!r}"
                                          f", not {purpose!r}.")
        if subject.get("statusSize", 1) != 1:
            raise StatusVerificationError("Only one-bit status entries are supported.")
        valid_from = parse_datetime(body.get("validFrom"), "validFrom")
        valid_until = (parse_datetime(body["validUntil"], "validUntil")
                       if "validUntil" in body else None)
        encoded = subject.get("encodedList")
    except (KeyError, TypeError, AttributeError) as exc:
        raise StatusVerificationError(f"The status list credential is malformed ({exc}).") \
            from exc
    except CertificateError as exc:
        if isinstance(exc, StatusVerificationError):
            raise
        raise StatusVerificationError(f"The status list credential is malformed: "
                                      f"{exc.message}") from exc
    result = VerifiedList(StatusList.decode(encoded).to_bytes(), valid_from, valid_until)
    with _VERIFIED_LOCK:
        _VERIFIED[cache_key] = result
        while len(_VERIFIED) > _VERIFIED_SIZE:
            _VERIFIED.popitem(last=False)
    return result


@dataclass(frozen=True)
class StatusListDocument:
    """A signed status list credential as a source delivered it.

    Attributes:
        token: The VC-JWT text.
        fetched_at: When this copy was obtained (None: just now). A cached copy
            names its time, which verdicts report.
    """

    token: str
    fetched_at: datetime | None = None


@dataclass(frozen=True)
class StatusDetail:
    """Why and when a status bit was set, as the issuer's records say (unsigned).

    Attributes:
        changed_at: When the credential was revoked or suspended.
        reason: The reason category id (e.g. ``issued_in_error``).
        label: The category's words by language (``en``, ``ja``), if known.
    """

    changed_at: datetime | None = None
    reason: str | None = None
    label: Mapping[str, str] | None = None


class StatusSource(Protocol):
    """Where verification gets status lists from."""

    def fetch(self, url: str) -> StatusListDocument:
        """Return the signed status list credential published at *url*.

        Raises:
            StatusUnavailable: it cannot be obtained now; ``cached`` carries the
                last copy if one is kept.
        """
        ...

    def detail(self, url: str, index: int) -> StatusDetail | None:
        """Return the issuer's record of why bit *index* of *url* is set, if known."""
        ...


class MappingStatusSource:
    """A status source over in-memory tokens by URL (tests, caches)."""

    def __init__(self, tokens: Mapping[str, str | StatusListDocument],
                 details: Mapping[tuple[str, int], StatusDetail] | None = None) -> None:
        self._documents = {
            url: doc if isinstance(doc, StatusListDocument) else StatusListDocument(doc)
            for url, doc in tokens.items()
        }
        self._details = dict(details or {})

    def fetch(self, url: str) -> StatusListDocument:
        """Return the token for *url* or raise :class:`StatusUnavailable`."""
        try:
            return self._documents[url]
        except KeyError:
            raise StatusUnavailable(f"No status list is available for {url}.") from None

    def detail(self, url: str, index: int) -> StatusDetail | None:
        """Return the recorded detail, if any."""
        return self._details.get((url, index))


def token_from_text(text: str) -> str:
    """Return the VC-JWT in *text*: a bare token or JSON ``{"credential": "<jwt>"}``."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            raise StatusVerificationError("The status list file is not valid JSON.") from exc
        if not isinstance(data, dict) or not isinstance(data.get("credential"), str):
            raise StatusVerificationError('A JSON status list file must be {"credential": '
                                          '"<VC-JWT>"}.')
        return data["credential"].strip()
    return text


class FileStatusSource:
    """Status lists from local files, for the offline verifier.

    Each file holds one signed status list credential (VC-JWT, or JSON
    ``{"credential": "<jwt>"}``); it serves the URL its unverified ``id``
    claims, and verification then checks the signature and that ``id``.
    """

    def __init__(self, paths: list[Path]) -> None:
        self._documents: dict[str, StatusListDocument] = {}
        for path in map(Path, paths):
            try:
                token = token_from_text(path.read_text(encoding="utf-8"))
                fetched_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            except OSError as exc:
                raise StatusUnavailable(f"Cannot read the status list {path}: "
                                        f"{exc.strerror}.") from exc
            try:
                _, payload_b64, _ = vcjwt.split(token)
                claims = json.loads(base64url.decode(payload_b64))
                url = claims["id"]
            except (CertificateError, ValueError, KeyError, TypeError, RecursionError) as exc:
                raise StatusVerificationError(f"{path} does not hold a signed status list "
                                              f"credential.") from exc
            # Served as fetched at the file's time; read_credential verifies it.
            self._documents[str(url)] = StatusListDocument(token, fetched_at)

    def fetch(self, url: str) -> StatusListDocument:
        """Return the file's token for *url*, stamped with the file's modification time."""
        try:
            return self._documents[url]
        except KeyError:
            raise StatusUnavailable(f"No status list file was given for {url}.") from None

    def detail(self, url: str, index: int) -> StatusDetail | None:
        """Return None: files carry no revocation records."""
        return None
