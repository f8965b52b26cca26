"""Fixtures for the sandbox tests.

- ``sandbox_users``: the sandbox system users of worker slots 0 and 1 and of this
  session's own two slots (``SLOT``, ``SLOT + 1``, unique per test session so
  process counts are not disturbed by other runs); the session's own ones are
  deleted at its end if it created them.
- ``sandbox``: a module-wide :class:`~grader.sandbox.runner.Sandbox` on ``SLOT``
  with short timeouts and small limits, its zygote stopped afterwards.
- ``uid_processes``: a function that lists the pids owned by a uid.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator

import pytest

from grader.sandbox.limits import Limits, MiB
from grader.sandbox.users import user_exists, user_name

#: This session's own sandbox slots, SLOT and SLOT + 1 (users no other test session uses at
#: the same time: two sessions started together often have consecutive pids, hence the 2).
SLOT = 1000 + 2 * (os.getpid() % 5000)
LIMITS = Limits(cell_timeout=3, notebook_timeout=8, memory_bytes=256 * MiB, processes=32,
                file_bytes=4 * MiB, scratch_bytes=8 * MiB, output_bytes=1 * MiB)


@pytest.fixture(scope="session")
def sandbox_users() -> Iterator[list[str]]:
    """Yield the sandbox user names; delete afterwards this session's own, if it made them.

    The users of slots 0 and 1 stay: ``qcampus grade`` keeps them on any machine, and
    another test session may still be grading as them.
    """
    names = [user_name(slot) for slot in (0, 1, SLOT, SLOT + 1)]
    own = names[2:]
    before = {name for name in own if user_exists(name)}
    yield names
    for name in own:
        if name not in before and user_exists(name):
            subprocess.run(["userdel", name], check=True)


@pytest.fixture(scope="module")
def sandbox(sandbox_users: list[str]) -> Iterator:
    """Yield a sandbox with small limits that preloads only NumPy."""
    from grader.sandbox.runner import Sandbox

    with Sandbox(LIMITS, slot=SLOT, preload=("numpy",)) as box:
        yield box


@pytest.fixture
def uid_processes() -> Callable[[int], list[int]]:
    """Return a function listing the pids whose real uid is the given one."""
    def processes(uid: int) -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.stat(f"/proc/{entry}").st_uid == uid:
                        found.append(int(entry))
                except FileNotFoundError:  # the process ended while we looked
                    continue
        return found

    return processes
