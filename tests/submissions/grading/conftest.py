"""Fixtures of the grading service tests (the submissions fixtures apply as well).

- ``submit``: a function that releases an assignment if needed, records a
  learner's submission through the exchange's store and enqueues it in the same
  transaction, as the exchange does; it returns the job id.
- ``job``: a function that reads a job's row afresh.
- ``demo_course``: a deployment whose ``courses/demo`` is the synthetic nbgrader
  course of the autograde tests (assignment ``ps1``, a test cell worth 2 points
  with a hidden test), its sandbox users cleaned up after the session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from sqlalchemy.orm import Session

from qcampus import settings as settings_module
from qcampus.database import write_session
from qcampus.settings import Settings
from submissions.grading import queue
from submissions.grading.models import GradingJob
from tests.grader.autograde.conftest import ASSIGNMENT, CORRECT, build_course
from tests.grader.sandbox.conftest import sandbox_users  # noqa: F401  (a fixture)

COURSE = "demo"


@pytest.fixture
def submit(engine, store) -> Callable[..., int]:
    """Return ``submit(student, files, course=, assignment=)`` giving the new job's id."""

    def make(student: str, files: dict[str, bytes], *, course: str = COURSE,
             assignment: str = ASSIGNMENT) -> int:
        with write_session(engine) as session:
            if store.active_release(session, course, assignment) is None:
                store.release(session, course, assignment, files, released_by="teacher")
            submission = store.submit(session, course, assignment, student, files)
            return queue.enqueue(session, submission).id

    return make


@pytest.fixture
def job(engine) -> Callable[[int], GradingJob]:
    """Return a function that reads job *id* from the database."""

    def read(job_id: int) -> GradingJob:
        with Session(engine, expire_on_commit=False) as session:
            return session.get(GradingJob, job_id)

    return read


def with_settings(settings: Settings, **sections: dict) -> Settings:
    """Write *sections* over the deployment's settings file and return the settings reloaded."""
    values = settings_module.merge({**settings.values, **{
        name: {**settings[name], **changes} for name, changes in sections.items()}})
    settings.settings_file.write_text(settings_module.dump(values))
    return settings_module.load(settings.home, {})


def answer(correct: str = CORRECT, before: str = "") -> bytes:
    """Return the ``ps1`` notebook a learner submits, ``square`` answered with *correct*."""
    from tests.grader.autograde.conftest import source_notebook

    notebook = source_notebook()
    cell = notebook.cells[1]
    cell.source = (before + "\n" if before else "") + f"def square(x):\n    {correct}"
    notebook.cells[2].source = "assert square(3) == 9"
    for index, each in enumerate(notebook.cells):
        each.id = f"cell-{index}"  # the same answer gives the same bytes
    return nbformat.writes(notebook).encode()


@pytest.fixture
def demo_course(deployment: Settings, request: pytest.FixtureRequest) -> Path:
    """Build the synthetic course as ``courses/demo`` of the deployment; return its directory."""
    request.getfixturevalue("sandbox_users")
    course = build_course(deployment.courses_root / COURSE)
    return course.root
