"""The deployment's own Redis, where every worker's rate-limit counters meet.

A Redis on ``127.0.0.1:6379`` without a password answers every local user:
a learner could read and reset the counters, or reconfigure the server
(``CONFIG SET dir`` …). The deployment therefore runs its own instance,
reachable by root only:

- no TCP port; a Unix socket in ``<QCAMPUS_HOME>/redis/`` (directory 0700,
  socket 0700), so other users cannot even connect;
- a password in ``<QCAMPUS_HOME>/secrets/redis-password`` (0600), required of
  every connection, and an ACL that refuses administrative and dangerous
  commands (``CONFIG``, ``KEYS``, ``FLUSHALL``, ``DEBUG``…) even with it;
- no persistence: the counters live for a minute, nothing is written to disk.

JupyterHub starts it as the managed service ``qcampus-redis``
(``python -m web.ratelimit_store``, see ``hub_config/configurer.py``);
:func:`storage_uri` tells the web service how to reach it. If it is
down the service counts in process memory and logs a warning (see
:mod:`web.security`).
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from web.errors import RateLimitStoreError

STORE_DIR = "redis"
PASSWORD_FILE = "redis-password"
SOCKET = "redis.sock"
CONFIG = "redis.conf"


@dataclass(frozen=True)
class StorePaths:
    """Where the deployment's Redis keeps its socket, configuration and password.

    Attributes:
        directory: The 0700 directory holding the socket and the configuration.
        password_file: The 0600 file holding the password.
    """

    directory: Path
    password_file: Path

    @classmethod
    def of(cls, home: Path, secrets: Path) -> StorePaths:
        """Return the paths of the deployment in *home* with secrets in *secrets*."""
        return cls(Path(home) / STORE_DIR, Path(secrets) / PASSWORD_FILE)

    @property
    def socket(self) -> Path:
        """Return the Unix socket Redis listens on."""
        return self.directory / SOCKET

    @property
    def config(self) -> Path:
        """Return the configuration file written by :func:`prepare`."""
        return self.directory / CONFIG


def password(paths: StorePaths) -> str:
    """Return the store's password, creating it (0600) on first use."""
    from qcampus.permissions import read_or_create_secret

    return read_or_create_secret(paths.password_file)


def storage_uri(paths: StorePaths) -> str:
    """Return the ``limits`` storage URI of the store (password included; never log it)."""
    # token_urlsafe passwords need no quoting in the URI's user-info part.
    return f"redis+unix://:{password(paths)}@{paths.socket}"


def _private_directory(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise RateLimitStoreError(
            f"{directory} must be a directory owned by uid {os.geteuid()}; move it away and "
            f"start the hub again.")
    os.chmod(directory, 0o700)


def config_text(paths: StorePaths, secret: str) -> str:
    """Return the Redis configuration of the store."""
    return "\n".join([
        "# Written by web.ratelimit_store at every start; edits are lost.",
        "port 0",
        f"unixsocket {paths.socket}",
        "unixsocketperm 700",
        f"dir {paths.directory}",
        'save ""',
        "appendonly no",
        "protected-mode yes",
        "daemonize no",
        "loglevel warning",
        "maxmemory 64mb",
        "maxmemory-policy volatile-ttl",
        # The counters need only ordinary data and script commands.
        f"user default on >{secret} ~* &* +@all -@admin -@dangerous",
        "",
    ])


def prepare(paths: StorePaths) -> Path:
    """Create the directory (0700), the password (0600) and the configuration (0600).

    Returns:
        The configuration file to start ``redis-server`` with.

    Raises:
        RateLimitStoreError: the directory exists but is not root's own directory.
    """
    _private_directory(paths.directory)
    text = config_text(paths, password(paths))
    temporary = paths.config.with_name(f".{CONFIG}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, paths.config)
    return paths.config


def main() -> None:
    """Prepare the deployment's store and become its ``redis-server``."""
    from qcampus import settings as settings_module

    settings = settings_module.load()
    config = prepare(StorePaths.of(settings.home, settings.secrets))
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("redis-server is not installed: run scripts/bootstrap (Debian package "
                 "redis-server). Until then rate limits are counted per worker process.")
    os.execv(server, [server, str(config)])


if __name__ == "__main__":
    main()
