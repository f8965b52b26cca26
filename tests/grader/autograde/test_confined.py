"""Verdicts in a child process: over its memory or time, an item scores 0 and grading goes on."""

from __future__ import annotations

import os

import pytest
from qiskit import QuantumCircuit

from grader.autograde.confined import VerdictLimits, decide_confined
from grader.errors import GraderError
from grader.export import encode_answer
from grader.sandbox.limits import MiB
from grader.verdict import decide, key_item
from tests.grader.test_verdict import bell, wide

#: Small limits, so the attacks below reach them quickly.
LIMITS = VerdictLimits(memory_bytes=256 * MiB, seconds=3.0)


def _items(answer: QuantumCircuit, **limits: int) -> tuple[dict, dict]:
    """Return a key of two items, a Bell state (2 points) and *answer*'s item (1 point)."""
    raised = key_item("big", "state_close", bell(), 1, limits=limits)
    key = {"items": [key_item("bell", "state_close", bell(), 2), raised]}
    return key, {"bell": encode_answer(bell()), "big": encode_answer(answer)}


def test_a_verdict_within_the_limits_is_the_plain_verdict():
    """Confinement changes nothing for answers that fit."""
    key, answers = _items(bell(), qubits=16)
    assert decide_confined(key, answers, LIMITS) == decide(key, answers)


def test_a_verdict_over_the_memory_limit_scores_the_item_0():
    """26 qubits (a 1 GiB state vector) over a 256 MiB limit: that item 0, the other scored."""
    key, answers = _items(wide(26, 26), qubits=26, gates=100)
    verdict = decide_confined(key, answers, LIMITS)
    bell_item, big = verdict["items"]
    assert bell_item["points"] == 2.0
    assert big["points"] == 0.0 and verdict["score"] == 2.0
    assert "resource limit" in big["feedback"]["en"] and "256 MiB" in big["feedback"]["en"]
    assert "リソース制限" in big["feedback"]["ja"]


@pytest.mark.timeout(120)
def test_a_verdict_over_the_time_limit_is_stopped_and_scores_the_item_0():
    """The reported 22-qubit, 200-gate circuit, allowed by its key: stopped at the time limit."""
    key, answers = _items(wide(22, 200), qubits=22, gates=200)
    # Memory enough for 22 qubits (a 64 MiB state vector and its copies): time runs out first.
    verdict = decide_confined(key, answers, VerdictLimits(memory_bytes=2048 * MiB, seconds=3.0))
    bell_item, big = verdict["items"]
    assert bell_item["points"] == 2.0 and big["points"] == 0.0
    assert "resource limit" in big["feedback"]["en"] and "3 s" in big["feedback"]["en"]
    assert "リソース制限" in big["feedback"]["ja"]


def test_a_key_error_still_stops_grading():
    """An instructor's key error is raised in the grader, never scored as a learner's 0."""
    key, answers = _items(bell())
    key["items"][1]["limits"] = {"qubits": 0}
    with pytest.raises(GraderError, match="limits"):
        decide_confined(key, answers, LIMITS)


def _children() -> set[str]:
    with open(f"/proc/self/task/{os.getpid()}/children") as listing:
        return set(listing.read().split())


@pytest.mark.timeout(120)
def test_no_verdict_process_is_left_behind():
    """Every verdict child is reaped, the stopped ones included."""
    before = _children()
    for answer, limits in ((wide(26, 26), {"qubits": 26}), (wide(22, 200), {"qubits": 22})):
        decide_confined(*_items(answer, **limits), LIMITS)
    assert _children() == before
