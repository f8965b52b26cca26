"""Verdict size limits: a circuit over an item's limits is refused before it is simulated."""

from __future__ import annotations

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
