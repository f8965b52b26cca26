"""nbgrader's exchange over HTTP: the classes users' servers and formgrader use.

Configured in the Jupyter configuration every server reads (hub_config writes
it, root-owned)::

    c.ExchangeFactory.exchange = "submissions.exchange.client.ServiceExchange"
    c.ExchangeFactory.fetch_assignment = "submissions.exchange.client.FetchAssignment"
    ...  # one line per transfer, see EXCHANGE_CLASSES
    c.ServiceExchange.url = "http://127.0.0.1:10101/services/qcampus/exchange"

Each transfer authenticates with the server's own ``$JUPYTERHUB_API_TOKEN``;
the service decides who the user is. The Assignments tab and formgrader work
as with nbgrader's shared directory: the same list format, the same folders
in the user's home and in the course directory.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import os
import shutil
from typing import Any

import requests
from nbgrader.exchange.abc import Exchange as ABCExchange
from nbgrader.exchange.abc import (
    ExchangeCollect,
    ExchangeFetchAssignment,
    ExchangeFetchFeedback,
    ExchangeList,
    ExchangeReleaseAssignment,
    ExchangeReleaseFeedback,
    ExchangeSubmit,
)
from nbgrader.utils import parse_utc
from traitlets import Bool, Float, Unicode, default

EXCHANGE_CLASSES = {
    "exchange": "ServiceExchange",
    "fetch_assignment": "FetchAssignment",
    "fetch_feedback": "FetchFeedback",
    "release_assignment": "ReleaseAssignment",
    "release_feedback": "ReleaseFeedback",
    "list": "List",
    "submit": "Submit",
    "collect": "Collect",
}


def nbgrader_config_lines(url: str) -> str:
    """Return the ``nbgrader_config.py`` lines that route every transfer to the service at *url*."""
    lines = [f"c.ExchangeFactory.{trait} = 'submissions.exchange.client.{name}'"
             for trait, name in EXCHANGE_CLASSES.items()]
    lines.append(f"c.ServiceExchange.url = {url!r}")
    return "\n".join(lines) + "\n"


def _sha256_of(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except FileNotFoundError:
        return None


def _timestamp_text(folder: str) -> str:
    """Return the text of *folder*'s ``timestamp.txt`` ("" when there is none)."""
    try:
        with open(os.path.join(folder, "timestamp.txt"), encoding="utf-8") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return ""


def _write_files(directory: str, files: list[dict[str, str]]) -> list[str]:
    os.makedirs(directory, exist_ok=True)
    written = []
    for item in files:
        name = os.path.basename(item["name"])
        path = os.path.join(directory, name)
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(item["content"]))
        written.append(path)
    return written


class ServiceExchange(ABCExchange):
    """Base of every transfer: talks to the qcampus service with the server's hub token."""

    url = Unicode(
        "", help="Base URL of the qcampus exchange, e.g. "
                 "http://127.0.0.1:10101/services/qcampus/exchange."
    ).tag(config=True)
    token = Unicode(help="JupyterHub API token; default $JUPYTERHUB_API_TOKEN.").tag(config=True)
    request_timeout = Float(60.0, help="Seconds to wait for the service.").tag(config=True)
    path_includes_course = Bool(
        True, help="Fetch into <course>/<assignment> (several courses share a home)."
    ).tag(config=True)

    @default("token")
    def _token_default(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """Send one request to the service and return its JSON, or fail with its message."""
        if not self.url:
            self.fail("The exchange is not configured (ServiceExchange.url); ask the operator to "
                      "restart the hub. / 交換の設定がありません。")
        try:
            response = requests.request(
                method, self.url.rstrip("/") + "/api" + path, timeout=self.request_timeout,
                headers={"Authorization": f"token {self.token}", "Accept": "application/json"},
                **kwargs)
        except requests.RequestException as exc:
            self.fail(f"The qcampus service cannot be reached ({exc.__class__.__name__}); your work "
                      f"is unchanged. Try again in a minute. / qcampus サービスに接続できません。"
                      f"作業内容はそのままです。しばらくしてから再度お試しください。")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            self.fail(body.get("message") or f"The exchange answered {response.status_code}.")
        return body

    @property
    def student_filter(self) -> str | None:
        """Return the one student asked for, or None (nbgrader's "*" means everyone)."""
        student = self.coursedir.student_id
        return None if student in ("", "*") else student

    @property
    def course_id(self) -> str:
        if not self.coursedir.course_id:
            self.fail("No course id specified. Re-run with --course. / コース ID を指定してください。")
        return self.coursedir.course_id

    def assignment_path(self, course_id: str, assignment_id: str) -> str:
        parts = [self.assignment_dir, course_id, assignment_id] if self.path_includes_course \
            else [self.assignment_dir, assignment_id]
        return os.path.join(*parts)

    def init_src(self) -> None:
        pass

    def init_dest(self) -> None:
        pass

    def copy_files(self) -> None:
        pass


class FetchAssignment(ServiceExchange, ExchangeFetchAssignment):
    """Download the released notebooks into ``<course>/<assignment>`` of the user's home."""

    def init_src(self) -> None:
        self.release = self.call(
            "GET", f"/courses/{self.course_id}/assignments/{self.coursedir.assignment_id}/release")

    def init_dest(self) -> None:
        self.dest_path = self.assignment_path(self.course_id, self.coursedir.assignment_id)
        if os.path.isdir(self.dest_path) and not self.replace_missing_files:
            self.fail(f"You already have a copy of the assignment in {self.dest_path}. Rename or "
                      f"move it to fetch a fresh copy. / すでにコピーがあります。")

    def copy_files(self) -> None:
        os.makedirs(self.dest_path, exist_ok=True)
        missing = [f for f in self.release["files"]
                   if not os.path.exists(os.path.join(self.dest_path, f["name"]))]
        _write_files(self.dest_path, missing)
        self.log.info("Fetched as: %s %s", self.course_id, self.coursedir.assignment_id)


class Submit(ServiceExchange, ExchangeSubmit):
    """Send the released notebooks of ``<course>/<assignment>`` to the service."""

    def init_src(self) -> None:
        self.src_path = self.assignment_path(self.course_id, self.coursedir.assignment_id)
        if not os.path.isdir(self.src_path):
            self.fail(f"Assignment not found: {self.src_path}. Fetch it first. / 課題フォルダが"
                      f"ありません。先に取得してください。")
        released = self.call("GET", f"/courses/{self.course_id}/assignments")["assignments"]
        for item in released:
            if item["assignment_id"] == self.coursedir.assignment_id:
                self.notebooks = [f"{nb}.ipynb" for nb in item["notebooks"]]
                break
        else:
            self.fail(f"{self.coursedir.assignment_id} is not released in {self.course_id}. / "
                      f"この課題は配布されていません。")

    def copy_files(self) -> None:
        files = []
        for name in self.notebooks:
            path = os.path.join(self.src_path, name)
            if os.path.islink(path):
                self.fail(f"{name} is a symbolic link; submit the notebook itself. / {name} は"
                          f"シンボリックリンクです。ノートブック本体を提出してください。")
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                files.append({"name": name, "content": base64.b64encode(handle.read()).decode()})
        missing = sorted(set(self.notebooks) - {f["name"] for f in files})
        if missing and self.strict:
            self.fail(f"Missing notebooks: {', '.join(missing)}. / 不足しているノートブック: "
                      f"{', '.join(missing)}")
        if missing:
            self.log.warning("Possible missing notebooks: %s", ", ".join(missing))
        answer = self.call("POST", f"/courses/{self.course_id}/assignments/"
                                   f"{self.coursedir.assignment_id}/submissions", json={"files": files})
        self.timestamp = answer["submission"]["timestamp"]
        self.log.info("Submitted as: %s %s %s", self.course_id, self.coursedir.assignment_id,
                      self.timestamp)


class List(ServiceExchange, ExchangeList):
    """List released assignments, or submissions with their feedback, in nbgrader's format."""

    def start(self):
        if self.inbound and self.cached:
            self.fail("Options --inbound and --cached are incompatible.")
        if self.remove:
            return self.remove_files()
        return self.list_files()

    def _courses(self) -> list[str]:
        if self.coursedir.course_id:
            return [self.coursedir.course_id]
        student = self.student_filter or os.environ.get("JUPYTERHUB_USER", "")
        return list(self.authenticator.get_student_courses(student) or []) if student else []

    def list_files(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        for course_id in self._courses():
            if self.inbound or self.cached:
                result += self._submitted(course_id)
            else:
                result += self._released(course_id)
        return result

    def _released(self, course_id: str) -> list[dict[str, Any]]:
        items = []
        for item in self.call("GET", f"/courses/{course_id}/assignments")["assignments"]:
            if self.coursedir.assignment_id and item["assignment_id"] != self.coursedir.assignment_id:
                continue
            local = self.assignment_path(course_id, item["assignment_id"])
            fetched = os.path.isdir(local)
            info = {"course_id": course_id, "assignment_id": item["assignment_id"],
                    "status": "fetched" if fetched else "released",
                    "path": os.path.abspath(local) if fetched else
                    f"{self.url}/api/courses/{course_id}/assignments/{item['assignment_id']}/release",
                    "notebooks": [{"notebook_id": nb,
                                   "path": os.path.abspath(os.path.join(local, f"{nb}.ipynb"))}
                                  for nb in item["notebooks"]]}
            items.append(info)
        return items

    def _submitted(self, course_id: str) -> list[dict[str, Any]]:
        query = {}
        if self.coursedir.assignment_id:
            query["assignment"] = self.coursedir.assignment_id
        if self.student_filter and self.inbound:
            query["student"] = self.student_filter
        rows = self.call("GET", f"/courses/{course_id}/submissions", params=query)["submissions"]
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault((row["student_id"], row["assignment_id"]), []).append(
                self._submission_info(course_id, row))
        return [{"course_id": course_id, "student_id": student, "assignment_id": assignment,
                 "status": "submitted", "submissions": sorted(subs, key=lambda s: s["timestamp"])}
                for (student, assignment), subs in sorted(grouped.items())]

    def _submission_info(self, course_id: str, row: dict[str, Any]) -> dict[str, Any]:
        local = self.assignment_path(course_id, row["assignment_id"])
        feedback_dir = os.path.join(local, "feedback", row["timestamp"])
        notebooks = []
        for nb in row["notebooks"]:
            local_page = os.path.join(feedback_dir, f"{nb}.html")
            local_sha = _sha256_of(local_page)
            exchange_sha = row["feedback"].get(nb)
            notebooks.append({
                "notebook_id": nb, "path": os.path.abspath(os.path.join(local, f"{nb}.ipynb")),
                "has_local_feedback": local_sha is not None,
                "has_exchange_feedback": exchange_sha is not None,
                "local_feedback_path": local_page if local_sha is not None else None,
                "feedback_updated": local_sha is not None and exchange_sha is not None
                and local_sha != exchange_sha})
        has_local = bool(notebooks) and all(n["has_local_feedback"] for n in notebooks)
        return {"course_id": course_id, "student_id": row["student_id"],
                "assignment_id": row["assignment_id"], "timestamp": row["timestamp"],
                "status": "submitted", "path": f"submission {row['id']}", "submission_id": row["id"],
                "notebooks": notebooks,
                "has_local_feedback": has_local,
                "has_exchange_feedback": bool(notebooks) and all(
                    n["has_exchange_feedback"] for n in notebooks),
                "feedback_updated": any(n["feedback_updated"] for n in notebooks),
                "local_feedback_path": os.path.abspath(feedback_dir) if has_local else None}

    def remove_files(self) -> list[dict[str, Any]]:
        """Withdraw released assignments (instructors); submissions are never removed."""
        if self.inbound or self.cached:
            self.fail("Submissions are kept for ever and cannot be removed. / 提出物は削除できません。")
        removed = self._released(self.course_id)
        for info in removed:
            self.call("DELETE", f"/courses/{self.course_id}/assignments/{info['assignment_id']}/release")
            info["status"] = "removed"
        return removed


class FetchFeedback(ServiceExchange, ExchangeFetchFeedback):
    """Download released feedback into ``<course>/<assignment>/feedback/<timestamp>/``."""

    def copy_files(self) -> None:
        rows = self.call("GET", f"/courses/{self.course_id}/submissions",
                         params={"assignment": self.coursedir.assignment_id})["submissions"]
        fetched = 0
        for row in rows:
            if not row["feedback"]:
                continue
            pages = self.call("GET", f"/submissions/{row['id']}/feedback")["files"]
            target = os.path.join(self.assignment_path(self.course_id, row["assignment_id"]),
                                  "feedback", row["timestamp"])
            _write_files(target, pages)
            fetched += 1
        if not fetched:
            self.log.warning("No feedback available yet for %s. / まだフィードバックはありません。",
                             self.coursedir.assignment_id)


class ReleaseAssignment(ServiceExchange, ExchangeReleaseAssignment):
    """Release the course directory's ``release/<assignment>`` notebooks (instructors)."""

    def copy_files(self) -> None:
        source = self.coursedir.format_path(self.coursedir.release_directory, ".",
                                            self.coursedir.assignment_id)
        files = []
        for path in sorted(glob.glob(os.path.join(source, "*.ipynb"))):
            with open(path, "rb") as handle:
                files.append({"name": os.path.basename(path),
                              "content": base64.b64encode(handle.read()).decode()})
        if not files:
            self.fail(f"No notebooks in {source}: generate the assignment first.")
        answer = self.call("POST", f"/courses/{self.course_id}/assignments/"
                                   f"{self.coursedir.assignment_id}/release", json={"files": files})
        self.log.info("Released as: %s %s (version %s)", self.course_id,
                      self.coursedir.assignment_id, answer["version"])


class Collect(ServiceExchange, ExchangeCollect):
    """Copy the newest submission of each learner into the course's ``submitted/`` (instructors)."""

    def copy_files(self) -> None:
        query = {"assignment": self.coursedir.assignment_id}
        if self.student_filter:
            query["student"] = self.student_filter
        rows = self.call("GET", f"/courses/{self.course_id}/submissions", params=query)["submissions"]
        newest: dict[str, dict[str, Any]] = {}
        for row in rows:  # oldest first: the last one of each learner wins
            newest[row["student_id"]] = row
        if not newest:
            self.log.warning("No submissions of '%s' for course '%s' to collect",
                             self.coursedir.assignment_id, self.course_id)
        for student, row in sorted(newest.items()):
            dest = self.coursedir.format_path(self.coursedir.submitted_directory, student,
                                              self.coursedir.assignment_id)
            if os.path.isdir(dest):
                existing = self.coursedir.get_existing_timestamp(dest)
                if not self.update or (existing is not None
                                       and parse_utc(row["timestamp"]) <= existing):
                    self.log.info("Submission already exists, use --update to update: %s %s",
                                  student, self.coursedir.assignment_id)
                    continue
                shutil.rmtree(dest)
            files = self.call("GET", f"/submissions/{row['id']}/files")["files"]
            _write_files(dest, files)
            with open(os.path.join(dest, "timestamp.txt"), "w", encoding="utf-8") as handle:
                handle.write(row["timestamp"])
            self.log.info("Collecting submission: %s %s", student, self.coursedir.assignment_id)


class ReleaseFeedback(ServiceExchange, ExchangeReleaseFeedback):
    """Release generated feedback (``feedback/<student>/<assignment>``) to each learner."""

    def copy_files(self) -> None:
        student = self.student_filter or "*"
        pattern = self.coursedir.format_path(self.coursedir.feedback_directory, student,
                                             self.coursedir.assignment_id)
        rows = self.call("GET", f"/courses/{self.course_id}/submissions",
                         params={"assignment": self.coursedir.assignment_id})["submissions"]
        by_key = {(row["student_id"], row["timestamp"]): row for row in rows}
        for folder in sorted(glob.glob(pattern)):
            student_id = os.path.basename(os.path.dirname(folder))
            row = by_key.get((student_id, _timestamp_text(folder)))
            if row is None:
                self.log.warning("No submission of %s matches the timestamp.txt of %s: its "
                                 "feedback is not released", student_id, folder)
                continue
            pages = []
            for path in sorted(glob.glob(os.path.join(folder, "*.html"))):
                with open(path, "rb") as handle:
                    pages.append({"name": os.path.basename(path),
                                  "content": base64.b64encode(handle.read()).decode()})
            self.call("POST", f"/submissions/{row['id']}/feedback", json={"files": pages})
            self.log.info("Feedback released: %s %s", student_id, self.coursedir.assignment_id)
