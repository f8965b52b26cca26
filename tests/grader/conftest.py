"""Fixtures for the grader checks.

- ``english``: feedback in English whatever the machine's locale.
- ``bell``: the two-qubit Bell-state circuit ``H(0); CX(0, 1)``.
- ``small_bqm``: a three-variable binary model with a unique ground state.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Select English feedback."""
    monkeypatch.setenv("QCAMPUS_LANG", "en")


@pytest.fixture
def bell():
    """Return the Bell-state circuit."""
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    return circuit


@pytest.fixture
def small_bqm():
    """Return a binary model whose only ground state is a=0, b=1, c=1."""
    import dimod

    return dimod.BinaryQuadraticModel(
        {"a": 1.0, "b": -2.0, "c": -1.0}, {("a", "b"): 3.0, ("b", "c"): -1.0}, 0.5, "BINARY")
