"""Releasing a track's assignment through real nbgrader into a deployment."""

from __future__ import annotations

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
