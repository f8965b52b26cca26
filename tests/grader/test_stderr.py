"""No warning from inside a check reaches stderr, where nbgrader would give the cell 0.

Each test runs checks in a fresh interpreter with every warning shown
(``-W always``), as a notebook kernel would print them, and reads its stderr.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import nbformat
from nbgrader.utils import determine_grade

OLD_GATE = """
import warnings
from qiskit import QuantumCircuit
from qiskit.circuit import Gate


class OldH(Gate):
    '''A gate whose definition warns, as deprecated library gates do when simulated.'''

    def __init__(self):
        super().__init__("old_h", 1, [])

    def _define(self):
        warnings.warn("old_h is deprecated", DeprecationWarning, stacklevel=2)
        circuit = QuantumCircuit(1)
        circuit.h(0)
        self.definition = circuit


def learner():
    circuit = QuantumCircuit(2)
    circuit.append(OldH(), [0])
    circuit.cx(0, 1)
    return circuit


reference = QuantumCircuit(2)
reference.h(0)
reference.cx(0, 1)
"""


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "always", "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120,
                          env={"QCAMPUS_LANG": "en", "PATH": "/usr/bin:/bin"})


def test_the_warning_is_real_outside_a_check():
    """Control: simulating the learner's circuit directly prints the warning on stderr."""
    done = _run(OLD_GATE + "from qiskit.quantum_info import Statevector\nStatevector(learner())\n")
    assert "old_h is deprecated" in done.stderr


def test_checks_whose_internals_warn_keep_stderr_empty():
    """Circuit, state, distribution and resource checks simulate the warning gate silently."""
    done = _run(OLD_GATE + """
from grader import (assert_circuit_equivalent, assert_distribution, assert_resources,
                    assert_state_close)
assert_circuit_equivalent(learner(), reference)
assert_state_close(learner(), reference)
assert_distribution(learner(), {"00": 0.5, "11": 0.5})
assert_resources(learner(), max_two_qubit_gates=1, basis_gates=["h", "cx"])
print("all passed")
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "all passed"
    assert done.stderr == ""


def test_numpy_and_complex_inputs_keep_stderr_empty():
    """A complex NumPy number, a 1-element array and mixed density matrices warn nothing."""
    done = _run("""
import numpy as np
from qiskit.quantum_info import DensityMatrix
from grader import CheckFailed, assert_number, assert_state_close
for value in (np.complex128(0.5 + 0.1j), np.array([0.5])):
    try:
        assert_number(value, 0.5)
    except CheckFailed:
        print("failed as it should")
assert_state_close(DensityMatrix(np.diag([0.5, 0.5])), DensityMatrix(np.diag([0.5, 0.5])))
print("done")
""")
    assert done.stdout.split() == ["failed", "as", "it", "should"] * 2 + ["done"]
    assert done.stderr == ""


def test_a_learners_warning_inside_a_rubric_part_goes_to_stdout():
    """A warning the learner's own code raises inside a rubric part is feedback, not stderr."""
    done = _run("""
import warnings
from grader import Rubric
def learner_value():
    warnings.warn("my own warning", RuntimeWarning)
    return 1
rubric = Rubric(points=1)
with rubric.part(1):
    assert learner_value() == 1
print(float(rubric.score()))
""")
    assert done.stderr == ""
    assert "RuntimeWarning: my own warning" in done.stdout
    cell = nbformat.from_dict({
        "cell_type": "code", "metadata": {"nbgrader": {"grade": True, "points": 1}},
        "outputs": [{"output_type": "stream", "name": "stdout", "text": done.stdout}]})
    assert determine_grade(cell)[0] == 1
