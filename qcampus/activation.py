"""One-time activation codes for accounts that must not be claimed at first login.

With first-use passwords, whoever logs in first with an enrolled name chooses
its password, staff accounts included. Staff (instructors, examiners), and
learners too where ``accounts.learner_first_use`` is false, instead activate
with a code that ``qcampus roster add`` prints once: only its SHA-256 is stored
(``hub/activations.json``, 0600, in the hub's 0700 directory), it expires after
``accounts.activation_hours`` and it works once. Codes carry 80 random bits,
so a plain hash is enough; the hub's login limits count wrong codes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from qcampus.permissions import open_private

ACTIVATIONS_FILE = "activations.json"
STAFF_ROLES = ("instructor", "examiner")
# No 0/O, 1/I/L: codes are read off paper and typed.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 16  # 16 symbols of 31: 79 bits


def needs_activation(role: str, learner_first_use: bool) -> bool:
    """Return whether an account of *role* activates with a code instead of first use."""
    return role in STAFF_ROLES or not learner_first_use


def new_code() -> str:
    """Return a fresh code, grouped by four for reading aloud (``ABCD-EFGH-...``)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def digest(code: str) -> str:
    """Return the stored form of *code*; case, spaces and dashes do not matter."""
    normal = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What redeeming a code found: ``ok``, or why not (``unknown``, ``wrong``, ``expired``)."""

    reason: str

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


class Activations:
    """The pending codes of one deployment, in ``<hub_dir>/activations.json``."""

    def __init__(self, hub_dir: Path, clock=time.time):
        self.path = Path(hub_dir) / ACTIVATIONS_FILE
        self.clock = clock

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, object]]]:
        """Yield the pending codes under an exclusive lock and write them back atomically."""
        lock_fd = open_private(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            try:
                pending = json.loads(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                pending = {}
            before = json.dumps(pending, sort_keys=True)
            yield pending
            if json.dumps(pending, sort_keys=True) != before:
                tmp = self.path.with_name(self.path.name + ".tmp")
                fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(pending, handle, indent=1, sort_keys=True)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
        finally:
            os.close(lock_fd)

    def issue(self, usernames: Iterable[str], hours: int) -> dict[str, tuple[str, float]]:
        """Give each of *usernames* a new code (replacing an older one); return code and expiry."""
        expires = self.clock() + hours * 3600
        issued = {}
        with self._locked() as pending:
            for name in usernames:
                code = new_code()
                pending[name] = {"sha256": digest(code), "expires": expires}
                issued[name] = (code, expires)
        return issued

    def pending(self) -> set[str]:
        """Return the names with a code not yet used (expired ones included)."""
        with self._locked() as pending:
            return set(pending)

    def redeem(self, username: str, code: str) -> Outcome:
        """Use *username*'s code once: on success it is deleted, so it never works again."""
        with self._locked() as pending:
            entry = pending.get(username)
            if entry is None:
                return Outcome("unknown")
            if not hmac.compare_digest(str(entry["sha256"]), digest(code)):
                return Outcome("wrong")
            if float(entry["expires"]) <= self.clock():
                del pending[username]
                return Outcome("expired")
            del pending[username]
        return Outcome("ok")
