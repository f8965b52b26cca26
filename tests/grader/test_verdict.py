"""Verdict size limits: a circuit over an item's limits is refused before it is simulated."""

from __future__ import annotations

import json

import pytest
from qiskit import QuantumCircuit

from grader.export import encode_answer
from grader.verdict import DEFAULT_LIMITS, decide, key_item


def bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    return circuit


def wide(qubits: int, gates: int) -> QuantumCircuit:
    """Return a circuit of *qubits* qubits and *gates* gates (Hadamards, then CNOTs)."""
    circuit = QuantumCircuit(qubits)
    for number in range(gates):
        if number % 2:
            circuit.cx(number % (qubits - 1), qubits - 1)
        else:
            circuit.h(number % qubits)
    return circuit


def verdict_on(answer: QuantumCircuit, **limits: int) -> dict:
    item = key_item("bell", "state_close", bell(), 2, limits=limits or None)
    verdict = decide({"items": [item]}, {"bell": encode_answer(answer)})
    return verdict["items"][0]


def test_the_reported_circuit_is_refused_by_its_qubits():
    """22 qubits and 200 gates (29 s of simulation when reported) score 0, naming the limit."""
    item = verdict_on(wide(22, 200))
    assert item["points"] == 0.0
    cap = DEFAULT_LIMITS["qubits"]
    assert "22 qubits" in item["feedback"]["en"] and f"at most {cap}" in item["feedback"]["en"]
    assert "22" in item["feedback"]["ja"] and f"{cap}" in item["feedback"]["ja"]
    assert "量子ビット" in item["feedback"]["ja"]


def test_gates_over_the_default_limit_are_refused():
    """A narrow circuit with more gates than the default limit is refused, naming the limit."""
    cap = DEFAULT_LIMITS["gates"]
    item = verdict_on(wide(2, cap + 2))
    assert item["points"] == 0.0
    assert f"{cap + 2} gates" in item["feedback"]["en"] and f"at most {cap}" in item["feedback"]["en"]
    assert "ゲート" in item["feedback"]["ja"]


@pytest.mark.parametrize(("limits", "named"), [({"qubits": 3}, "at most 3"),
                                              ({"gates": 5}, "at most 5")])
def test_the_keys_own_limits_apply(limits, named):
    """An item's own limits are what a learner's circuit is held to."""
    item = verdict_on(wide(4, 8), **limits)
    assert item["points"] == 0.0
    assert named in item["feedback"]["en"]


def test_answers_within_the_limits_are_checked_as_before():
    """A right answer within the limits still scores, and a wrong one fails on its merits."""
    assert verdict_on(bell())["points"] == 2.0
    wrong = verdict_on(wide(2, 3))
    assert wrong["points"] == 0.0 and "fidelity" in wrong["feedback"]["en"]


def test_a_key_with_bad_limits_is_refused():
    """Limits that are not positive whole numbers are a key error, not a learner's 0."""
    from grader.errors import GraderError

    item = key_item("bell", "state_close", bell(), 2)
    item["limits"] = {"qubits": -1}
    with pytest.raises(GraderError, match="limits"):
        decide({"items": [item]}, {"bell": encode_answer(bell())})


HAMILTONIAN = [("ZZ", 1.0), ("XI", 0.5)]


def observable_verdict(answer, **limits: int) -> dict:
    from qiskit.quantum_info import SparsePauliOp

    item = key_item("energy", "observable_equivalent", SparsePauliOp.from_list(HAMILTONIAN), 1,
                    limits=limits or None)
    exported = json.loads(json.dumps(encode_answer(answer)))
    return decide({"items": [item]}, {"energy": exported})["items"][0]


def test_observable_travels_as_pauli_terms():
    """A SparsePauliOp exports as [label, real, imag] terms and decodes to the same operator."""
    from qiskit.quantum_info import SparsePauliOp

    from grader.verdict import decode

    observable = SparsePauliOp.from_list([("ZZ", 1.0), ("XY", 0.5 + 0.25j)])
    payload = json.loads(json.dumps(encode_answer(observable)))
    assert payload == {"type": "observable", "terms": [["ZZ", 1.0, 0.0], ["XY", 0.5, 0.25]]}
    assert decode(payload).equiv(observable)


@pytest.mark.parametrize("answer", ["sparse", "terms", "matrix"])
def test_a_right_observable_passes_by_verdict(answer):
    """The same Hamiltonian as a SparsePauliOp, a list of terms or a matrix earns the points."""
    from qiskit.quantum_info import SparsePauliOp

    reference = SparsePauliOp.from_list(HAMILTONIAN)
    value = {"sparse": reference.simplify(), "terms": [("XI", 0.5), ("ZZ", 1.0)],
             "matrix": reference.to_matrix()}[answer]
    item = observable_verdict(value)
    assert item["points"] == 1.0 and item["feedback"] is None


def test_a_wrong_observable_fails_by_verdict_naming_the_term():
    """A differing coefficient scores 0 and the feedback names the Pauli term in both languages."""
    from qiskit.quantum_info import SparsePauliOp

    item = observable_verdict(SparsePauliOp.from_list([("ZZ", 2.0), ("XI", 0.5)]))
    assert item["points"] == 0.0
    assert "ZZ" in item["feedback"]["en"] and "ZZ" in item["feedback"]["ja"]


def test_a_wrong_kind_of_observable_scores_zero_with_a_message():
    """A number where an observable belongs scores 0 with a learner message, not a key error."""
    item = observable_verdict(3)
    assert item["points"] == 0.0
    assert "SparsePauliOp" in item["feedback"]["en"] and "オブザーバブル" in item["feedback"]["ja"]


def test_an_observable_over_the_qubit_limit_is_refused():
    """An observable on more qubits than the item allows scores 0, naming the limit."""
    from qiskit.quantum_info import SparsePauliOp

    cap = DEFAULT_LIMITS["qubits"]
    item = observable_verdict(SparsePauliOp("Z" * (cap + 1)))
    assert item["points"] == 0.0
    assert f"{cap + 1} qubits" in item["feedback"]["en"] and f"at most {cap}" in item["feedback"]["en"]
    assert "量子ビット" in item["feedback"]["ja"]
    assert observable_verdict(SparsePauliOp("ZZZ"), qubits=2)["points"] == 0.0


@pytest.mark.parametrize("terms", [
    [["ZQ", 1.0, 0.0]],                       # not a Pauli label
    [["ZZ", 1.0, 0.0], ["Z", 1.0, 0.0]],      # labels of different lengths
    [["ZZ", "1", 0.0]],                       # not a number
    [["Z" * 40, 1.0, 0.0]],                   # over the verdict's qubit cap
    "ZZ",
])
def test_malformed_observable_payloads_score_zero(terms):
    """A forged observable payload is refused as unreadable and scores 0."""
    from qiskit.quantum_info import SparsePauliOp

    item = key_item("energy", "observable_equivalent", SparsePauliOp("ZZ"), 1)
    verdict = decide({"items": [item]}, {"energy": {"type": "observable", "terms": terms}})
    assert verdict["score"] == 0.0 and "could not be read" in verdict["items"][0]["feedback"]["en"]


def test_observable_equivalent_is_public():
    """grader exports assert_observable_equivalent lazily, like the other checks."""
    import grader
    from grader.states import assert_observable_equivalent

    assert "assert_observable_equivalent" in grader.__all__
    assert grader.assert_observable_equivalent is assert_observable_equivalent
