"""The batched gradebook preprocessors find and write what nbgrader's own do."""

from __future__ import annotations

import logging
import shutil

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import OverwriteCells, SaveAutoGrades

from grader.autograde import autograde_preprocessors, sanitize_preprocessors
from grader.autograde.execute import SandboxedExecute
from grader.autograde.gradebook import (
    BatchedOverwriteCells,
    BatchedSaveAutoGrades,
    NotebookCells,
    SubmissionRows,
)
from grader.autograde.trusted import TrustedVerdict
from tests.grader.autograde.conftest import ASSIGNMENT, build_course

NAMES = ["intro", "answer", "test_square", "nope"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A generated course whose gradebook has alice's (empty) submission."""
    course = build_course(tmp_path_factory.mktemp("gradebook"))
    with Gradebook(_url(course.root / "gradebook.db"), "demo") as gb:
        gb.add_student("alice")
        gb.add_submission(ASSIGNMENT, "alice")
    return course


def _url(path) -> str:
    return f"sqlite:///{path}"


def _copy(course, tmp_path, name: str) -> str:
    target = tmp_path / f"{name}.db"
    shutil.copy(course.root / "gradebook.db", target)
    return _url(target)


def _found(find, *args):
    try:
        return find(*args).id
    except MissingEntry as exc:
        return ("missing", type(exc))


def test_cells_are_the_rows_nbgraders_finders_return(course):
    with Gradebook(_url(course.root / "gradebook.db")) as gb:
        cells = NotebookCells(gb, ASSIGNMENT, ASSIGNMENT)
        for name in NAMES:
            for method in ("find_source_cell", "find_graded_cell"):
                ours = _found(getattr(cells, method), name, ASSIGNMENT, ASSIGNMENT)
                assert ours == _found(getattr(gb, method), name, ASSIGNMENT, ASSIGNMENT)


def test_grades_and_comments_are_the_rows_nbgraders_finders_return(course):
    with Gradebook(_url(course.root / "gradebook.db")) as gb:
        rows = SubmissionRows(gb, ASSIGNMENT, ASSIGNMENT, "alice")
        found = []
        for name in NAMES:
            for method in ("find_grade", "find_comment"):
                ours = _found(getattr(rows, method), name, ASSIGNMENT, ASSIGNMENT, "alice")
                assert ours == _found(getattr(gb, method), name, ASSIGNMENT, ASSIGNMENT, "alice")
                found.append(not isinstance(ours, tuple))
        assert sum(found) == 2  # the grade of test_square and the comment of answer


def _resources(url: str) -> dict:
    return {"nbgrader": {"notebook": ASSIGNMENT, "assignment": ASSIGNMENT, "student": "alice",
                         "db_url": url}}


def _saved(url: str) -> list[tuple]:
    with Gradebook(url) as gb:
        submitted = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "alice")
        return sorted([("grade", g.name, g.auto_score, g.needs_manual_grade)
                       for g in submitted.grades]
                      + [("comment", c.name, c.auto_comment) for c in submitted.comments])


def _executed(course, *, error: bool) -> nbformat.NotebookNode:
    notebook = course.released
    test = notebook.cells[2]
    test.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="",
                                           traceback=[])] if error else []
    return notebook


@pytest.mark.parametrize("error", [False, True])
def test_saved_grades_equal_nbgraders(course, tmp_path, error):
    stock, ours = _copy(course, tmp_path, "stock"), _copy(course, tmp_path, "ours")
    SaveAutoGrades().preprocess(_executed(course, error=error), _resources(stock))
    BatchedSaveAutoGrades().preprocess(_executed(course, error=error), _resources(ours))
    assert _saved(ours) == _saved(stock)
    assert ("grade", "test_square", 0.0 if error else 2.0, False) in _saved(ours)


def test_a_notebook_is_saved_together_or_not_at_all(course, tmp_path):
    """nbgrader commits the answer's comment before failing on an unknown test cell; we save none."""
    stock, ours = _copy(course, tmp_path, "stock"), _copy(course, tmp_path, "ours")
    before = _saved(ours)
    for preprocessor, url in ((SaveAutoGrades(), stock), (BatchedSaveAutoGrades(), ours)):
        notebook = _executed(course, error=False)
        notebook.cells[2].metadata.nbgrader["grade_id"] = "ghost"
        with pytest.raises(MissingEntry):
            preprocessor.preprocess(notebook, _resources(url))
    assert ("comment", "answer", "No response.") in _saved(stock)
    assert _saved(ours) == before


def _tampered(course) -> nbformat.NotebookNode:
    notebook = course.released
    notebook.cells[0].source = "# edited heading"
    test = notebook.cells[2]
    test.source = "assert True"
    test.metadata.nbgrader["points"] = 100
    notebook.cells.append(nbformat.v4.new_code_cell(
        "x = 1", metadata={"nbgrader": {"grade_id": "unknown", "grade": False, "solution": True,
                                        "locked": False, "schema_version": 3}}, id="extra"))
    notebook.cells[1].cell_type = "markdown"
    del notebook.cells[1]["outputs"], notebook.cells[1]["execution_count"]
    return notebook


def test_overwritten_cells_equal_nbgraders(course, caplog):
    url = _url(course.root / "gradebook.db")
    results = []
    for preprocessor in (OverwriteCells(), BatchedOverwriteCells()):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            notebook, _ = preprocessor.preprocess(_tampered(course), _resources(url))
        results.append((notebook, sorted(r.getMessage() for r in caplog.records)))
    (stock, stock_log), (ours, our_log) = results
    assert ours == stock
    assert our_log == stock_log and len(our_log) >= 4
    assert ours.cells[2].metadata.nbgrader["points"] == 2.0
    assert ours.cells[1].cell_type == "code"


def test_the_preprocessor_lists_swap_only_what_they_name():
    from nbgrader.converters import Autograde

    stock_sanitize = Autograde.class_traits()["sanitize_preprocessors"].default()
    stock_autograde = Autograde.class_traits()["autograde_preprocessors"].default()
    sanitize, autograde = sanitize_preprocessors(), autograde_preprocessors()
    at = autograde.index(TrustedVerdict)
    assert autograde[at - 1] is SandboxedExecute
    del autograde[at]
    assert len(sanitize) == len(stock_sanitize) and len(autograde) == len(stock_autograde)
    changed = {(a.__name__, b.__name__) for a, b in zip(stock_sanitize + stock_autograde,
                                                         sanitize + autograde, strict=True)
               if a is not b}
    assert changed == {("OverwriteCells", "BatchedOverwriteCells"),
                       ("Execute", "SandboxedExecute"),
                       ("SaveAutoGrades", "BatchedSaveAutoGrades")}
    assert all(issubclass(b, a) for a, b in zip(stock_sanitize + stock_autograde,
                                                sanitize + autograde, strict=True)
               if a.__name__ != "Execute")
