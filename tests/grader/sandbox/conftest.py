"""Fixtures for the sandbox tests.

- ``sandbox_users``: the sandbox system users for two worker slots; the ones this
  session created are deleted at its end.
- ``sandbox``: a module-wide :class:`~grader.sandbox.runner.Sandbox` with short
  timeouts and small limits, its zygote stopped afterwards.
- ``uid_processes``: a function that lists the pids owned by a uid.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Callable, Iterator

import pytest

from grader.sandbox.limits import Limits, MiB
from grader.sandbox.users import user_name

SLOTS = 2
LIMITS = Limits(cell_timeout=3, notebook_timeout=8, memory_bytes=256 * MiB, processes=32,
                file_bytes=4 * MiB, scratch_bytes=8 * MiB, output_bytes=1 * MiB)


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="session")
def sandbox_users() -> Iterator[list[str]]:
    """Yield the sandbox user names; delete afterwards those that did not exist before."""
    names = [user_name(slot) for slot in range(SLOTS)]
    before = {name for name in names if _exists(name)}
    yield names
    for name in names:
        if name not in before and _exists(name):
            subprocess.run(["userdel", name], check=True)


@pytest.fixture(scope="module")
def sandbox(sandbox_users: list[str]) -> Iterator:
    """Yield a sandbox with small limits that preloads only NumPy."""
    from grader.sandbox.runner import Sandbox

    with Sandbox(LIMITS, preload=("numpy",)) as box:
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
