"""Releasing a track's assignment through real nbgrader into a deployment."""

from __future__ import annotations

import stat

import pytest

from qcampus import settings as settings_mod
from qcampus.courses import find_track, release, released
from qcampus.deployment import init
from qcampus.errors import CourseError
from tests.conftest import REPO

ENV = {"QCAMPUS_COURSES__SOURCE": str(REPO / "courses")}


@pytest.mark.slow
def test_release_puts_the_student_version_in_the_exchange(qcampus_home):
    """The exchange gets the student version: solutions and hidden tests removed."""
    from sqlalchemy.orm import Session

    from submissions.db import open_engine
    from submissions.exchange.store import Store

    init(qcampus_home, ENV)
    settings = settings_mod.load(qcampus_home, ENV)
    track = find_track(settings.courses_source, "foundations")
    assert "first-circuits" not in released(settings, track)
    where = release(settings, track, track.assignment("first-circuits"))
    assert "version 1" in where
    assert "first-circuits" in released(settings, track)
    engine = open_engine(settings.submissions_database_url)
    with Session(engine) as session:
        store = Store.for_deployment(settings)
        files = store.read_release(store.active_release(session, "foundations", "first-circuits"))
    engine.dispose()
    text = files["first-circuits.ipynb"].decode()
    assert "raise NotImplementedError" in text
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "_check([5, 4, 1, 7]" not in text
    # Released into a live deployment (no init after it), the course stays closed to learners.
    course = settings.courses_root / "foundations"
    opened = [f"{p} {stat.S_IMODE(p.stat().st_mode):o}" for p in course.rglob("*")
              if stat.S_IMODE(p.stat().st_mode) & 0o007]
    assert opened == []


def test_release_before_init_is_refused(qcampus_home):
    """Releasing into a deployment that was never initialised says to run init."""
    settings = settings_mod.load(qcampus_home, ENV)
    track = find_track(settings.courses_source, "foundations")
    with pytest.raises(CourseError, match="qcampus init"):
        release(settings, track, track.assignment("first-circuits"))


def test_unknown_assignment_names_the_known_ones():
    """Asking for an assignment a track lacks lists the ones it has."""
    track = find_track(REPO / "courses", "foundations")
    with pytest.raises(CourseError, match="first-circuits"):
        track.assignment("nope")


@pytest.mark.parametrize("threaded", [False, True], ids=["forked", "new-interpreter"])
def test_nbgrader_runs_in_the_course_and_reports_failures(tmp_path, threaded):
    """Forked or as a new interpreter, nbgrader runs in the course; the caller's cwd and umask stay."""
    import os
    import threading

    from qcampus.courses import nbgrader

    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'c'\n")
    cwd, umask = os.getcwd(), os.umask(0o022)
    release = threading.Event()
    other = threading.Thread(target=release.wait) if threaded else None
    if other:
        other.start()
    try:
        nbgrader(course, "db", "student", "add", "ada", "--last-name=Lovelace")
        listed = nbgrader(course, "db", "student", "list")
        assert "ada (Lovelace" in listed.stdout
        # What nbgrader writes is closed to others (umask 007 in the child only).
        assert os.stat(course / "gradebook.db").st_mode & 0o007 == 0
        assert os.umask(0o022) == 0o022 and os.getcwd() == cwd
        with pytest.raises(CourseError, match="generate_assignment.*failed") as failed:
            nbgrader(course, "generate_assignment", "no-such-assignment")
        assert "no-such-assignment" in str(failed.value)
    finally:
        release.set()
        if other:
            other.join()
        os.umask(umask)
