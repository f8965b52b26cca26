"""Learner tricks change the grade in the ordinary mode and not in the export mode.

Each notebook runs in a real IPython kernel: a wrong answer, an ordinary test
cell (the control: it scores 0), the learner's trick, the same ordinary test
cell again (now it scores full points), and an export cell. The export is
graded by ``python -I -m grader.verdict`` in a separate process that only
reads JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.utils import determine_grade
from qiskit import QuantumCircuit

from grader.export import collect_answers
from grader.verdict import key_item

pytestmark = pytest.mark.slow

WRONG_CIRCUIT = "from qiskit import QuantumCircuit\ncircuit = QuantumCircuit(2)\ncircuit.h(0)"
REFERENCE = ("from qiskit import QuantumCircuit\n"
             "reference = QuantumCircuit(2)\nreference.h(0)\nreference.cx(0, 1)\n")
CHECK_CELL = REFERENCE + ("from grader import assert_circuit_equivalent\n"
                          "assert_circuit_equivalent(circuit, reference)")
NUMPY_CELL = REFERENCE + ("import numpy as np\nfrom qiskit.quantum_info import Statevector\n"
                          "assert np.allclose(Statevector(circuit).data, "
                          "Statevector(reference).data)")
RUBRIC_CELL = REFERENCE + ("from grader import Rubric, assert_circuit_equivalent\n"
                           "rubric = Rubric(points=2)\nwith rubric.part(2):\n"
                           "    assert_circuit_equivalent(circuit, reference)\nrubric.score()")
EXPORT_CIRCUIT = "from grader import export_answer\nexport_answer('bell', circuit)"

TRICKS = {
    "patch the check": (
        WRONG_CIRCUIT, CHECK_CELL, EXPORT_CIRCUIT,
        "import grader, grader.circuits\n"
        "grader.circuits.assert_circuit_equivalent = lambda *a, **k: None\n"
        "grader.assert_circuit_equivalent = grader.circuits.assert_circuit_equivalent"),
    "swallow AssertionError": (
        WRONG_CIRCUIT, CHECK_CELL, EXPORT_CIRCUIT,
        "get_ipython().set_custom_exc((AssertionError,), lambda *a, **k: None)"),
    "hide tracebacks": (
        WRONG_CIRCUIT, CHECK_CELL, EXPORT_CIRCUIT,
        "get_ipython().showtraceback = lambda *a, **k: None"),
    "patch builtins": (
        "answer = 0.4", "assert abs(answer - 0.5) < 1e-9",
        "from grader import export_answer\nexport_answer('half', answer)",
        "import builtins\nbuiltins.abs = lambda x: 0"),
    "patch numpy": (
        WRONG_CIRCUIT, NUMPY_CELL, EXPORT_CIRCUIT,
        "import numpy\nnumpy.allclose = lambda *a, **k: True"),
    "object equal to everything": (
        "answer = 0.4", "assert answer == 0.5",
        "from grader import export_answer\nexport_answer('half', answer)",
        "class Anything(float):\n    def __eq__(self, other):\n        return True\n"
        "answer = Anything(0.4)"),
    "print fake points": (
        WRONG_CIRCUIT, RUBRIC_CELL, EXPORT_CIRCUIT,
        "import grader.credit\n"
        "grader.credit.Rubric.score = lambda self: grader.credit.Points(self.points)"),
}


def _graded(source: str, grade_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "grade_id": grade_id, "points": 2, "schema_version": 3}
    return cell


def _key() -> dict:
    reference = QuantumCircuit(2)
    reference.h(0)
    reference.cx(0, 1)
    return {"items": [key_item("bell", "circuit_equivalent", reference, 2),
                      key_item("half", "number", 0.5, 2)]}


@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_trick_changes_only_the_ordinary_grade(trick, tmp_path, monkeypatch):
    """The trick lifts the ordinary test cell from 0 to full points; the verdict stays 0."""
    monkeypatch.setenv("QCAMPUS_LANG", "en")
    answer, ordinary, export, trick_source = TRICKS[trick]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(answer),
        _graded(ordinary, "before"),
        nbformat.v4.new_code_cell(trick_source),
        _graded(ordinary, "after"),
        _graded(export, "export"),
    ]
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    before, after = (determine_grade(notebook.cells[i])[0] for i in (1, 3))
    assert (before, after) == (0, 2)

    answers = collect_answers(notebook, grade_ids=["export"])
    (tmp_path / "key.json").write_text(json.dumps(_key()))
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    verdict = subprocess.run(
        [sys.executable, "-I", "-m", "grader.verdict", "key.json", "answers.json"],
        cwd=tmp_path, capture_output=True, text=True, check=True)
    items = {item["answer"]: item for item in json.loads(verdict.stdout)["items"]}
    exported = "half" if "'half'" in export else "bell"
    assert items[exported]["points"] == 0
    assert items[exported]["feedback"]["en"]
