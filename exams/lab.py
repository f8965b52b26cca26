"""Place Part B notebooks into a candidate's JupyterLab and collect them, through its REST API.

The qcampus service calls the candidate's own Jupyter server with the service's
hub token (``$JUPYTERHUB_API_TOKEN``), whose role holds only
``read:servers!group=learners`` (to find the server) and
``access:servers`` (to reach it): it cannot start anyone's
server. The hub's REST API says where the server is and whether it is ready;
the contents API (``PUT``/``GET /api/contents/<path>``) writes and reads the
notebooks. What comes back from a candidate's server is the candidate's: its
size is capped and it is parsed as data, never run here.

Browsers resolve ``*.localhost`` to the loopback address (RFC 6761); Python's
resolver may not, so requests to such a host connect to 127.0.0.1 with the
name in the ``Host`` header, as a browser would.
"""

from __future__ import annotations

import http.client
import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from exams.errors import ExamError

#: Largest response read from a candidate's server (a task notebook is a few kilobytes).
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
#: Where the tasks of an attempt go in the candidate's home.
FOLDER = "qcampus-exams"


class LabError(ExamError):
    """The candidate's server cannot be reached or refused; the message says what to do."""

    exit_code = 33


NOT_RUNNING = ("Your JupyterLab is not running, so the Part B notebooks cannot be placed or "
               "collected. Open JupyterLab from the hub (Start My Server), then press "
               "\"Place my tasks\" on the exam page. / JupyterLab が起動していないため、Part B の"
               "ノートブックを配置・回収できません。ハブから JupyterLab を起動し、検定ページの"
               "「課題を配置する」を押してください。")


@dataclass(frozen=True)
class Lab:
    """A client of candidates' Jupyter servers, as the hub-managed qcampus service."""

    api_url: str
    token: str
    hub_url: str
    timeout: float = 15.0

    @classmethod
    def from_environment(cls, hub_url: str) -> Lab | None:
        """Return the client of the running service (JupyterHub's variables), or None outside a hub."""
        token, api = os.environ.get("JUPYTERHUB_API_TOKEN"), os.environ.get("JUPYTERHUB_API_URL")
        return cls(api.rstrip("/"), token, hub_url) if token and api else None

    def _request(self, method: str, url: str, body: Any = None) -> tuple[int, Any]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
        connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                            else http.client.HTTPConnection)
        connection = connection_class(target, port, timeout=self.timeout)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Authorization": f"token {self.token}", "Host": parts.netloc,
                   "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read(MAX_RESPONSE_BYTES + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise LabError(f"{NOT_RUNNING} ({type(exc).__name__})") from exc
        finally:
            connection.close()
        if len(raw) > MAX_RESPONSE_BYTES:
            raise LabError("The notebook in your JupyterLab is too large to collect; keep the task "
                           "notebook to your answer. / ノートブックが大きすぎて回収できません。")
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, None

    def server_url(self, user: str) -> str:
        """Return the URL of *user*'s running default server (ending with ``/``)."""
        status, model = self._request("GET", f"{self.api_url}/users/{quote(user, safe='')}")
        if status != 200 or not isinstance(model, dict):
            raise LabError(f"The hub does not show a server of {user} to the exam service "
                           f"(HTTP {status}); only learners' servers can hold exam tasks. / "
                           "この利用者のサーバーに課題を配置できません。")
        server = (model.get("servers") or {}).get("")
        if not isinstance(server, dict) or not server.get("ready") or not server.get("url"):
            raise LabError(NOT_RUNNING)
        return urljoin(self.hub_url.rstrip("/") + "/", server["url"])

    def _contents(self, server: str, path: str) -> str:
        return f"{server}api/contents/{quote(path)}"

    def put_notebook(self, user: str, path: str, notebook: dict[str, Any]) -> None:
        """Write *notebook* at *path* (below the user's home), creating its folders."""
        server = self.server_url(user)
        folders = path.split("/")[:-1]
        for depth in range(1, len(folders) + 1):
            folder = "/".join(folders[:depth])
            status, _ = self._request("GET", self._contents(server, folder) + "?content=0")
            if status == 404:
                status, _ = self._request("PUT", self._contents(server, folder),
                                          {"type": "directory"})
                self._expect(status, (200, 201), f"create {folder}")
        status, _ = self._request("PUT", self._contents(server, path),
                                  {"type": "notebook", "format": "json", "content": notebook})
        self._expect(status, (200, 201), f"write {path}")

    def get_notebook(self, user: str, path: str) -> dict[str, Any]:
        """Return the notebook at *path* in the user's server, as the candidate left it."""
        server = self.server_url(user)
        status, model = self._request("GET", self._contents(server, path) + "?type=notebook&content=1")
        if status == 404:
            raise LabError(f"{path} is not in your JupyterLab any more; press \"Place my tasks\" "
                           "to place it again (your answer is then the stub). / ノートブックが"
                           "見つかりません。")
        self._expect(status, (200,), f"read {path}")
        content = model.get("content") if isinstance(model, dict) else None
        if not isinstance(content, dict):
            raise LabError(f"{path} in your JupyterLab is not a notebook. / ノートブックではありません。")
        return content

    @staticmethod
    def _expect(status: int, ok: tuple[int, ...], what: str) -> None:
        if status in (401, 403):
            raise LabError(f"Your JupyterLab refused the exam service ({what}: HTTP {status}); tell "
                           "the examiner. / JupyterLab が検定サービスを拒否しました。試験官に連絡して"
                           "ください。")
        if status not in ok:
            raise LabError(f"Your JupyterLab could not {what} (HTTP {status}). {NOT_RUNNING}")


def task_path(exam: str, attempt_id: int, item: str) -> str:
    """Return where an attempt's task notebook goes in the candidate's home."""
    return f"{FOLDER}/{exam}-{attempt_id}/{item}.ipynb"
