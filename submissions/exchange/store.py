"""Keep releases, submissions and feedback: root-only files behind database records.

The store is a directory of the deployment (``<home>/submissions``, mode 0700,
root's) that no learner or instructor process can open: every transfer goes
through the service (:mod:`.api`), which decides who may do what. Files are
written once, under names the store chooses (a random directory per record,
the released notebook names inside), with ``O_EXCL`` and ``O_NOFOLLOW``, synced
to disk before the record that points at them is committed. A submission is
never replaced: a second one is a new record with its own files.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qcampus.permissions import private_umask
from qcampus.settings import Settings
from submissions.db import utcnow
from submissions.errors import NotFound, RefusedSubmission
from submissions.exchange.models import Feedback, Release, Submission

#: nbgrader's timestamp text (``Exchange.timestamp_format``), always in UTC here.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
MIB = 1024 * 1024

_COURSE_OR_ASSIGNMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_NOTEBOOK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_. -]{0,250}\.ipynb$")
_FEEDBACK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_. -]{0,250}\.html$")


def check_id(kind: str, value: str) -> str:
    """Return *value* if it is a valid course or assignment id, else refuse it."""
    if not isinstance(value, str) or not _COURSE_OR_ASSIGNMENT.match(value) or ".." in value:
        raise RefusedSubmission(f"{value!r} is not a valid {kind} id. / {kind} の ID が不正です。",
                                404)
    return value


def check_notebook(name: str, data: bytes, max_bytes: int) -> None:
    """Refuse a notebook that is misnamed, empty, too large or not an nbformat 4 notebook."""
    if not isinstance(name, str) or not _NOTEBOOK.match(name) or ".." in name:
        raise RefusedSubmission(
            f"{name!r} is not a notebook name qcampus accepts (letters, digits, '._- ', ending "
            f"in .ipynb). / ノートブック名 {name!r} は受け付けられません。", 422)
    if not data:
        raise RefusedSubmission(f"{name} is empty; save the notebook and submit again. / "
                                f"{name} が空です。保存してから再提出してください。", 422)
    if len(data) > max_bytes:
        raise RefusedSubmission(
            f"{name} is {len(data) / MIB:.1f} MiB; the limit is {max_bytes / MIB:.0f} MiB. Clear "
            f"large outputs (Edit > Clear Outputs of All Cells) and submit again. / {name} が大きすぎ"
            f"ます（上限 {max_bytes / MIB:.0f} MiB）。出力を消去してから再提出してください。", 413)
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        notebook = None
    if not isinstance(notebook, dict) or notebook.get("nbformat") != 4 \
            or not isinstance(notebook.get("cells"), list):
        raise RefusedSubmission(
            f"{name} is not a Jupyter notebook (nbformat 4 JSON). Open it in JupyterLab, save it, "
            f"and submit again. / {name} は Jupyter ノートブックではありません。", 422)


def timestamp_text(moment) -> str:
    """Return nbgrader's timestamp text of the UTC datetime *moment*."""
    return moment.strftime(TIMESTAMP_FORMAT)


class Store:
    """The exchange's files and records of one deployment."""

    def __init__(self, root: Path, *, max_notebook_bytes: int = 20 * MIB, max_files: int = 20) -> None:
        self.root = Path(root)
        self.max_notebook_bytes = max_notebook_bytes
        self.max_files = max_files

    @classmethod
    def for_deployment(cls, settings: Settings) -> Store:
        """Return the store of the deployment described by *settings*."""
        section = settings["submissions"]
        return cls(settings.home / "submissions", max_notebook_bytes=section["max_notebook_mib"] * MIB,
                   max_files=section["max_files"])

    # --- files -----------------------------------------------------------------------

    @contextmanager
    def _record_files(self, kind: str, course: str) -> Iterator[tuple[Path, str]]:
        """Yield a new record directory; remove it if the record is not made."""
        directory, relative = self._new_directory(kind, course)
        try:
            yield directory, relative
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise

    def _new_directory(self, kind: str, course: str) -> tuple[Path, str]:
        with private_umask():
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.root, 0o700)
            parent = self.root / kind / course
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            relative = f"{kind}/{course}/{secrets.token_hex(16)}"
            (self.root / relative).mkdir(mode=0o700)
        return self.root / relative, relative

    def _write(self, directory: Path, files: Mapping[str, bytes]) -> list[dict]:
        try:
            return self._write_synced(directory, files)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise RefusedSubmission(
                "The server's disk is full, so nothing was stored; your work is unchanged. Try "
                "again later and tell your instructor. / サーバーのディスクが一杯のため保存できません"
                "でした。作業内容はそのままです。講師に連絡してください。", 507) from exc

    def _write_synced(self, directory: Path, files: Mapping[str, bytes]) -> list[dict]:
        written = []
        for name, data in sorted(files.items()):
            fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            written.append({"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return written

    def _read(self, relative: str, name: str) -> bytes:
        fd = os.open(self.root / relative / name, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            return handle.read()

    def path_of(self, submission: Submission) -> Path:
        """Return the directory holding *submission*'s notebooks."""
        return self.root / submission.directory

    def read_submission(self, submission: Submission) -> dict[str, bytes]:
        """Return the stored notebooks of *submission* by file name."""
        return {f["name"]: self._read(submission.directory, f["name"]) for f in submission.files}

    def read_release(self, release: Release) -> dict[str, bytes]:
        """Return the released notebooks of *release* by file name."""
        return {name: self._read(release.directory, name) for name in release.notebooks}

    def read_feedback(self, feedback: Feedback) -> bytes:
        directory, _, name = feedback.path.rpartition("/")
        return self._read(directory, name)

    def _checked(self, files: Mapping[str, bytes]) -> None:
        if not files:
            raise RefusedSubmission("Nothing to submit: the assignment folder has none of the "
                                    "released notebooks. / 提出するノートブックがありません。", 422)
        if len(files) > self.max_files:
            raise RefusedSubmission(f"{len(files)} files; at most {self.max_files} may be sent at "
                                    f"once. / ファイルが多すぎます（上限 {self.max_files}）。", 413)
        for name, data in files.items():
            check_notebook(name, data, self.max_notebook_bytes)

    # --- releases --------------------------------------------------------------------

    def release(self, session: Session, course: str, assignment: str, files: Mapping[str, bytes],
                released_by: str) -> Release:
        """Record a new version of *assignment*'s released notebooks."""
        check_id("course", course)
        check_id("assignment", assignment)
        self._checked(files)
        with self._record_files("releases", course) as (directory, relative):
            self._write(directory, files)
            version = (session.scalar(select(func.max(Release.version)).where(
                Release.course == course, Release.assignment == assignment)) or 0) + 1
            release = Release(course=course, assignment=assignment, version=version,
                              released_by=released_by, notebooks=sorted(files), directory=relative)
            session.add(release)
            session.flush()
        return release

    def active_release(self, session: Session, course: str, assignment: str) -> Release | None:
        """Return the newest version of *assignment* unless it was withdrawn."""
        release = session.scalar(select(Release).where(
            Release.course == course, Release.assignment == assignment
        ).order_by(Release.version.desc()).limit(1))
        return None if release is None or release.withdrawn else release

    def releases(self, session: Session, course: str) -> list[Release]:
        """Return the active release of every assignment of *course*, by assignment id."""
        newest = select(Release.assignment, func.max(Release.version).label("version")).where(
            Release.course == course).group_by(Release.assignment).subquery()
        rows = session.scalars(select(Release).join(newest, (Release.assignment == newest.c.assignment)
                                                    & (Release.version == newest.c.version)).where(
            Release.course == course).order_by(Release.assignment))
        return [r for r in rows if not r.withdrawn]

    def withdraw(self, session: Session, course: str, assignment: str) -> Release:
        """Stop offering *assignment* for fetching; submissions stay."""
        release = self.active_release(session, course, assignment)
        if release is None:
            raise NotFound(f"{course}/{assignment} is not released.")
        release.withdrawn = True
        return release

    # --- submissions -----------------------------------------------------------------

    def submit(self, session: Session, course: str, assignment: str, student: str,
               files: Mapping[str, bytes]) -> Submission:
        """Record *student*'s submission of *assignment*, timed by this server's clock.

        Raises:
            RefusedSubmission: the assignment is not released, a file name is not one of
                its notebooks, or a notebook is empty, too large or not a notebook.
        """
        release = self.active_release(session, check_id("course", course),
                                      check_id("assignment", assignment))
        if release is None:
            raise RefusedSubmission(f"{course}/{assignment} is not released, so it cannot be "
                                    f"submitted. / この課題は配布されていないため提出できません。", 404)
        unexpected = sorted(set(files) - set(release.notebooks))
        if unexpected:
            raise RefusedSubmission(
                f"{', '.join(unexpected)} is not a notebook of {assignment} (it has "
                f"{', '.join(release.notebooks)}). Keep the released file names. / "
                f"{', '.join(unexpected)} はこの課題のノートブックではありません。"
                f"配布時のファイル名のまま提出してください。", 422)
        self._checked(files)
        with self._record_files("submitted", course) as (directory, relative):
            stored = self._write(directory, files)
            moment = utcnow()
            last = session.scalar(select(func.max(Submission.submitted_at)).where(
                Submission.course == course, Submission.assignment == assignment,
                Submission.student == student))
            if last is not None and moment <= last:
                # Two submissions within the clock's resolution still get distinct, ordered times.
                moment = last + timedelta(microseconds=1)
            submission = Submission(course=course, assignment=assignment, student=student,
                                    submitted_at=moment, timestamp=timestamp_text(moment),
                                    release_id=release.id, directory=relative, files=stored)
            session.add(submission)
            session.flush()
        return submission

    def submissions(self, session: Session, course: str, *, assignment: str | None = None,
                    student: str | None = None) -> list[Submission]:
        """Return the submissions of *course*, oldest first, optionally of one assignment or student."""
        query = select(Submission).where(Submission.course == course)
        if assignment is not None:
            query = query.where(Submission.assignment == assignment)
        if student is not None:
            query = query.where(Submission.student == student)
        return list(session.scalars(query.order_by(Submission.submitted_at, Submission.id)))

    # --- feedback --------------------------------------------------------------------

    def release_feedback(self, session: Session, submission: Submission,
                         pages: Mapping[str, bytes], released_by: str) -> list[Feedback]:
        """Release the feedback page of each notebook (by id) of *submission* to its learner.

        Releasing again replaces the pages: the newest grading is what the learner reads.
        """
        known = {f["name"][:-len(".ipynb")] for f in submission.files}
        unknown = sorted(set(pages) - known)
        if unknown:
            raise RefusedSubmission(f"Feedback for {', '.join(unknown)}, which submission "
                                    f"{submission.id} does not hold.", 422)
        for notebook, page in pages.items():
            if not _FEEDBACK.match(f"{notebook}.html") or len(page) > self.max_notebook_bytes:
                raise RefusedSubmission(f"Feedback for {notebook!r} is misnamed or too large.", 422)
        directory, relative = self._new_directory("feedback", submission.course)
        written = self._write(directory, {f"{nb}.html": page for nb, page in pages.items()})
        by_name = {w["name"][:-len(".html")]: w for w in written}
        current = {f.notebook: f for f in submission.feedback}
        result = []
        for notebook in sorted(pages):
            row = current.get(notebook) or Feedback(submission=submission, notebook=notebook)
            row.path = f"{relative}/{notebook}.html"
            row.sha256 = by_name[notebook]["sha256"]
            row.released_at = utcnow()
            row.released_by = released_by
            session.add(row)
            result.append(row)
        session.flush()
        return result
