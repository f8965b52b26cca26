"""Code items are proved by running them: the solution passes, the stub fails in the checks."""

from __future__ import annotations

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
