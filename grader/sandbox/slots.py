"""Sandbox slots: which sandbox user a running sandbox has to itself on this machine.

A slot is a sandbox user (:func:`grader.sandbox.users.user_name`). Its process
limit counts every process of that user on the machine, so two sandboxes sharing
one user would share it: one learner's fork bomb could make another learner's
notebook fail. Every sandbox therefore holds its slot under an exclusive lock
file for as long as it runs, whoever started it (``qcampus grade``, the grading
service, formgrader's autograde), and a slot already held is skipped for the next
free one. The lock is released when its holder closes it or dies.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from grader.errors import SandboxUnavailableError

#: Root-only directory of the lock files, one per slot in use since boot.
LOCKS = Path("/run/qcampus-sandbox-slots")
#: Slots tried from the one asked for before giving up.
SPAN = 64


class Slot:
    """A sandbox slot held by this process until :meth:`release` (or until it ends)."""

    def __init__(self, number: int, fd: int) -> None:
        self.number = number
        self._fd = fd

    @property
    def held(self) -> bool:
        """Whether this process still holds the slot."""
        return self._fd >= 0

    def fileno(self) -> int:
        """The lock file's descriptor (a forked child must close its copy, or it holds the slot)."""
        return self._fd

    def release(self) -> None:
        """Let another sandbox take the slot (safe to call twice)."""
        if self._fd >= 0:
            os.close(self._fd)  # closing the last descriptor releases the lock
            self._fd = -1


def claim(first: int = 0, span: int = SPAN, locks: Path = LOCKS) -> Slot:
    """Hold the first slot from *first* that no other sandbox on this machine holds.

    Raises:
        SandboxUnavailableError: the *span* slots from *first* are all held.
    """
    locks.mkdir(mode=0o700, parents=True, exist_ok=True)
    for number in range(first, first + span):
        fd = os.open(locks / f"{number}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return Slot(number, fd)
    raise SandboxUnavailableError(
        f"all {span} sandbox slots from {first} are in use by other gradings on this machine; "
        "wait for them to finish, or grade with fewer workers")
