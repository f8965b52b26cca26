"""Start each user's server as their own system user, created on first spawn.

A hub user ``alice`` runs as the system user ``jupyter-alice`` (as The Littlest
JupyterHub does), so no hub name can map onto an existing account such as
``root``. Homes are created 0700: Debian's ``useradd -m`` default of 0755 would
let every learner read every other learner's notebooks.

A server does not inherit the hub's stdout and stderr: through
``/proc/<pid>/fd/1`` its user could reopen them and read (or write) the hub's
log, which records every user's activity and OAuth codes. Each server writes
to its own file, ``<QCAMPUS_HOME>/logs/servers/<system user>[-<server>].log``,
created by root (0600) in a root-only (0700) directory before the spawn; its
stdin is ``/dev/null``.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import subprocess

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from traitlets import List, Unicode, default

from qcampus.permissions import open_private, private_umask

PREFIX = "jupyter-"
# useradd accepts at most 32 bytes; longer names keep a readable head and a hash.
MAX_SYSTEM_NAME = 32


def system_username(name: str, prefix: str = PREFIX) -> str:
    """Return the system account name of hub user *name*."""
    full = prefix + name
    if len(full) <= MAX_SYSTEM_NAME:
        return full
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]
    return f"{full[:MAX_SYSTEM_NAME - 7]}-{digest}"


def ensure_system_user(name: str, extra_groups: list[str] | tuple[str, ...] = ()) -> pwd.struct_passwd:
    """Create system user *name* with a private (0700) home if missing; return its entry."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash",
                        "-K", "HOME_MODE=0700", "--comment", "qcampus user", name],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(name)
    # Also for homes made by an older qcampus or by hand.
    os.chmod(entry.pw_dir, 0o700)
    for group in extra_groups:
        if name not in grp.getgrnam(group).gr_mem:
            subprocess.run(["usermod", "--append", "--groups", group, name],
                           check=True, capture_output=True)
    return entry


class QcampusSpawner(LocalProcessSpawner):
    """LocalProcessSpawner that maps hub users to ``jupyter-<name>`` system users."""

    config_root = Unicode(
        help="Root-owned directory with the learner/, instructor/ and common/ Jupyter "
             "configuration written by hub_config.singleuser."
    ).tag(config=True)
    courses_root = Unicode(help="Directory with one nbgrader course directory per track.").tag(config=True)
    tracks = List(Unicode(), help="Track ids; an instructor's named server per track.").tag(config=True)
    instructors_system_group = Unicode(
        "qcampus-instructors", help="System group that may write the nbgrader course directories."
    ).tag(config=True)
    system_user_prefix = Unicode(PREFIX, help="Prefix of system account names.").tag(config=True)
    log_dir = Unicode(
        help="Root-only directory of the servers' own logs (stdout and stderr of each server "
             "and its kernels); default <QCAMPUS_HOME>/logs/servers."
    ).tag(config=True)

    @default("log_dir")
    def _default_log_dir(self) -> str:
        from qcampus.settings import default_home

        return str(default_home() / "logs" / "servers")

    @property
    def system_user(self) -> str:
        return system_username(self.user.name, self.system_user_prefix)

    @property
    def is_instructor(self) -> bool:
        return any(group.name == "instructors" for group in self.user.groups)

    def make_preexec_fn(self, name):
        setuid = set_user_setuid(self.system_user)
        umask = 0o007 if self.is_instructor else 0o077

        def preexec():
            setuid()
            # Instructors share course directories through their system group.
            os.umask(umask)

        return preexec

    def user_env(self, env):
        entry = pwd.getpwnam(self.system_user)
        env["USER"] = entry.pw_name
        env["HOME"] = entry.pw_dir
        env["SHELL"] = entry.pw_shell
        return env

    def get_env(self):
        env = super().get_env()
        role = "instructor" if self.is_instructor else "learner"
        common = os.path.join(self.config_root, "common")
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([os.path.join(self.config_root, role), common])
        if self.name:
            env["QCAMPUS_COURSE"] = self.name
        return env

    @property
    def log_path(self) -> str:
        suffix = f"-{self.name}" if self.name else ""
        return os.path.join(self.log_dir, f"{self.system_user}{suffix}.log")

    def open_log(self) -> int:
        """Open (as root) this server's own log for appending and return the descriptor."""
        with private_umask():
            os.makedirs(self.log_dir, mode=0o700, exist_ok=True)
        os.chmod(self.log_dir, 0o700)
        return open_private(self.log_path)

    async def start(self):
        if self.name and not (self.is_instructor and self.name in self.tracks):
            raise ValueError(f"Named server {self.name!r} is for instructors only, one per track "
                             f"({', '.join(self.tracks) or 'no tracks'}).")
        if self.name:
            # Formgrader serves only a course directory inside the server's root.
            self.notebook_dir = os.path.join(self.courses_root, self.name)
        groups = [self.instructors_system_group] if self.is_instructor else []
        ensure_system_user(self.system_user, groups)
        log = self.open_log()
        inherited = self.popen_kwargs
        self.popen_kwargs = {**inherited, "stdin": subprocess.DEVNULL, "stdout": log,
                             "stderr": subprocess.STDOUT}
        try:
            return await super().start()
        finally:
            # The child holds its own copy; the hub keeps no descriptor per server.
            os.close(log)
            self.popen_kwargs = inherited
