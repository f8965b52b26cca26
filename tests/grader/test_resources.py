"""Tests of grader.resources."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit

from grader.errors import CheckFailed, InvalidCheckError
from grader.resources import assert_gate_set, assert_resources, count_resources, score_resources


@pytest.fixture
def toffoli():
    """Return a circuit with one Toffoli gate."""
    circuit = QuantumCircuit(3)
    circuit.ccx(0, 1, 2)
    return circuit


CLIFFORD_T = ["h", "t", "tdg", "cx"]


def test_toffoli_costs_on_clifford_t(toffoli):
    """A Toffoli on Clifford+T has 6 CX and 7 T gates."""
    found = count_resources(toffoli, basis_gates=CLIFFORD_T)
    assert found.two_qubit_gates == 6
    assert found.t_count == 7


def test_linear_coupling_adds_two_qubit_gates(toffoli):
    """Routing the Toffoli on a line needs more two-qubit gates than all-to-all."""
    line = [[0, 1], [1, 0], [1, 2], [2, 1]]
    routed = count_resources(toffoli, basis_gates=CLIFFORD_T, coupling_map=line)
    assert routed.two_qubit_gates > 6


def test_limits_pass_and_fail(toffoli, english):
    """Limits at the true counts pass; one below fails naming the metric."""
    assert_resources(toffoli, max_two_qubit_gates=6, max_t_count=7, basis_gates=CLIFFORD_T)
    with pytest.raises(CheckFailed, match="t count is 7"):
        assert_resources(toffoli, max_t_count=6, basis_gates=CLIFFORD_T)


def test_bands_give_partial_credit(toffoli, english):
    """Six CX gates in bands [(4, 1.0), (8, 0.5)] earn half the credit."""
    assert score_resources(toffoli, {"two_qubit_gates": [(6, 1.0)]},
                           basis_gates=CLIFFORD_T) == 1.0
    with pytest.raises(CheckFailed, match="50%") as failure:
        score_resources(toffoli, {"two_qubit_gates": [(4, 1.0), (8, 0.5)]},
                        basis_gates=CLIFFORD_T)
    assert failure.value.score == 0.5
    with pytest.raises(InvalidCheckError):
        score_resources(toffoli, {"width": [(1, 1.0)]})


def test_gate_set_names_the_extra_gates(toffoli, english):
    """A Toffoli outside a Clifford+T gate set is named."""
    assert_gate_set(toffoli, ["ccx"])
    with pytest.raises(CheckFailed, match="ccx"):
        assert_gate_set(toffoli, CLIFFORD_T)
