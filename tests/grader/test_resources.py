"""Tests of grader.resources."""

from __future__ import annotations

import numpy as np
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


def test_toffoli_without_a_basis_is_counted_decomposed(toffoli):
    """Without basis_gates a Toffoli counts 7 T and 6 two-qubit gates, never 0 T and 1 gate."""
    found = count_resources(toffoli)
    assert (found.t_count, found.two_qubit_gates) == (7, 6)
    assert "t" in found.basis and "cx" in found.basis


def test_phase_gate_by_a_quarter_turn_is_a_t_gate():
    """p(π/4) and rz(-π/4) count as T gates; p(π/2) (an S) does not."""
    circuit = QuantumCircuit(1)
    circuit.p(np.pi / 4, 0)
    circuit.rz(-np.pi / 4, 0)
    circuit.p(np.pi / 2, 0)
    assert count_resources(circuit).t_count == 2


def test_custom_gate_is_counted_through_its_definition():
    """A custom gate holding a CX and a T counts as one CX and one T."""
    inner = QuantumCircuit(2, name="mine")
    inner.cx(0, 1)
    inner.t(1)
    circuit = QuantumCircuit(2)
    circuit.append(inner.to_gate(), [0, 1])
    found = count_resources(circuit)
    assert (found.t_count, found.two_qubit_gates) == (1, 1)


def test_multi_controlled_x_has_no_silent_t_count(english):
    """An mcx with three controls decomposes to π/8 rotations: a T-count limit names one."""
    circuit = QuantumCircuit(4)
    circuit.mcx([0, 1, 2], 3)
    found = count_resources(circuit)
    assert found.two_qubit_gates > 1 and found.rotations > 0
    with pytest.raises(CheckFailed, match=r"not defined.*rz\(-?π/8\)"):
        assert_resources(circuit, max_t_count=100)


def test_opaque_gate_cannot_be_counted(english):
    """A gate without a definition fails with the check's message, not a TranspilerError."""
    from qiskit.circuit import Gate

    circuit = QuantumCircuit(1)
    circuit.append(Gate("mystery", 1, []), [0])
    with pytest.raises(CheckFailed, match="could not be simulated"):
        count_resources(circuit)


def test_limit_message_states_the_basis(toffoli, english):
    """A limit failure says which gates the circuit was counted in."""
    with pytest.raises(CheckFailed, match="decomposing to: cx, h"):
        assert_resources(toffoli, max_two_qubit_gates=2)
