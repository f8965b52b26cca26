"""Remember what verifying a credential found, per process, without ever serving a stale verdict.

The service verifies the same credentials again and again (a link shared with
several employers, a page reloaded). :class:`VerdictCache` keeps the
time-independent part of a verification, the
:class:`~certificates.verification.Examination`, under a key made of

- the token itself (compared in full, so a token differing by one byte never
  finds another's entry),
- the fingerprint of the trusted keys (any rotation or compromise changes it),
- the issuer id and the versions of the status lists, which the service reads
  with one statement on every verification, so a revocation or suspension made
  by any process is seen by the very next verification.

The time of verification is never part of what is kept: the validity periods
of the credential and of its status lists are decided against ``now`` on every
request (:func:`~certificates.verification.judge`).

Only complete examinations are kept (:attr:`Examination.complete`): the
signature verified and every status list was read. Tokens that are damaged,
forged or signed by an unknown key cost an attacker nothing to vary, so they
would only push real credentials out; a status list that could not be read
may become readable without the keys or the versions changing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from flask import Flask, current_app

from certificates import verification
from certificates.keys import TrustedKeys
from certificates.statuslist import StatusSource

#: Entries kept per process when the configuration does not say (``VERDICT_CACHE_SIZE``).
DEFAULT_SIZE = 1024


class VerdictCache:
    """A bounded, thread-safe store of examinations; the least recently used leaves first.

    Attributes:
        size: The most entries kept; 0 keeps none.
        hits: Examinations answered from the store.
        misses: Examinations that had to be made.
    """

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 0:
            raise ValueError("A verdict cache size cannot be negative.")
        self.size = size
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[Hashable, ...], verification.Examination] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def examine(self, token: str, *, keys: TrustedKeys, issuer_id: str, status: StatusSource,
                versions: tuple[Hashable, ...],
                records: verification.IssueRecords | None = None) -> verification.Examination:
        """Return the examination of *token*, remembered or made now.

        Args:
            token: The compact VC-JWT.
            keys: The issuer's trusted keys now.
            issuer_id: The trusted issuer id.
            status: The status source, reading the lists at *versions*.
            versions: The status lists' versions *status* reads, as read for
                this verification.
            records: The issuer's records of what it issued. A token's record
                never changes once written (rows are not deleted), so it is
                asked only when the examination has to be made; a token without
                one is never remembered.
        """
        key = (token, keys.fingerprint, issuer_id, versions)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        examination = verification.examine_token(token, keys=keys, issuer_id=issuer_id,
                                                 status=status, records=records)
        if examination.complete and self.size:
            with self._lock:
                self._entries[key] = examination
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return examination


def init_app(app: Flask) -> None:
    """Give the app its cache, of ``VERDICT_CACHE_SIZE`` entries (0: none kept)."""
    app.extensions["qcampus_verdicts"] = VerdictCache(
        int(app.config.get("VERDICT_CACHE_SIZE", DEFAULT_SIZE)))


def current_cache() -> VerdictCache:
    """Return the verdict cache of the current app."""
    return current_app.extensions["qcampus_verdicts"]
