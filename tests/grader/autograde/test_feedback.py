"""Feedback pages keep what each check said and never show hidden tests' code (nbgrader #917)."""

from __future__ import annotations

import html
import re
import subprocess
import sys

import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from grader.autograde.feedback import HideHiddenTests, feedback_preprocessors
from tests.grader.autograde.conftest import WRONG, build_course, cell_meta, nbgrader_env

HIDDEN = "assert square(4) == 16"


def _test_cell(source: str, outputs=()) -> dict:
    cell = new_code_cell(source, metadata=cell_meta("t", grade=True, locked=True, points=1))
    cell.outputs = list(outputs)
    return cell


def _hide(cell, **config):
    notebook = new_notebook(cells=[cell])
    notebook, _ = HideHiddenTests(**config).preprocess(notebook, {})
    return notebook.cells[0]


def test_the_hidden_region_is_replaced_and_the_visible_checks_stay():
    """Only the lines between the delimiters go; a placeholder says tests ran there."""
    cell = _hide(_test_cell(f"assert square(3) == 9\n    ### BEGIN HIDDEN TESTS\n{HIDDEN}\n"
                            "### END HIDDEN TESTS\nprint('done')"))
    assert HIDDEN not in cell.source and "HIDDEN TESTS" not in cell.source
    assert cell.source.splitlines()[0] == "assert square(3) == 9"
    assert cell.source.splitlines()[1].startswith("    # Hidden tests ran here")
    assert cell.source.splitlines()[-1] == "print('done')"


def test_whole_cell_mode_and_unbalanced_delimiters_hide_the_whole_source():
    """With whole_cell, or when the region never ends, nothing of the source is shown."""
    whole = _hide(_test_cell(f"visible()\n### BEGIN HIDDEN TESTS\n{HIDDEN}\n### END HIDDEN TESTS"),
                  whole_cell=True)
    unbalanced = _hide(_test_cell(f"visible()\n### BEGIN HIDDEN TESTS\n{HIDDEN}"))
    for cell in (whole, unbalanced):
        assert cell.source == HideHiddenTests().placeholder


def test_a_traceback_keeps_the_error_but_not_the_code_it_quotes():
    """An error output keeps its name and message; its traceback's code lines are dropped."""
    error = new_output("error", ename="AssertionError", evalue="square(4) should be 16",
                       traceback=["Traceback", f"----> 3 {HIDDEN}", "AssertionError: ..."])
    printed = new_output("stream", name="stdout", text="3 checks passed\n")
    cell = _hide(_test_cell(f"### BEGIN HIDDEN TESTS\n{HIDDEN}\n### END HIDDEN TESTS",
                            [printed, error]))
    assert cell.outputs[0].text == "3 checks passed\n"
    assert cell.outputs[1].traceback == ["AssertionError: square(4) should be 16"]


def test_cells_without_hidden_tests_are_untouched():
    """A test cell without hidden tests keeps its source and traceback."""
    error = new_output("error", ename="AssertionError", evalue="", traceback=["line 1", "x"])
    cell = _hide(_test_cell("assert square(3) == 9", [error]))
    assert cell.source == "assert square(3) == 9" and cell.outputs[0].traceback == ["line 1", "x"]


def _feedback(tmp_path, *extra: str) -> str:
    course = build_course(tmp_path / "course")
    course.submit("alice", WRONG)
    for command in (["autograde", "ps1"], ["generate_feedback", "ps1", *extra]):
        subprocess.run([sys.executable, "-m", "nbgrader", *command], cwd=course.root,
                       env=nbgrader_env(), check=True, capture_output=True)
    page = (course.root / "feedback" / "alice" / "ps1" / "ps1.html").read_text()
    # The text a reader sees: syntax highlighting splits code into many elements.
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.mark.slow
def test_nbgraders_feedback_shows_hidden_tests_without_the_preprocessor(tmp_path):
    """Stock generate_feedback puts the hidden test's code in the page (what the preprocessor fixes)."""
    assert "square(4)" in _feedback(tmp_path)


@pytest.mark.slow
def test_feedback_with_the_preprocessor_shows_points_and_checks_but_no_hidden_code(tmp_path):
    """With feedback_preprocessors() the page has the score and the visible check only."""
    names = [f"{cls.__module__}.{cls.__name__}" for cls in feedback_preprocessors()]
    page = _feedback(tmp_path, f"--GenerateFeedback.preprocessors={names!r}".replace("'", '"'))
    assert "square(4)" not in page
    assert "assert square(3) == 9" in page
    assert "Hidden tests ran here" in page
    assert "0.0 / 2.0" in page or "0 / 2" in page
