"""qcampus grade writes what stock nbgrader autograde writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from grader.cli import grade
from tests.grader.autograde.conftest import ASSIGNMENT, CORRECT, WRONG, build_course, nbgrader_env

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

#: Passes the visible test, fails the hidden one.
PARTIAL = "return 9 if x == 3 else 0"
LATE = "2026-03-01 12:00:00.000000 UTC"


def cells_without_outputs(notebook: dict) -> list[dict]:
    """Return each cell's type, source and nbgrader metadata (what grading depends on)."""
    return [{"type": c["cell_type"], "source": c["source"],
             "nbgrader": c["metadata"].get("nbgrader")} for c in notebook["cells"]]


@pytest.fixture(scope="module")
def both(tmp_path_factory, sandbox_users):
    """Grade copies of one course with stock nbgrader and with qcampus grade."""
    course = build_course(tmp_path_factory.mktemp("stock"))
    root = course.root
    subprocess.run([sys.executable, "-m", "nbgrader", "db", "assignment", "add", ASSIGNMENT,
                    "--duedate=2026-02-01 00:00:00 UTC"], cwd=root, env=nbgrader_env(),
                   check=True, capture_output=True)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write("c.LateSubmissionPlugin.penalty_method = 'zero'\n")
    course.submit("correct", CORRECT)
    course.submit("wrong", WRONG)
    course.submit("partial", PARTIAL)
    course.submit("late", CORRECT, timestamp=LATE)
    course.submit("untouched", "raise NotImplementedError()")
    course.submit("edited-test", WRONG,
                  edit=lambda nb: setattr(nb.cells[2], "source", "assert True"))
    stock_root = tmp_path_factory.mktemp("stock-copy") / "course"
    shutil.copytree(root, stock_root)
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT], cwd=stock_root,
                   env=nbgrader_env(), check=True, capture_output=True)
    result = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(root)])
    assert result.exit_code == 0, result.output
    stock = type(course)(stock_root)
    return course, stock


def test_scores_match_stock(both):
    """Every student's total score equals stock nbgrader's."""
    ours, stock = both
    assert ours.scores() == stock.scores()
    assert ours.scores()["correct"] == 2.0 and ours.scores()["partial"] == 0.0


def test_grade_rows_match_stock(both):
    """Every gradebook grade row (student, cell) has the same auto score as stock nbgrader's."""
    ours, stock = both
    assert ours.grades() == stock.grades()


def test_late_penalty_matches_stock(both):
    """The late submission gets the same penalty and seconds late as with stock nbgrader."""
    from nbgrader.api import Gradebook

    def late(course):
        with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", "demo") as gb:
            submission = gb.find_submission(ASSIGNMENT, "late")
            return submission.late_submission_penalty, submission.total_seconds_late

    assert late(both[0]) == late(both[1])
    assert late(both[0]) == (2.0, late(both[0])[1])
    assert late(both[0])[1] > 0


@pytest.mark.parametrize("student", ["correct", "wrong", "partial", "late", "untouched",
                                     "edited-test"])
def test_autograded_notebooks_match_stock(both, student):
    """The autograded notebook has the same cells, sources and metadata (checksums included)."""
    ours, stock = both
    assert cells_without_outputs(ours.autograded(student)) == \
        cells_without_outputs(stock.autograded(student))


def test_errors_recorded_like_stock(both):
    """A failing test cell carries an error output in both autograded notebooks."""
    ours, stock = both
    for course in (ours, stock):
        test_cell = course.autograded("wrong")["cells"][2]
        assert [o["output_type"] for o in test_cell["outputs"]] == ["error"]
        assert test_cell["outputs"][0]["ename"] == "AssertionError"


def test_other_files_copied_like_stock(both):
    """Data files from the source assignment are in the autograded folder in both."""
    ours, stock = both
    for course in (ours, stock):
        data = course.root / "autograded" / "correct" / ASSIGNMENT / "data.txt"
        assert data.read_text() == "instructor data\n"
    assert json.dumps(sorted(p.name for p in (ours.root / "autograded" / "correct" / ASSIGNMENT)
                             .iterdir())) == json.dumps(
        sorted(p.name for p in (stock.root / "autograded" / "correct" / ASSIGNMENT).iterdir()))
