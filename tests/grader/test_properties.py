"""Property tests: random circuits and random models against the checks."""

from __future__ import annotations

import dimod
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit

from grader.circuits import assert_circuit_equivalent
from grader.errors import CheckFailed
from grader.optimisation import assert_bqm_equivalent

ONE_QUBIT = ["h", "x", "s", "t", "sx"]
ANGLE = st.floats(min_value=0.1, max_value=3.0)


@st.composite
def circuits(draw, min_qubits=2, max_qubits=4):
    """Draw a random circuit of H, X, S, T, SX, RZ and CX gates."""
    n = draw(st.integers(min_qubits, max_qubits))
    circuit = QuantumCircuit(n)
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from([*ONE_QUBIT, "rz", "cx"]))
        q = draw(st.integers(0, n - 1))
        if kind == "cx":
            t = draw(st.integers(0, n - 2))
            circuit.cx(q, t if t < q else t + 1)
        elif kind == "rz":
            circuit.rz(draw(ANGLE), q)
        else:
            getattr(circuit, kind)(q)
    return circuit


@settings(max_examples=40, deadline=None)
@given(circuits(), st.floats(-3.14, 3.14), st.randoms(use_true_random=False))
def test_relabelled_circuit_with_any_phase_is_equivalent(circuit, phase, rnd):
    """A circuit equals itself with a random global phase and a declared relabelling."""
    n = circuit.num_qubits
    qubit_map = list(range(n))
    rnd.shuffle(qubit_map)
    relabelled = QuantumCircuit(n, global_phase=phase)
    relabelled.compose(circuit, qubits=qubit_map, inplace=True)
    assert_circuit_equivalent(relabelled, circuit, qubit_map=qubit_map)


@settings(max_examples=40, deadline=None)
@given(circuits(), st.data())
def test_a_single_extra_gate_is_caught(circuit, data):
    """Inserting one non-identity gate anywhere makes the check fail."""
    n = circuit.num_qubits
    position = data.draw(st.integers(0, len(circuit.data)))
    gate = data.draw(st.sampled_from(["x", "h", "t", "cx"]))
    q = data.draw(st.integers(0, n - 1))
    extra = QuantumCircuit(n)
    if gate == "cx":
        extra.cx(q, (q + 1) % n)
    else:
        getattr(extra, gate)(q)
    changed = QuantumCircuit(n)
    for instruction in circuit.data[:position]:
        changed.append(instruction)
    changed.compose(extra, inplace=True)
    for instruction in circuit.data[position:]:
        changed.append(instruction)
    with pytest.raises(CheckFailed):
        assert_circuit_equivalent(changed, circuit)


BIAS = st.floats(min_value=-5, max_value=5, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def models(draw):
    """Draw a random binary or spin model on up to 8 variables."""
    n = draw(st.integers(2, 8))
    linear = {v: draw(BIAS) for v in range(n)}
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
                          .filter(lambda p: p[0] != p[1]), max_size=12))
    quadratic = {tuple(sorted(p)): draw(BIAS) for p in pairs}
    vartype = draw(st.sampled_from(["BINARY", "SPIN"]))
    return dimod.BinaryQuadraticModel(linear, quadratic, draw(BIAS), vartype)


@settings(max_examples=60, deadline=None)
@given(models(), BIAS)
def test_offset_change_is_equivalent(model, shift):
    """Adding a constant keeps a model equivalent, in either vartype."""
    shifted = model.copy()
    shifted.offset += shift
    assert_bqm_equivalent(shifted, model)
    assert_bqm_equivalent(shifted.change_vartype("SPIN" if model.vartype.name == "BINARY"
                                                 else "BINARY", inplace=False), model)


@settings(max_examples=60, deadline=None)
@given(models(), st.data(), st.floats(min_value=0.01, max_value=3))
def test_coefficient_change_is_caught(model, data, delta):
    """Changing one linear or quadratic bias makes the check fail."""
    changed = model.copy()
    terms = [("l", v) for v in model.variables] + [("q", (u, v)) for u, v, _ in
                                                    model.iter_quadratic()]
    kind, term = data.draw(st.sampled_from(terms))
    if kind == "l":
        changed.add_linear(term, delta)
    else:
        changed.add_quadratic(*term, delta)
    with pytest.raises(CheckFailed):
        assert_bqm_equivalent(changed, model)
