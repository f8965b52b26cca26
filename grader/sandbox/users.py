"""The unprivileged system users sandboxed notebooks run as."""

from __future__ import annotations

import pwd
import subprocess

from grader.errors import SandboxUnavailableError

#: Base name; concurrent sandboxes use one user each, so process limits stay per sandbox.
BASE_NAME = "qcampus-sandbox"


def user_name(slot: int) -> str:
    """Return the name of the sandbox user for worker *slot* (0, 1, ...)."""
    return BASE_NAME if slot == 0 else f"{BASE_NAME}-{slot}"


def user_exists(name: str) -> bool:
    """Return whether the system user *name* exists."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def ensure_user(name: str) -> tuple[int, int]:
    """Return the uid and gid of system user *name*, creating it without a home if missing.

    Raises:
        SandboxUnavailableError: the user does not exist and cannot be created.
    """
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                   "--user-group", name]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            if user_exists(name):  # another grader created it at the same moment
                return ensure_user(name)
            detail = getattr(exc, "stderr", "") or exc
            raise SandboxUnavailableError(
                f"cannot create the sandbox user {name!r} ({detail}); run the grader as root "
                "or create the user with: useradd --system --no-create-home "
                f"--shell /usr/sbin/nologin {name}") from exc
        entry = pwd.getpwnam(name)
    if entry.pw_uid == 0:
        raise SandboxUnavailableError(f"the sandbox user {name!r} must not be root")
    return entry.pw_uid, entry.pw_gid
