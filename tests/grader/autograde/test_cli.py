"""The ``qcampus grade`` command (grader/cli.py): options, refusal without isolation, resumable runs."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from grader.cli import grade
from tests.grader.autograde.conftest import ASSIGNMENT, CORRECT, WRONG


def test_help_lists_the_options():
    """--help names every option of the issue's command line."""
    result = CliRunner().invoke(grade, ["--help"])
    assert result.exit_code == 0
    for option in ("--course-dir", "--student", "--workers", "--timeout", "--cpu-seconds",
                   "--unsafe-no-sandbox"):
        assert option in result.output


def test_not_a_course_directory(tmp_path):
    """A directory without the assignment's source is refused with what to check."""
    result = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "nbgrader course directory" in result.output


@pytest.mark.slow
def test_refuses_without_isolation(make_course, monkeypatch):
    """Without root (euid faked: tests run as root) it refuses and names --unsafe-no-sandbox."""
    course = make_course()
    course.submit("alice", CORRECT)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root)])
    assert result.exit_code == 1
    assert "--unsafe-no-sandbox" in result.output
    assert not (course.root / "autograded" / "alice").exists()


@pytest.mark.slow
def test_unsafe_flag_grades_without_sandbox(make_course):
    """--unsafe-no-sandbox grades with a warning."""
    course = make_course()
    course.submit("alice", CORRECT)
    result = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root),
                                        "--unsafe-no-sandbox"])
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.output
    assert course.scores() == {"alice": 2.0}


@pytest.mark.slow
@pytest.mark.sandbox
def test_rerun_grades_only_new_or_changed(make_course, sandbox_users):
    """A rerun skips unchanged submissions and regrades a changed one with its new score."""
    course = make_course()
    course.submit("alice", CORRECT)
    course.submit("bob", WRONG)
    first = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root)])
    assert first.exit_code == 0, first.output
    assert "note: " in first.output and "system-call filter" in first.output  # what bounds memory
    assert course.scores() == {"alice": 2.0, "bob": 0.0}
    course.submit("bob", CORRECT)
    course.submit("carol", WRONG)
    second = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root)])
    assert second.exit_code == 0, second.output
    lines = {line.split()[0]: line for line in second.output.splitlines() if line.strip()}
    assert "unchanged" in lines["alice"]
    assert "graded" in lines["bob"] and "graded" in lines["carol"]
    assert course.scores() == {"alice": 2.0, "bob": 2.0, "carol": 0.0}


@pytest.mark.slow
@pytest.mark.sandbox
def test_student_option_limits_the_run(make_course, sandbox_users):
    """--student grades only the named submissions."""
    course = make_course()
    course.submit("alice", CORRECT)
    course.submit("bob", WRONG)
    result = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root),
                                        "--student", "bob"])
    assert result.exit_code == 0, result.output
    assert set(course.scores()) == {"bob"}


@pytest.mark.slow
@pytest.mark.sandbox
def test_cpu_seconds_stop_a_notebook_inside_its_wall_clock(make_course, sandbox_users):
    """--cpu-seconds stops a busy notebook long before --timeout, and the summary says why."""
    course = make_course()
    course.submit("alice", CORRECT, before="while True: pass")
    result = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root),
                                        "--timeout", "60", "--cpu-seconds", "1"])
    assert result.exit_code == 0, result.output
    assert "more than 1 s of CPU time" in result.output
    assert course.scores() == {"alice": 0.0}
