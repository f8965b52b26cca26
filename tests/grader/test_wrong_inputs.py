"""Every public check answers any wrong value with its own failure, never a traceback.

Hypothesis feeds each argument a learner controls arbitrary values (None,
numbers, text, lists, dicts, arrays of any shape, and circuits a check cannot
use); the check must pass or raise ``CheckFailed`` whose message reads in
English and Japanese. Wrong instructor arguments raise ``InvalidCheckError``.
"""

from __future__ import annotations

import re

import dimod
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from qiskit import QuantumCircuit
from qiskit.circuit import Gate, Parameter
from qiskit.quantum_info import Operator, Statevector

import grader
from grader.errors import CheckFailed, GraderError, InvalidCheckError
from grader.states import assert_observable_equivalent


def _circuits() -> list:
    """Return circuits some check cannot use: mid-circuit measurement, initialize, …"""
    mid = QuantumCircuit(2, 1)
    mid.h(0)
    mid.measure(0, 0)
    mid.cx(0, 1)
    prepared = QuantumCircuit(2)
    prepared.h(0)
    prepared.initialize([0, 1], 1)
    later = QuantumCircuit(2)
    later.h(0)
    later.reset(0)
    free = QuantumCircuit(2)
    free.rx(Parameter("θ"), 0)
    opaque = QuantumCircuit(2)
    opaque.append(Gate("mystery", 1, []), [0])
    empty = QuantumCircuit(0)
    wide = QuantumCircuit(3)
    wide.h(range(3))
    return [mid, prepared, later, free, opaque, empty, wide]


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
    st.complex_numbers(max_magnitude=1e6), st.text(max_size=8), st.binary(max_size=4))
ARRAYS = hnp.arrays(
    st.sampled_from([np.float64, np.complex128, np.int64, np.bool_, np.float32]),
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
OBJECTS = st.sampled_from([
    *_circuits(), Operator(np.eye(2)), Statevector([1, 0, 0]), object(), len,
    dimod.BinaryQuadraticModel({"z": 1}, {}, 0, "SPIN"), np.float64(0.3), np.int64(3),
    dimod.SampleSet.from_samples([], "BINARY", energy=[]),
    dimod.SampleSet.from_samples([{"a": 0, "b": 3, "c": 1}], "BINARY", energy=[0]),
])
WRONG = st.one_of(
    SCALARS, ARRAYS, OBJECTS,
    st.lists(st.one_of(SCALARS, OBJECTS), max_size=5),
    st.tuples(SCALARS, SCALARS), st.tuples(SCALARS, SCALARS, SCALARS),
    st.dictionaries(st.one_of(st.text(max_size=3), st.integers(-3, 9), st.tuples(
        st.text(max_size=2), st.text(max_size=2))), st.one_of(SCALARS, OBJECTS), max_size=4),
)


def _bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    return circuit


def _model() -> dimod.BinaryQuadraticModel:
    return dimod.BinaryQuadraticModel({"a": 1.0, "b": -2.0, "c": -1.0},
                                      {("a", "b"): 3.0, ("b", "c"): -1.0}, 0.5, "BINARY")


#: Each public check with valid instructor arguments, called on one learner value.
LEARNER_CALLS = {
    "assert_circuit_equivalent": lambda x: grader.assert_circuit_equivalent(x, _bell()),
    "assert_state_close": lambda x: grader.assert_state_close(x, _bell()),
    "assert_bloch_vector": lambda x: grader.assert_bloch_vector(x, [0, 0, 1]),
    "assert_bloch_vector(qubit)": lambda x: grader.assert_bloch_vector(x, [0, 0, 0], qubit=1),
    "fidelity": lambda x: grader.fidelity(x, [1, 0]),
    "bloch_vector": lambda x: grader.bloch_vector(x),
    "assert_distribution": lambda x: grader.assert_distribution(x, {"00": 0.5, "11": 0.5}),
    "assert_resources": lambda x: grader.assert_resources(x, max_two_qubit_gates=1),
    "assert_resources(basis)": lambda x: grader.assert_resources(
        x, max_t_count=1, basis_gates=["h", "t", "tdg", "cx"]),
    "score_resources": lambda x: grader.score_resources(x, {"depth": [(2, 1.0), (4, 0.5)]}),
    "assert_gate_set": lambda x: grader.assert_gate_set(x, ["h", "cx"]),
    "count_resources": lambda x: grader.count_resources(x),
    "assert_bqm_equivalent": lambda x: grader.assert_bqm_equivalent(x, _model()),
    "assert_feasible": lambda x: grader.assert_feasible(
        x, {"one": {"linear": {"a": 1, "b": 1}, "quadratic": [["b", "c", 1]], "rhs": 1}}),
    "assert_optimal": lambda x: grader.assert_optimal(x, _model()),
    "assert_success_probability": lambda x: grader.assert_success_probability(
        x, _model(), min_probability=0.5, num_reads=20),
    "assert_number": lambda x: grader.assert_number(x, 5, unit="GHz"),
    "assert_observable_equivalent": lambda x: assert_observable_equivalent(x, [("ZZ", 1.0)]),
    "assert_answer": lambda x: grader.assert_answer(x, {"costs": [1.0, 2.5], "choice": {"a"}}),
}

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _fails_clearly(call, value) -> None:
    try:
        call(value)
    except CheckFailed as failure:
        english, japanese = failure.feedback.text("en"), failure.feedback.text("ja")
        assert english and english != japanese, english
        assert len(JAPANESE.findall(japanese)) > len(JAPANESE.findall(english)), japanese


@pytest.mark.parametrize("check", sorted(LEARNER_CALLS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=WRONG)
def test_any_learner_value_gets_the_checks_own_failure(check, value):
    """Whatever the learner hands in, the check passes or fails with a bilingual message."""
    _fails_clearly(LEARNER_CALLS[check], value)


@pytest.mark.parametrize("check", sorted(LEARNER_CALLS))
@pytest.mark.parametrize("value", [None, "my answer", [1, 2, 3], np.zeros((3, 3)), *_circuits()],
                         ids=lambda v: type(v).__name__)
def test_named_wrong_values_fail_saying_what_was_found(check, value):
    """None, text, lists, wrong-sized arrays and unusable circuits fail with the check's own message."""
    if check in ("assert_answer",) or (isinstance(value, QuantumCircuit) and "resources" in check):
        _fails_clearly(LEARNER_CALLS[check], value)
        return
    if isinstance(value, QuantumCircuit) and check in ("assert_gate_set", "count_resources"):
        _fails_clearly(LEARNER_CALLS[check], value)
        return
    with pytest.raises(CheckFailed):
        LEARNER_CALLS[check](value)
    _fails_clearly(LEARNER_CALLS[check], value)


#: Each check with a valid learner answer, called on one instructor value.
INSTRUCTOR_CALLS = {
    "assert_circuit_equivalent": lambda x: grader.assert_circuit_equivalent(_bell(), x),
    "assert_state_close": lambda x: grader.assert_state_close(_bell(), x),
    "assert_bloch_vector": lambda x: grader.assert_bloch_vector([1, 0], x),
    "assert_distribution": lambda x: grader.assert_distribution(_bell(), x),
    "score_resources": lambda x: grader.score_resources(_bell(), x),
    "assert_bqm_equivalent": lambda x: grader.assert_bqm_equivalent(_model(), x),
    "assert_feasible": lambda x: grader.assert_feasible({"a": 1}, x),
    "assert_optimal": lambda x: grader.assert_optimal({"a": 0, "b": 1, "c": 1}, x),
    "assert_success_probability": lambda x: grader.assert_success_probability(
        {"num_sweeps": 10}, x, min_probability=0.5, num_reads=20),
    "assert_number": lambda x: grader.assert_number(5, x),
    "assert_observable_equivalent": lambda x: assert_observable_equivalent("ZZ", x),
}


@pytest.mark.parametrize("check", sorted(INSTRUCTOR_CALLS))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=WRONG)
def test_any_instructor_value_raises_only_grader_errors(check, value):
    """A wrong reference raises a GraderError (the instructor's), never a raw library error."""
    try:
        INSTRUCTOR_CALLS[check](value)
    except GraderError:
        pass


@pytest.mark.parametrize("check", sorted(INSTRUCTOR_CALLS))
@pytest.mark.parametrize("value", [None, "reference", [1, 2, 3]], ids=repr)
def test_missing_or_wrong_reference_is_the_instructors_error(check, value):
    """A missing reference (None), text or a list of the wrong shape raises InvalidCheckError."""
    with pytest.raises(InvalidCheckError) as error:
        INSTRUCTOR_CALLS[check](value)
    assert str(error.value)
