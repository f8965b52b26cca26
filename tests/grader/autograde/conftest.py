"""Fixtures for the autograde tests: small synthetic nbgrader courses.

- ``sandbox_users``: re-exported from the sandbox tests (users made, then removed).
- ``make_course``: a function that builds a course directory with one generated
  assignment ``ps1`` (an answer cell and a test cell worth 2 points with a hidden
  test), and returns a :class:`Course` to add submissions to.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from qcampus.courses import nbgrader
from tests.gradebooks import give_gradebook
from tests.grader.sandbox.conftest import sandbox_users  # noqa: F401  (a fixture)

ASSIGNMENT = "ps1"
CORRECT = "return x * x"
WRONG = "return x + x"
TIMESTAMP = "2026-01-05 10:00:00.000000 UTC"


def nbgrader_env() -> dict[str, str]:
    """Return an environment in which nbgrader finds its ``alembic`` command."""
    return {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep
            + os.environ.get("PATH", "")}


def cell_meta(grade_id: str, **fields) -> dict:
    """Return a cell's nbgrader metadata (schema 3) with *fields* set."""
    nbgrader = {"grade": False, "solution": False, "locked": False, "schema_version": 3,
                "grade_id": grade_id, **fields}
    return {"nbgrader": nbgrader}


def source_notebook() -> nbformat.NotebookNode:
    """Return the instructor's notebook: solution cell, then a test cell with a hidden test."""
    return new_notebook(cells=[
        new_markdown_cell("# Squares", metadata=cell_meta("intro", locked=True)),
        new_code_cell("def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n"
                      "    ### END SOLUTION", metadata=cell_meta("answer", solution=True)),
        new_code_cell("assert square(3) == 9\n### BEGIN HIDDEN TESTS\nassert square(4) == 16\n"
                      "### END HIDDEN TESTS",
                      metadata=cell_meta("test_square", grade=True, locked=True, points=2)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})


class Course:
    """A course directory with ``ps1`` generated, and helpers to add submissions."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def released(self) -> nbformat.NotebookNode:
        """Return a fresh copy of the notebook learners received."""
        return nbformat.read(self.root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)

    def submission_dir(self, student: str) -> Path:
        path = self.root / "submitted" / student / ASSIGNMENT
        path.mkdir(parents=True, exist_ok=True)
        return path

    def submit(self, student: str, answer: str = CORRECT, *, before: str = "",
               timestamp: str = TIMESTAMP,
               edit: Callable[[nbformat.NotebookNode], None] | None = None) -> Path:
        """Submit the released notebook with *answer* as the body of ``square``.

        Args:
            student: The student id.
            answer: Replaces ``raise NotImplementedError()`` in the answer cell.
            before: Code put at the top of the answer cell (runs before the tests).
            timestamp: Contents of ``timestamp.txt``.
            edit: Changes the notebook further before it is written.
        """
        notebook = self.released
        cell = notebook.cells[1]
        cell.source = cell.source.replace("raise NotImplementedError()", answer)
        if before:
            cell.source = before + "\n" + cell.source
        if edit is not None:
            edit(notebook)
        path = self.submission_dir(student)
        nbformat.write(notebook, path / f"{ASSIGNMENT}.ipynb")
        (path / "timestamp.txt").write_text(timestamp)
        return path

    def submit_raw(self, student: str, content: str) -> Path:
        """Submit *content* verbatim as the notebook file."""
        path = self.submission_dir(student)
        (path / f"{ASSIGNMENT}.ipynb").write_text(content)
        (path / "timestamp.txt").write_text(TIMESTAMP)
        return path

    def scores(self) -> dict[str, float]:
        """Return each student's total score from the gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}", "demo") as gb:
            return {s.student_id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}

    def grades(self) -> dict[tuple[str, str], float | None]:
        """Return every (student, grade cell) auto score from the gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}", "demo") as gb:
            return {(s.student_id, g.name): g.auto_score
                    for s in gb.assignment_submissions(ASSIGNMENT)
                    for nb in s.notebooks for g in nb.grades}

    def autograded(self, student: str) -> dict:
        """Return the autograded notebook of *student* as JSON."""
        path = self.root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        return json.loads(path.read_text())


def build_course(root: Path, notebook: nbformat.NotebookNode | None = None) -> Course:
    """Create a course at *root* and run nbgrader generate_assignment on ``ps1``.

    Args:
        notebook: The instructor's notebook (default: :func:`source_notebook`).
    """
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(notebook or source_notebook(),
                   root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    (root / "source" / ASSIGNMENT / "data.txt").write_text("instructor data\n")
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'demo'\n")
    give_gradebook(root)
    nbgrader(root, "generate_assignment", ASSIGNMENT)  # forked: nbgrader's imports paid once
    return Course(root)


@pytest.fixture
def make_course(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Course]:
    """Return a function that builds a fresh course in its own temporary directory."""
    def make() -> Course:
        return build_course(tmp_path_factory.mktemp("course"))

    return make
