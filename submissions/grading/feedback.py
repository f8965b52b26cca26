"""Generate a learner's feedback pages and hand them to the exchange, as the assignment says.

Each assignment's ``feedback`` in ``track.yaml`` decides when: ``on-submit``
right after grading, ``after-deadline`` by the grading service's sweep once
``due`` has passed, ``manual`` never here (the instructor releases it in
formgrader). Pages come from nbgrader's ``generate_feedback`` with
:class:`grader.autograde.feedback.HideHiddenTests` first, so no hidden test's
code reaches a learner.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from qcampus.courses import load_track, nbgrader
from qcampus.database import write_session
from qcampus.errors import CourseError
from qcampus.settings import Settings
from submissions.exchange.models import Submission

log = logging.getLogger(__name__)

ON_SUBMIT = "on-submit"
AFTER_DEADLINE = "after-deadline"
MANUAL = "manual"
#: Who the exchange records as having released feedback the service generated.
RELEASED_BY = "qcampus-grading"
#: ``GenerateFeedback.preprocessors`` on nbgrader's command line (see grader.autograde.feedback).
PREPROCESSORS = ("grader.autograde.feedback.HideHiddenTests", "nbgrader.preprocessors.GetGrades",
                 "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor")


def policy(settings: Settings, course: str, assignment: str) -> tuple[str, datetime | None]:
    """Return the assignment's feedback mode and its due time (UTC), ``manual`` if unknown."""
    track = settings.courses_source / course
    try:
        version = (track / "track.yaml").stat().st_mtime_ns
    except OSError:
        version = None
    return _policy(track, version, assignment)


@lru_cache(maxsize=256)
def _policy(track: Path, version: int | None, assignment: str) -> tuple[str, datetime | None]:
    # Read again only when track.yaml changes (*version* is its mtime): the sweep asks often.
    try:
        found = load_track(track).assignment(assignment)
    except CourseError as exc:
        # A course without a track in the source (made by hand) keeps nbgrader's default.
        log.warning("feedback of %s/%s is manual: %s", track.name, assignment, exc)
        return MANUAL, None
    due = getattr(found, "due", None)
    if due is not None and due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return getattr(found, "feedback", MANUAL), due


def generate(course_dir: Path, assignment: str, student: str, db_url: str = "") -> dict[str, bytes]:
    """Run nbgrader's generate_feedback for one learner; return each notebook's page by id.

    *db_url* is the course's gradebook; "" is nbgrader's default in *course_dir*.
    """
    # Pages are root's and the instructors' group's (nbgrader's default, 644, opens them to
    # every local user) until the exchange releases them to their learner.
    nbgrader(course_dir, "generate_feedback", assignment, "--student", student, "--force",
             *(f"--GenerateFeedback.preprocessors={name}" for name in PREPROCESSORS),
             "--GenerateFeedback.permissions=640", "--log-level=WARN", db_url=db_url)
    folder = course_dir / "feedback" / student / assignment
    return {page.stem: page.read_bytes() for page in sorted(folder.glob("*.html"))}


def release(settings: Settings, engine: Engine, submission_id: int) -> list[str]:
    """Generate and release the feedback of a submission; return the notebooks released.

    The pages are made before the write transaction, which only records them.
    """
    from submissions.exchange.store import Store

    with Session(engine) as session:
        submission = session.get(Submission, submission_id)
        course, assignment, student = submission.course, submission.assignment, submission.student
        held = {f["name"][:-len(".ipynb")] for f in submission.files}
    pages = generate(settings.courses_root / course, assignment, student,
                     settings.gradebook_url(course))
    pages = {notebook: page for notebook, page in pages.items() if notebook in held}
    with write_session(engine) as session:
        Store.for_deployment(settings).release_feedback(
            session, session.get(Submission, submission_id), pages, released_by=RELEASED_BY)
    return sorted(pages)
