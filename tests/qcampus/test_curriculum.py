"""Checking a whole courses directory, including files other packages check."""

from __future__ import annotations

import shutil

import click
import pytest

from qcampus import curriculum
from tests.conftest import REPO


@pytest.fixture
def source(tmp_path):
    """Return a courses directory with the repository's framework and glossary and no tracks."""
    for name in ("framework.yaml", "glossary.yaml"):
        shutil.copy(REPO / "courses" / name, tmp_path / name)
    return tmp_path


def test_hook_problem_is_listed(source):
    """A course file's check that raises a click error adds its message, once per line."""
    (source / "badges.yaml").write_text("x: 1\n")
    seen = []

    def check(path, framework):
        seen.append((path, framework.id))
        raise click.ClickException(f"{path}: x: first\n{path}: x: second")

    found, _ = curriculum.problems(source, hooks=[("badges", check)])
    assert seen == [(source / "badges.yaml", "qcampus-cfqt")]
    assert found == [f"{source / 'badges.yaml'}: x: first", f"{source / 'badges.yaml'}: x: second"]


def test_hook_for_an_absent_file_is_not_called(source):
    """A check is only run when its file exists in the courses directory."""
    def check(path, framework):
        raise AssertionError("called without its file")

    assert curriculum.problems(source, hooks=[("badges", check)]) == ([], [])


def test_broken_framework_is_reported_and_skips_reference_checks(source):
    """An invalid framework is a problem; the glossary and hooks are not checked against it."""
    (source / "framework.yaml").write_text("id: x\n")
    found, _ = curriculum.problems(source, hooks=[("glossary", lambda path, fw: 1 / 0)])
    assert found and all("framework.yaml" in line for line in found)


def test_installed_hooks_are_callables():
    """Every installed course-file check loads as a callable."""
    assert all(callable(check) for _, check in curriculum.installed_hooks())


def test_installed_achievements_check_runs(source):
    """With the certificates package installed, a dangling achievement alignment is a problem."""
    text = (REPO / "courses" / "achievements.yaml").read_text(encoding="utf-8")
    (source / "achievements.yaml").write_text(text.replace("gate.transpilation", "gate.gone", 1))
    found, _ = curriculum.problems(source)
    assert len(found) == 1
    assert "unknown competency 'gate.gone'" in found[0]
