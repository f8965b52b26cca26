"""Code items are proved by running them: the solution passes, the stub fails in the checks."""

from __future__ import annotations

import json

from exams import bank, codeitems
from qcampus import framework
from tests.exams.conftest import CODE, COURSES, write_item


def _problems(tmp_path, **code):
    write_item(tmp_path / "bank", {**CODE, "code": {**CODE["code"], **code}})
    items, found = bank.load(tmp_path / "bank", framework.load(COURSES / "framework.yaml"))
    assert found == []
    return codeitems.prove(items.values(), cell_seconds=5)


def test_a_right_code_item_has_no_problem(tmp_path):
    assert _problems(tmp_path) == []


def test_a_solution_that_fails_its_checks_is_named_with_the_stage(tmp_path):
    [problem] = _problems(tmp_path, solution="def double(x):\n    return x + x + 1\n")
    assert "t-code.yaml: code.solution fails in checks: AssertionError" in problem


def test_a_stub_that_passes_or_crashes_before_the_checks_is_named(tmp_path):
    [passes] = _problems(tmp_path, stub="def double(x):\n    return 2 * x\n")
    assert "code.stub passes the checks" in passes
    [crashes] = _problems(tmp_path, stub="def double(x) return\n")
    assert "code.stub fails in stub (SyntaxError" in crashes


def test_a_cell_that_runs_forever_is_stopped(tmp_path):
    [problem] = _problems(tmp_path, solution="while True:\n    pass\n")
    assert "code.solution fails in solution: TimeoutError" in problem


EXPORTS = [{"answer": "double-3", "expression": "double(3)", "check": "number"},
           {"answer": "double-minus-5", "expression": "double(-5)", "check": "number",
            "options": {"abs_tol": 1e-9}}]


def test_exports_make_a_key_from_the_solution_that_the_stub_scores_nothing_against(tmp_path):
    """With exports the solution's values are the key: the solution scores all, the stub none."""
    assert _problems(tmp_path, exports=EXPORTS, points=2) == []
    items, _ = bank.load(tmp_path / "bank")
    [key] = codeitems.keys(items.values(), cell_seconds=5).values()
    assert [(k["answer"], k["check"], k["points"], k["cell"]) for k in key["items"]] == [
        ("double-3", "number", 1.0, codeitems.TASK_CELL),
        ("double-minus-5", "number", 1.0, codeitems.TASK_CELL)]
    assert "6" in json.dumps(key["items"][0]["expected"])


def test_exports_a_stub_gets_right_or_a_solution_cannot_export_are_named(tmp_path):
    stub_right = [{"answer": "zero", "expression": "0", "check": "number"}]
    [problem] = _problems(tmp_path, exports=stub_right)
    assert "code.exports: the stub scores 1/1 by verdict" in problem
    broken = [{"answer": "boom", "expression": "double(1) / 0", "check": "number"}]
    [problem] = _problems(tmp_path, exports=broken)
    assert "code.exports: solution: ValueError: the solution exports nothing for boom" in problem
