"""Tests of grader.credit against nbgrader's own grading of cell outputs."""

from __future__ import annotations

import nbformat
import pytest
from nbgrader.utils import determine_grade
from qiskit import QuantumCircuit

from grader.circuits import assert_circuit_equivalent
from grader.credit import Points, Rubric
from grader.errors import InvalidCheckError
from grader.resources import score_resources


def _graded_cell(outputs: list) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("rubric.score()")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t",
                                 "points": 3}
    cell.outputs = outputs
    return cell


def _score_cell(rubric: Rubric, capsys) -> nbformat.NotebookNode:
    points = rubric.score()
    printed = capsys.readouterr().out
    return _graded_cell([
        nbformat.v4.new_output("stream", name="stdout", text=printed),
        nbformat.v4.new_output("execute_result", data={"text/plain": repr(points)},
                               execution_count=1),
    ])


def test_partial_credit_is_what_nbgrader_records(bell, capsys, english):
    """A rubric with one passed and one half-credit part gives nbgrader 2.5 of 3."""
    toffoli = QuantumCircuit(3)
    toffoli.ccx(0, 1, 2)
    rubric = Rubric(points=3)
    with rubric.part(2):
        assert_circuit_equivalent(bell, bell)
    with rubric.part(1):
        score_resources(toffoli, {"two_qubit_gates": [(4, 1.0), (8, 0.5)]},
                        basis_gates=["h", "t", "tdg", "cx"])
    cell = _score_cell(rubric, capsys)
    assert determine_grade(cell) == (2.5, 3.0)
    assert "Score: 2.5 / 3" in cell.outputs[0].text


def test_failed_and_raising_parts_earn_nothing_but_are_reported(bell, capsys, english):
    """A failed check and a learner NameError each earn 0 and appear in the feedback."""
    rubric = Rubric(points=3)
    with rubric.part(1):
        assert_circuit_equivalent(QuantumCircuit(2), bell)
    with rubric.part(1):
        raise NameError("name 'circuit' is not defined")
    with rubric.part(1):
        pass
    cell = _score_cell(rubric, capsys)
    assert determine_grade(cell) == (1.0, 3.0)
    assert "NameError" in cell.outputs[0].text and "differ on the input" in cell.outputs[0].text


def test_points_print_as_a_bare_number():
    """Points' plain-text form is a number nbgrader can parse."""
    assert float(repr(Points(1.5))) == 1.5


def test_weights_above_the_points_are_refused():
    """Parts whose weights exceed the cell's points are an instructor error."""
    rubric = Rubric(points=1)
    with pytest.raises(InvalidCheckError), rubric.part(2):
        pass
