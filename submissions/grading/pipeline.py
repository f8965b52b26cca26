"""Grade one queued submission: place it in the course directory, autograde, release feedback.

Grading is the ``qcampus grade`` machinery (:class:`grader.autograde.batch.Batch`)
for one learner: sandboxed, answer keys when present, the same gradebook rows
as ``nbgrader autograde``. A submission is placed as nbgrader's ``collect``
would (``submitted/<student>/<assignment>/`` with ``timestamp.txt``), but from
the exchange's store, where the service recorded who and when; the folder is
swapped in atomically, readable by root and the instructors' group only.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import grp
import hashlib
import importlib.metadata
import os
import shutil
import stat
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from qcampus.errors import CourseError
from qcampus.gradebook import using_gradebook
from qcampus.permissions import INSTRUCTORS_GROUP
from qcampus.settings import Settings
from submissions.errors import GradingError, SubmissionError
from submissions.exchange.models import Submission
from submissions.grading import feedback
from submissions.grading.models import FAILED, GRADED, SUPERSEDED, TIMED_OUT, GradingJob

#: Distributions whose versions are recorded with every score.
ENVIRONMENT = ("qiskit", "qiskit-aer", "dimod", "dwave-samplers", "nbgrader", "qcampus")
RENAME_EXCHANGE = 2
AT_FDCWD = -100


@dataclass
class Outcome:
    """What grading one job came to, as :func:`submissions.grading.queue.finish` records it."""

    state: str
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    environment: dict[str, str] = field(default_factory=dict)
    feedback_released: bool = False

    def as_record(self) -> dict:
        """Return the keyword arguments of ``queue.finish``."""
        return asdict(self)


def grading_environment() -> dict[str, str]:
    """Return the installed version of each library a score depends on."""
    found = {}
    for name in ENVIRONMENT:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def newer_submission(session: Session, submission: Submission) -> Submission | None:
    """Return the learner's newest submission of the assignment if it is newer than *submission*."""
    return session.scalar(
        select(Submission).where(Submission.course == submission.course,
                                 Submission.assignment == submission.assignment,
                                 Submission.student == submission.student,
                                 Submission.submitted_at > submission.submitted_at)
        .order_by(Submission.submitted_at.desc()).limit(1))


def grade(settings: Settings, job: GradingJob) -> Outcome:
    """Grade *job*'s submission and release its feedback if the assignment says so at once."""
    from submissions.exchange.store import Store
    from submissions.grading.queue import engine_for

    engine = engine_for(settings)
    with Session(engine, expire_on_commit=False) as session:
        submission = session.get(Submission, job.submission_id)
        if submission is None:
            return Outcome(FAILED, f"Submission {job.submission_id} does not exist.")
        newer = newer_submission(session, submission)
    if newer is not None:
        return Outcome(SUPERSEDED, f"{job.student} submitted again at {newer.timestamp}; "
                                   "that submission is graded instead.")
    course_dir = settings.courses_root / _name("course", job.course)
    if not (course_dir / "nbgrader_config.py").is_file():
        return Outcome(FAILED, f"{course_dir} is not an nbgrader course directory; run "
                               "`qcampus init` and release the assignment first.")
    try:
        place(Store.for_deployment(settings).path_of(submission), submission, course_dir)
    except GradingError as exc:
        return Outcome(FAILED, str(exc))
    with using_gradebook(settings.gradebook_url(job.course)):
        outcome = autograde(course_dir, job.assignment, job.student,
                            timeout=settings["grading"]["timeout"])
    mode, _due = feedback.policy(settings, job.course, job.assignment)
    if outcome.state in (GRADED, TIMED_OUT) and mode == feedback.ON_SUBMIT:
        try:
            feedback.release(settings, engine, submission.id)
            outcome.feedback_released = True
        except (CourseError, SubmissionError, OSError) as exc:
            # The score stands; the instructor releases feedback once the cause is fixed.
            outcome.reason = " ".join(filter(None, [outcome.reason, f"Feedback was not released: {exc}"]))
    return outcome


def _name(kind: str, value: str) -> str:
    """Return *value* if it is a single path component, else raise (it names a directory)."""
    if not value or value in (".", "..") or "/" in value or "\0" in value:
        raise GradingError(f"{kind} {value!r} cannot name a directory.")
    return value


def place(stored: Path, submission: Submission, course_dir: Path) -> Path:
    """Put *submission*'s stored notebooks in the course's submitted folder, replacing it at once.

    Only regular files of the recorded names and digests are copied; anything
    else in the store is ignored, and a changed or linked file refuses the
    submission. Returns the folder.

    Raises:
        GradingError: a stored notebook is missing, not a regular file or was changed.
    """
    student_dir = course_dir / "submitted" / _name("student", submission.student)
    target = student_dir / _name("assignment", submission.assignment)
    student_dir.mkdir(mode=0o2750, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{submission.assignment}-", dir=student_dir))
    try:
        for entry in submission.files:
            name = _name("notebook", entry["name"])
            data = _read_regular(stored / name)
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise GradingError(f"{name} of submission {submission.id} changed in the store "
                                   "since it was submitted; not graded.")
            (staging / name).write_bytes(data)
        (staging / "timestamp.txt").write_text(submission.timestamp + "\n")
        _instructors_may_read(staging)
        if target.is_symlink():  # never swap with, or delete through, a planted link
            target.unlink()
        if os.path.lexists(target):
            _exchange(staging, target)  # staging now holds the previous submission
            shutil.rmtree(staging)
        else:
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _read_regular(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise GradingError(f"{path.name} cannot be read from the store ({exc.strerror}); "
                           "not graded.") from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise GradingError(f"{path.name} in the store is not a regular file; not graded.")
        return handle.read()


def _instructors_may_read(folder: Path) -> None:
    """Make *folder* and its files root's and the instructors' group's to read, nobody else's."""
    try:
        gid = grp.getgrnam(INSTRUCTORS_GROUP).gr_gid
    except KeyError:  # no instructors' group on this machine (a test, a bare grader host)
        gid = -1
    for path in [folder, *folder.iterdir()]:
        os.chown(path, -1, gid)
        os.chmod(path, 0o2750 if path.is_dir() else 0o640)


def _exchange(first: Path, second: Path) -> None:
    """Swap two directory entries in one step (``renameat2(RENAME_EXCHANGE)``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second),
                      RENAME_EXCHANGE) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), str(second))


#: The grading service's sandbox users start at slot 100 (``qcampus grade`` starts at 0); each
#: sandbox holds its slot alone on the machine (:mod:`grader.sandbox.slots`).
FIRST_SERVICE_SLOT = 100


def autograde(course_dir: Path, assignment: str, student: str, *, timeout: float) -> Outcome:
    """Autograde one learner's placed submission in the sandbox, from scratch."""
    from grader.autograde import batch
    from grader.sandbox.limits import Limits

    class LockedBatch(batch.Batch):
        """A Batch whose run-state file is updated by one grading process at a time."""

        def _save_state(self, outcomes):
            self.autograded.mkdir(parents=True, exist_ok=True)
            with open(self.autograded / f".qcampus-grade-{assignment}.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                super()._save_state(outcomes)

    # A regrade of the same files must run again, and a partial copy left by a
    # killed worker must not count as graded.
    shutil.rmtree(course_dir / "autograded" / student / assignment, ignore_errors=True)
    limits = Limits(cell_timeout=min(timeout, Limits.cell_timeout), notebook_timeout=timeout)
    try:
        [result] = LockedBatch(course_dir, assignment, limits=limits, workers=1,
                               first_slot=FIRST_SERVICE_SLOT).run([student])
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise GradingError(
                f"No space left on the grading disk ({course_dir}) while grading {assignment} of "
                f"{student}; the submission is kept: free space, then regrade it "
                "(`qcampus grading regrade`).") from exc
        raise GradingError(f"grading {assignment} of {student} failed: {exc}") from exc
    except Exception as exc:
        raise GradingError(f"grading {assignment} of {student} could not start: {exc}") from exc
    state = {batch.GRADED: GRADED, batch.TIMED_OUT: TIMED_OUT}.get(result.status, FAILED)
    return Outcome(state, result.reason, result.score, result.max_score, grading_environment())
