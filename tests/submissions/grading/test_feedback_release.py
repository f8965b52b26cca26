"""Feedback reaches the learner as the track says: at once on a real course, or after the deadline."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session

from qcampus.courses import environment_path_first
from submissions.exchange.models import Submission
from submissions.grading import pipeline, queue
from submissions.grading.models import GRADED, GradingJob
from submissions.grading.service import release_due_feedback
from tests.submissions.grading.conftest import answer, with_settings

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

COURSES = Path(__file__).resolve().parents[3] / "courses"
ASSIGNMENT = "first-circuits"


def _track(source: Path, track: str, assignment: str, **policy) -> None:
    """Write a one-assignment track.yaml under *source* with the feedback *policy*."""
    (source / track).mkdir(parents=True, exist_ok=True)
    entry = {"id": assignment, "title": {"en": assignment, "ja": assignment}, "level": "A2",
             "minutes": 30, "prerequisites": [], **policy,
             "objectives": [{"competency": "gate.circuits", "level": "A2"}]}
    (source / track / "track.yaml").write_text(yaml.safe_dump(
        {"title": {"en": track, "ja": track}, "level": "A2", "audience": "tests",
         "assignments": [entry]}, allow_unicode=True))


def _page_text(store, engine, submission_id: int) -> dict[str, str]:
    with Session(engine) as session:
        submission = session.get(Submission, submission_id)
        pages = {f.notebook: store.read_feedback(f).decode() for f in submission.feedback}
    return {name: html.unescape(re.sub(r"<[^>]+>", "", page)) for name, page in pages.items()}


def _hidden_lines(source: Path, released: Path) -> set[str]:
    """Return the hidden tests' code lines of *source* that the released notebook does not hold."""
    shown = {line.strip() for cell in json.loads(released.read_text())["cells"]
             for line in "".join(cell["source"]).splitlines()}
    hidden, inside = set(), False
    for cell in json.loads(source.read_text())["cells"]:
        for line in "".join(cell["source"]).splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and line.strip() and line.strip() not in shown:
                hidden.add(line.strip())
    return hidden


@pytest.fixture
def foundations(deployment, tmp_path, request):
    """Return the settings of a deployment with first-circuits generated, on-submit feedback."""
    request.getfixturevalue("sandbox_users")
    source = tmp_path / "source"
    _track(source, "foundations", ASSIGNMENT, feedback="on-submit")
    settings = with_settings(deployment, courses={"source": str(source)})
    course = settings.courses_root / "foundations"
    (course / "source").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'foundations'\n")
    shutil.copytree(COURSES / "foundations" / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT],
                   cwd=course, env=environment_path_first(), check=True, capture_output=True)
    return settings


def test_the_reference_scores_full_marks_and_feedback_hides_the_hidden_tests(
        foundations, engine, store, submit, job):
    """On a real course the reference gets full marks, and its released feedback has no hidden code."""
    course = foundations.courses_root / "foundations"
    notebook = f"{ASSIGNMENT}.ipynb"
    released = (course / "release" / ASSIGNMENT / notebook).read_bytes()
    reference = (course / "source" / ASSIGNMENT / notebook).read_bytes()
    hidden = _hidden_lines(course / "source" / ASSIGNMENT / notebook,
                           course / "release" / ASSIGNMENT / notebook)
    assert hidden, "first-circuits has hidden tests"
    submit("teacher", {notebook: released}, course="foundations", assignment=ASSIGNMENT)
    job_id = submit("alice", {notebook: reference}, course="foundations", assignment=ASSIGNMENT)

    outcome = pipeline.grade(foundations, job(job_id))

    assert outcome.state == GRADED, outcome.reason
    assert outcome.score == outcome.max_score > 0
    assert outcome.feedback_released, outcome.reason
    [page] = _page_text(store, engine, job(job_id).submission_id).values()
    assert str(int(outcome.max_score)) in page
    assert not {line for line in hidden if line in page}
    # What grading wrote into the course (autograded copy, feedback page) is closed to learners.
    written = [p for folder in ("autograded", "feedback")
               for p in (course / folder / "alice").rglob("*")]
    assert any(p.suffix == ".html" for p in written) and any(p.suffix == ".ipynb" for p in written)
    assert [(str(p), oct(p.stat().st_mode)) for p in written if p.stat().st_mode & 0o007] == []


def test_after_deadline_feedback_is_released_by_the_sweep_once_due(deployment, engine, store,
                                                                  submit, job, demo_course,
                                                                  tmp_path):
    """Not released when graded; the sweep releases it once due has passed, and only once."""
    source = tmp_path / "source"
    _track(source, "demo", "ps1", feedback="after-deadline", due="2099-01-01T00:00:00+00:00")
    future = with_settings(deployment, courses={"source": str(source)})
    job_id = submit("alice", {"ps1.ipynb": answer()})
    owner = "w1"
    with queue.write_session(engine) as session:
        queue.claim(session, owner, job_id=job_id)
    outcome = pipeline.grade(future, job(job_id))
    assert outcome.state == GRADED and not outcome.feedback_released
    with queue.write_session(engine) as session:
        queue.finish(session, job_id, owner, **outcome.as_record())
    assert release_due_feedback(future, engine) == []

    _track(source, "demo", "ps1", feedback="after-deadline", due="2020-01-01T00:00:00+00:00")
    assert release_due_feedback(future, engine) == [job_id]
    assert job(job_id).feedback_at is not None
    [page] = _page_text(store, engine, job(job_id).submission_id).values()
    assert "square(4)" not in page and "square(3)" in page
    assert release_due_feedback(future, engine) == []
    with Session(engine) as session:
        assert session.get(GradingJob, job_id).state == GRADED
