"""Tests of grader.circuits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit.library import QFTGate

from grader.circuits import _distinguishing_input, assert_circuit_equivalent
from grader.errors import CheckFailed, InvalidCheckError


def _failure(actual, expected) -> str:
    """Return the message of the check failing on ``actual`` against ``expected``."""
    with pytest.raises(CheckFailed) as failure:
        assert_circuit_equivalent(actual, expected)
    return str(failure.value)


def test_same_circuit_passes(bell):
    """A circuit is equivalent to itself."""
    assert_circuit_equivalent(bell.copy(), bell)


def test_global_phase_is_allowed_by_default(bell):
    """A circuit with an extra global phase passes the default check."""
    shifted = bell.copy()
    shifted.global_phase = 1.1
    assert_circuit_equivalent(shifted, bell)


def test_strict_check_names_the_global_phase(bell, english):
    """The strict variant fails on a global phase and reports its angle."""
    shifted = bell.copy()
    shifted.global_phase = 1.1
    with pytest.raises(CheckFailed, match=r"global phase of e\^\(i·1.1\)"):
        assert_circuit_equivalent(shifted, bell, up_to_global_phase=False)


def test_wrong_gate_gives_a_counterexample(bell, english):
    """A different circuit fails, naming an input basis state and both outputs."""
    wrong = QuantumCircuit(2)
    wrong.h(0)
    wrong.cz(0, 1)
    text = _failure(wrong, bell)
    assert "differ on the input |" in text
    assert "Expected:" in text and "Found:" in text


def test_relabelled_qubits_pass_with_the_declared_map(bell):
    """Using qubit 1 as the control passes when the relabelling is declared."""
    swapped = QuantumCircuit(2)
    swapped.h(1)
    swapped.cx(1, 0)
    with pytest.raises(CheckFailed):
        assert_circuit_equivalent(swapped, bell)
    assert_circuit_equivalent(swapped, bell, qubit_map=[1, 0])


def test_output_permutation_accepts_a_qft_without_swaps():
    """A QFT without its final swaps matches the QFT under the reversing permutation."""
    reference = QuantumCircuit(3)
    reference.append(QFTGate(3), [0, 1, 2])
    learner = reference.copy()
    learner.swap(0, 2)
    with pytest.raises(CheckFailed):
        assert_circuit_equivalent(learner, reference)
    assert_circuit_equivalent(learner, reference, output_permutation=[2, 1, 0])


def test_clean_ancilla_passes_and_dirty_ancilla_fails(bell, english):
    """An uncomputed ancilla passes; one left entangled is reported."""
    clean = QuantumCircuit(3)
    clean.h(0)
    clean.cx(0, 2)
    clean.cx(2, 1)
    clean.cx(0, 2)
    assert_circuit_equivalent(clean, bell, ancillas=[2])
    dirty = clean.copy()
    dirty.data.pop()
    with pytest.raises(CheckFailed, match="Ancilla qubit"):
        assert_circuit_equivalent(dirty, bell, ancillas=[2])


def test_undeclared_extra_qubit_fails(bell, english):
    """A circuit on more qubits than expected fails unless the extras are ancillas."""
    wide = QuantumCircuit(3)
    wide.compose(bell, [0, 1], inplace=True)
    with pytest.raises(CheckFailed, match="acts on 3 qubits"):
        assert_circuit_equivalent(wide, bell)


@pytest.fixture
def measured_midway():
    """Return H(0); measure qubit 0; CX(0, 1): a circuit without a unitary."""
    mid = QuantumCircuit(2, 1)
    mid.h(0)
    mid.measure(0, 0)
    mid.cx(0, 1)
    return mid


def test_final_measurements_are_ignored_but_midcircuit_ones_fail(bell, measured_midway, english):
    """Final measurements are stripped; a measurement before a gate fails the check."""
    measured = bell.measure_all(inplace=False)
    assert_circuit_equivalent(measured, bell)
    with pytest.raises(CheckFailed, match="measure"):
        assert_circuit_equivalent(measured_midway, bell)


def test_inconsistent_declaration_is_an_instructor_error(bell):
    """A qubit map that repeats a qubit is rejected as an invalid check."""
    with pytest.raises(InvalidCheckError):
        assert_circuit_equivalent(bell, bell, qubit_map=[0, 0])


def test_japanese_feedback(bell, monkeypatch):
    """With QCAMPUS_LANG=ja the failure message is Japanese."""
    monkeypatch.setenv("QCAMPUS_LANG", "ja")
    with pytest.raises(CheckFailed, match="入力"):
        assert_circuit_equivalent(QuantumCircuit(2), bell)


def test_a_phase_on_one_basis_state_of_eight_qubits_is_caught(english):
    """A controlled phase of 0.01 rad touching only |11111111⟩ is caught and located."""
    reference = QuantumCircuit(8)
    reference.h(range(8))
    changed = reference.copy()
    changed.mcp(0.01, list(range(7)), 7)
    with pytest.raises(CheckFailed, match="differ on the input"):
        assert_circuit_equivalent(changed, reference)


def test_missing_return_is_reported(bell, english):
    """A function that forgot to return gives None, reported with a hint."""
    with pytest.raises(CheckFailed, match="missing `return`"):
        assert_circuit_equivalent(None, bell)


@pytest.mark.parametrize("operation", ["initialize", "reset"])
def test_initialize_or_reset_is_named_not_a_qiskit_error(bell, operation, english):
    """A circuit with initialize or a reset fails naming the operation, not with QiskitError."""
    learner = QuantumCircuit(2)
    learner.h(0)
    if operation == "initialize":
        learner.initialize([0, 1], 1)
    else:
        learner.reset(1)
    learner.cx(0, 1)
    with pytest.raises(CheckFailed, match=f"contains '{operation}'"):
        assert_circuit_equivalent(learner, bell)


def test_unbound_parameters_and_opaque_gates_are_named(bell, english):
    """Unbound parameters and gates without a definition fail with the check's own message."""
    from qiskit.circuit import Gate, Parameter

    free = QuantumCircuit(2)
    free.rx(Parameter("theta"), 0)
    with pytest.raises(CheckFailed, match="without values: theta"):
        assert_circuit_equivalent(free, bell)
    opaque = QuantumCircuit(2)
    opaque.append(Gate("mystery", 1, []), [0])
    with pytest.raises(CheckFailed, match="could not be simulated"):
        assert_circuit_equivalent(opaque, bell)


def test_reference_that_is_no_unitary_is_the_instructors_error(bell, measured_midway):
    """A reference that measures mid-circuit, or a non-unitary matrix, raises InvalidCheckError."""
    with pytest.raises(InvalidCheckError, match="reference circuit"):
        assert_circuit_equivalent(bell, measured_midway)
    with pytest.raises(InvalidCheckError, match="unitary matrix"):
        assert_circuit_equivalent(QuantumCircuit(1), [[1, 1], [0, 1]])


def test_s_against_sdg_names_an_input_that_tells_them_apart(english):
    """S vs S† is shown on |+⟩, whose outputs differ observably, not on |1⟩ (a global phase)."""
    s_gate, s_dagger = QuantumCircuit(1), QuantumCircuit(1)
    s_gate.s(0)
    s_dagger.sdg(0)
    text = _failure(s_gate, s_dagger)
    assert "on the input |+⟩ = (|0⟩ + |1⟩)/√2" in text
    assert "Expected: 0.707|0⟩ − 0.707j|1⟩" in text and "Found: 0.707|0⟩ + 0.707j|1⟩" in text


def test_relative_phase_on_two_qubits_is_shown_on_a_superposition(english):
    """CZ against the identity differs only in phases of basis states: a superposition shows it."""
    cz = QuantumCircuit(2)
    cz.cz(0, 1)
    with pytest.raises(CheckFailed, match=r"input \(\|00⟩ \+ \|11⟩\)/√2"):
        assert_circuit_equivalent(cz, QuantumCircuit(2))


def _haar_unitary(rng, dim):
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3), st.integers(0, 2**32 - 1), st.booleans())
def test_the_named_input_always_distinguishes(qubits, seed, phases_only):
    """Whatever the two unitaries differ by, the named input's outputs have fidelity below 1."""
    rng = np.random.default_rng(seed)
    dim = 2**qubits
    expected = _haar_unitary(rng, dim)
    if phases_only:
        angles = rng.uniform(0, 2 * np.pi, dim)
        angles[rng.integers(dim)] += 0.5  # never all equal
        found = expected * np.exp(1j * angles)
    else:
        found = _haar_unitary(rng, dim)
    _, vector = _distinguishing_input(found, expected, 1e-8, qubits)
    fidelity = abs(np.vdot(expected @ vector, found @ vector)) ** 2
    assert fidelity < 1 - 1e-6


def test_parametrised_circuits_compare_at_sampled_values(english):
    """H·Rz(θ)·H equals Rx(θ) for every θ; Ry(θ) fails, naming θ's value and the seed."""
    from qiskit.circuit import Parameter

    reference = QuantumCircuit(1)
    reference.rx(Parameter("theta"), 0)
    learner = QuantumCircuit(1)
    learner.h(0)
    learner.rz(Parameter("theta"), 0)
    learner.h(0)
    assert_circuit_equivalent(learner, reference)
    wrong = QuantumCircuit(1)
    wrong.ry(Parameter("theta"), 0)
    with pytest.raises(CheckFailed, match=r"At the parameter values theta = \d\.\d{4} \(seed 1234\)"):
        assert_circuit_equivalent(wrong, reference)
    with pytest.raises(CheckFailed, match="parameters are -; the task's are theta"):
        assert_circuit_equivalent(QuantumCircuit(1), reference)


def _verdict(actual, expected, **options) -> tuple[str, str] | None:
    """Return a check's failure text in both languages, or None when it passes."""
    try:
        assert_circuit_equivalent(actual, expected, **options)
    except CheckFailed as failure:
        return failure.feedback.text("en"), failure.feedback.text("ja")
    return None


def test_a_failure_names_the_seed_of_its_random_inputs(bell):
    """A failing check names its fresh seed in both languages; seed= replays the same message."""
    import re

    wrong = QuantumCircuit(2)
    wrong.h(0)
    wrong.cz(0, 1)
    en, ja = _verdict(wrong, bell)
    seed = int(re.search(r"seed=(\d+)", en).group(1))
    assert f"seed={seed}" in ja
    assert _verdict(wrong, bell, seed=seed) == (en, ja)
    assert _verdict(wrong, bell) != (en, ja)  # a fresh seed per call, not predictable


def test_a_seed_reproduces_a_verdict_at_the_tolerance_edge():
    """Where random inputs may miss a difference just over atol, each seed replays its verdict."""
    nudged = QuantumCircuit(1)
    nudged.p(1.2e-3, 0)
    options = {"atol": 1e-3, "up_to_global_phase": False}
    verdicts = {seed: _verdict(nudged, QuantumCircuit(1), seed=seed, **options)
                for seed in range(40)}
    assert {v is None for v in verdicts.values()} == {True, False}
    for seed, verdict in verdicts.items():
        assert _verdict(nudged, QuantumCircuit(1), seed=seed, **options) == verdict
