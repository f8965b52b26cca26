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

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from certificates.credential import IssuerProfile
from certificates.keys import TrustedKeys

MIN_LENGTH = 131_072
#: Largest decompressed list accepted (bytes): 128 times the minimum, against GZIP bombs.
MAX_BYTES = MIN_LENGTH // 8 * 128
STATUS_LIST_TYPES = ("VerifiableCredential", "BitstringStatusListCredential")


class StatusList:
    """A mutable bitstring of status bits."""

    def __init__(self, length: int = MIN_LENGTH, data: bytes | None = None) -> None:
        """Create a list of *length* bits, all 0, or wrapping *data*.

        Raises:
            StatusListLengthError: *length* is below :data:`MIN_LENGTH` or not a
                multiple of 8, or *data* does not hold *length* bits.
        """
        raise NotImplementedError

    @property
    def length(self) -> int:
        """Return the number of entries."""
        raise NotImplementedError

    def get(self, index: int) -> bool:
        """Return bit *index*.

        Raises:
            StatusRangeError: *index* is outside the list.
        """
        raise NotImplementedError

    def set(self, index: int, value: bool = True) -> None:
        """Set bit *index* to *value*.

        Raises:
            StatusRangeError: *index* is outside the list.
        """
        raise NotImplementedError

    def encode(self) -> str:
        """Return the ``encodedList`` value: ``u`` + base64url(GZIP(bits))."""
        raise NotImplementedError

    @classmethod
    def decode(cls, encoded: str) -> StatusList:
        """Read an ``encodedList`` value.

        Raises:
            StatusVerificationError: not multibase base64url GZIP data, or it
                expands beyond :data:`MAX_BYTES`.
            StatusListLengthError: fewer than :data:`MIN_LENGTH` entries.
        """
        raise NotImplementedError


def allocate_index(used: Container[int], length: int = MIN_LENGTH, *,
                   attempts: int = 64) -> int:
    """Return a random index in ``[0, length)`` not in *used*.

    Random indices keep issuance order out of the list (Bitstring Status List
    privacy considerations). Uses :mod:`secrets`.

    Raises:
        StatusRangeError: no free index was found in *attempts* draws followed by
            a scan (the list is full).
    """
    raise NotImplementedError


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
    raise NotImplementedError


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
    raise NotImplementedError


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
    """Why and when a status bit was set, as the issuer's records say (unsigned)."""

    changed_at: datetime | None = None
    reason: str | None = None


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
        raise NotImplementedError

    def fetch(self, url: str) -> StatusListDocument:
        """Return the token for *url* or raise :class:`StatusUnavailable`."""
        raise NotImplementedError

    def detail(self, url: str, index: int) -> StatusDetail | None:
        """Return the recorded detail, if any."""
        raise NotImplementedError


class FileStatusSource:
    """Status lists from local files, for the offline verifier.

    Each file holds one signed status list credential (VC-JWT, or JSON
    ``{"credential": "<jwt>"}``); it serves the URL its unverified ``id``
    claims, and verification then checks the signature and that ``id``.
    """

    def __init__(self, paths: list[Path], clock: Callable[[], datetime] | None = None) -> None:
        raise NotImplementedError

    def fetch(self, url: str) -> StatusListDocument:
        """Return the file's token for *url*, stamped with the file's modification time."""
        raise NotImplementedError

    def detail(self, url: str, index: int) -> StatusDetail | None:
        """Return None: files carry no revocation records."""
        return None
