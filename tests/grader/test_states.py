"""Tests of grader.states."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import DensityMatrix, Statevector

from grader.errors import CheckFailed, InvalidCheckError
from grader.states import (
    assert_bloch_vector,
    assert_observable_equivalent,
    assert_state_close,
    bloch_vector,
    fidelity,
)


def test_circuit_state_matches_amplitudes(bell):
    """A Bell circuit's state passes against its amplitudes, with any global phase."""
    assert_state_close(bell, np.exp(0.4j) * np.array([1, 0, 0, 1]) / np.sqrt(2))


def test_density_matrix_is_accepted(bell):
    """A density matrix of the right pure state passes."""
    assert_state_close(DensityMatrix(bell), bell)


def test_reversed_qubit_order_gets_a_hint(english):
    """A state with reversed qubit order fails with the little-endian hint."""
    learner = QuantumCircuit(2)
    learner.x(0)
    with pytest.raises(CheckFailed, match="qubit order reversed"):
        assert_state_close(learner, [0, 0, 1, 0])


def test_relative_phase_gets_a_hint(english):
    """|−⟩ against |+⟩ fails with the relative-phase hint."""
    minus = QuantumCircuit(1)
    minus.x(0)
    minus.h(0)
    with pytest.raises(CheckFailed, match="relative phases"):
        assert_state_close(minus, [1 / np.sqrt(2), 1 / np.sqrt(2)])


def test_tolerance_is_respected():
    """A state at fidelity 0.99 passes with min_fidelity 0.98 and fails the default."""
    theta = 2 * np.arccos(np.sqrt(0.99))
    tilted = QuantumCircuit(1)
    tilted.ry(theta, 0)
    assert_state_close(tilted, [1, 0], min_fidelity=0.98)
    with pytest.raises(CheckFailed):
        assert_state_close(tilted, [1, 0])


def test_bloch_vector_of_plus_state_and_failure(english):
    """|+⟩ has Bloch vector (1, 0, 0); claiming (0, 0, 1) fails with the distance."""
    plus = QuantumCircuit(1)
    plus.h(0)
    assert_bloch_vector(plus, [1, 0, 0])
    with pytest.raises(CheckFailed, match="off by 1.41"):
        assert_bloch_vector(plus, [0, 0, 1])


def test_entangled_qubit_has_short_bloch_vector(bell, english):
    """A qubit of a Bell pair has Bloch vector 0 and the mixed-state hint."""
    np.testing.assert_allclose(bloch_vector(bell, qubit=0), [0, 0, 0], atol=1e-12)
    with pytest.raises(CheckFailed, match="entangled or mixed"):
        assert_bloch_vector(bell, [0, 0, 1], qubit=1)


@pytest.mark.parametrize("vector", [[2, 0], [1, 1], [0.5, 0.5], [1e-3, 0]])
def test_unnormalised_vector_is_refused(vector, english):
    """A vector whose norm is not 1 fails as unnormalised, never as a fidelity above 1."""
    plus = QuantumCircuit(1)
    plus.h(0)
    for expected in (plus, [1, 0]):
        with pytest.raises(CheckFailed, match="norm") as failure:
            assert_state_close(vector, expected)
        assert "norm 1" in str(failure.value) and "np.linalg.norm" in str(failure.value)


def test_rounding_of_the_norm_is_accepted():
    """A vector normalised up to float32 rounding passes and is normalised exactly."""
    vector = (np.array([1, 1]) / np.sqrt(2)).astype(np.complex64)
    plus = QuantumCircuit(1)
    plus.h(0)
    assert_state_close(vector, plus)
    assert fidelity(vector * (1 + 5e-7), plus) <= 1.0


@pytest.mark.parametrize(("matrix", "problem"), [
    (np.array([[1, 1], [0, 0]]), "not Hermitian"),
    (np.eye(2), "trace is 2"),
    (np.array([[1.5, 0], [0, -0.5]]), "negative eigenvalue"),
])
def test_matrix_that_is_no_density_matrix_is_refused(matrix, problem, english):
    """Non-Hermitian, trace ≠ 1 and indefinite matrices fail, naming what is wrong."""
    with pytest.raises(CheckFailed, match=problem):
        assert_state_close(matrix, [1, 0])
    with pytest.raises(CheckFailed, match=problem):
        assert_bloch_vector(matrix, [0, 0, 1])


def test_unnormalised_statevector_object_is_refused(english):
    """A qiskit Statevector is checked too: Statevector([2, 0]) is not a state."""
    with pytest.raises(CheckFailed, match="norm 2"):
        assert_state_close(Statevector([2, 0]), [1, 0])
    with pytest.raises(CheckFailed, match="norm 2"):
        assert_bloch_vector(Statevector([2, 0]), [0, 0, 1])


def test_unnormalised_reference_is_the_instructors_error():
    """An unnormalised expected state raises InvalidCheckError in both languages."""
    with pytest.raises(InvalidCheckError, match="(?s)expected state.*norm 2.*期待される状態"):
        assert_state_close([1, 0], [2, 0])


HAMILTONIAN = [("ZZ", 1.0), ("XI", 0.5)]


def test_observable_in_any_form_matches(english):
    """A matrix, an Operator, a list of terms and a SparsePauliOp of one Hamiltonian are equal."""
    from qiskit.quantum_info import Operator, SparsePauliOp

    reference = SparsePauliOp.from_list(HAMILTONIAN)
    for form in (reference.to_matrix(), Operator(reference.to_matrix()), HAMILTONIAN[::-1]):
        assert_observable_equivalent(form, reference)
    assert_observable_equivalent(reference + SparsePauliOp("II", 3.0), HAMILTONIAN,
                                 up_to_constant=True)


def test_differing_pauli_term_is_named_with_both_coefficients(english):
    """A wrong coefficient names its Pauli term; a reversed qubit order gets the hint."""
    with pytest.raises(CheckFailed, match="Pauli term ZZ") as failure:
        assert_observable_equivalent([("ZZ", 2.0), ("XI", 0.5)], HAMILTONIAN)
    assert "Expected: 1" in str(failure.value) and "Found: 2" in str(failure.value)
    with pytest.raises(CheckFailed, match="qubit order reversed"):
        assert_observable_equivalent([("ZZ", 1.0), ("IX", 0.5)], HAMILTONIAN)


def test_non_hermitian_matrix_is_no_observable(english):
    """A matrix that is not Hermitian fails as no observable."""
    with pytest.raises(CheckFailed, match="not Hermitian"):
        assert_observable_equivalent([[0, 1], [0, 0]], [("Z", 1.0)])
