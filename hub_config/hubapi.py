"""A small client of the running hub's REST API, with the deployment's roster token.

The token lives in ``QCAMPUS_HOME/hub/roster-token`` (0600, in root's 0700
``hub/``), created by ``qcampus init`` like the proxy token and handed to the
hub as the ``api_token`` of the service ``qcampus-roster``, whose role holds
only the scopes a roster change needs (see :data:`hub_config.configurer.ROSTER_SCOPES`).
Requests go to the hub's own port on loopback, never through the proxy, and
only while the hub's pid file names a live JupyterHub process: a local user
who bound that port while the hub was down must not receive the token.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qcampus.errors import ServiceError
from qcampus.permissions import read_or_create_secret

TOKEN_FILE = "roster-token"
PID_FILE = "jupyterhub.pid"
PAGINATION = "application/jupyterhub-pagination+json"


class HubAPIError(ServiceError):
    """The running hub refused or could not answer a request of the roster token."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


def token_path(hub_dir: Path) -> Path:
    return Path(hub_dir) / TOKEN_FILE


def ensure_token(hub_dir: Path) -> None:
    """Create the roster token once (0600); an existing one is kept, so a running hub keeps working."""
    read_or_create_secret(token_path(hub_dir), lambda: secrets.token_hex(32))


def read_token(hub_dir: Path) -> str | None:
    """Return the roster token, or None when ``qcampus init`` has not created it yet."""
    try:
        return token_path(hub_dir).read_text().strip() or None
    except FileNotFoundError:
        return None


def running_hub_pid(hub_dir: Path) -> int:
    """Return the pid of this deployment's running JupyterHub, or 0 when none runs."""
    try:
        pid = int((Path(hub_dir) / PID_FILE).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return 0
    # A pid left by a killed hub may now belong to another program.
    return pid if b"jupyterhub" in cmdline else 0


class HubAPI:
    """Requests to ``<url>`` (the hub's ``/hub/api``) authenticated with *token*."""

    def __init__(self, url: str, token: str, timeout: float = 30):
        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout

    def request(self, method: str, path: str, body: Any = None,
                accept: str = "application/json") -> tuple[int, Any]:
        """Send one request; return the status and the decoded JSON answer (None if empty).

        Raises:
            HubAPIError: the hub answered with an error status or not at all.
        """
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/{path.lstrip('/')}", data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Accept": accept,
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw, status = response.read(), response.status
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise HubAPIError(f"{method} {path}: HTTP {exc.code} {detail}", exc.code) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise HubAPIError(f"{method} {path}: the hub did not answer ({exc})") from exc
        return status, (json.loads(raw) if raw.strip() else None)

    def users(self) -> Iterator[dict[str, Any]]:
        """Yield every hub user's model (name, groups, servers), page by page."""
        offset = 0
        while True:
            _, page = self.request("GET", f"users?offset={offset}&limit=200", accept=PAGINATION)
            yield from page["items"]
            following = (page.get("_pagination") or {}).get("next")
            if not following:
                return
            offset = following["offset"]

    def user(self, name: str) -> dict[str, Any] | None:
        """Return *name*'s model, or None when the hub has no such user."""
        try:
            return self.request("GET", f"users/{urllib.parse.quote(name)}")[1]
        except HubAPIError as exc:
            if exc.status == 404:
                return None
            raise
