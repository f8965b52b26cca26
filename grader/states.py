"""Check quantum states: fidelity with a reference, and Bloch vectors.

The fidelity of states :math:`\\rho` and :math:`\\sigma` is
:math:`F(\\rho, \\sigma) = \\left(\\operatorname{tr}\\sqrt{\\sqrt{\\rho}\\,\\sigma\\sqrt{\\rho}}\\right)^2`,
which is :math:`|\\langle\\psi|\\phi\\rangle|^2` for pure states; it ignores
global phase. A single qubit's Bloch vector is
:math:`\\vec r = (\\langle X\\rangle, \\langle Y\\rangle, \\langle Z\\rangle)`
with :math:`\\rho = (I + \\vec r\\cdot\\vec\\sigma)/2`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grader.errors import CheckFailed, InvalidCheckError
from grader.feedback import Feedback, Message
from grader.kets import write_ket

_LOW_FIDELITY = Message(
    "Your state has fidelity {fidelity:.6f} with the expected state; at least {threshold} is needed.",
    "あなたの状態と期待される状態の忠実度は {fidelity:.6f} です。{threshold} 以上が必要です。",
)
_REVERSED_HINT = Message(
    "Your state matches the expected one with the qubit order reversed: "
    "Qiskit puts qubit 0 rightmost.",
    "量子ビットの順序を逆にすると一致します。Qiskit では量子ビット 0 が右端です。",
)
_PHASE_HINT = Message(
    "The measurement probabilities match: look at the relative phases.",
    "測定確率は一致しています。相対位相を確認してください。",
)
_WIDTH = Message(
    "Your state has {found} qubits; the expected state has {expected}.",
    "あなたの状態は {found} 量子ビットですが、期待される状態は {expected} 量子ビットです。",
)
_BLOCH = Message(
    "Your qubit's Bloch vector is off by {distance:.4g} (allowed: {atol}).",
    "ブロッホベクトルのずれが {distance:.4g} です（許容範囲 {atol}）。",
)
_MIXED_HINT = Message(
    "Its length is {length:.3f} < 1: the qubit is entangled or mixed.",
    "長さが {length:.3f} < 1 です。量子ビットがもつれているか混合状態です。",
)


def as_state(state: Any) -> Any:
    """Return a Qiskit ``Statevector`` or ``DensityMatrix`` for ``state``.

    Args:
        state: A ``Statevector``, ``DensityMatrix``, measurement-free
            ``QuantumCircuit`` (run from :math:`|0\\ldots0\\rangle`), a 1-D
            amplitude array or a 2-D density matrix.

    Returns:
        The state as a ``qiskit.quantum_info`` object.
    """
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import DensityMatrix, Statevector

    if isinstance(state, Statevector | DensityMatrix):
        return state
    if isinstance(state, QuantumCircuit):
        return Statevector(state.remove_final_measurements(inplace=False))
    array = np.asarray(state, dtype=complex)
    return Statevector(array) if array.ndim == 1 else DensityMatrix(array)


def fidelity(actual: Any, expected: Any) -> float:
    """Return the fidelity :math:`F` of two states (any form :func:`as_state` takes)."""
    from qiskit.quantum_info import state_fidelity

    return float(state_fidelity(as_state(actual), as_state(expected), validate=False))


def assert_state_close(actual: Any, expected: Any, *, min_fidelity: float = 1 - 1e-6) -> None:
    """Assert that a learner's state has fidelity at least ``min_fidelity`` with a reference.

    Args:
        actual: The learner's state (any form :func:`as_state` takes).
        expected: The reference state.
        min_fidelity: Smallest fidelity that passes; ``1 - 1e-6`` by default
            allows rounding but no physical difference.

    Raises:
        CheckFailed: The fidelity is below ``min_fidelity``; the message shows
            both states and a hint when the qubit order is reversed or only
            relative phases differ.
        InvalidCheckError: ``min_fidelity`` is not in ``(0, 1]``.
    """
    if not 0 < min_fidelity <= 1:
        raise InvalidCheckError(f"min_fidelity must be in (0, 1], got {min_fidelity}")
    found, reference = as_state(actual), as_state(expected)
    if found.num_qubits != reference.num_qubits:
        raise CheckFailed(Feedback(_WIDTH, values={
            "found": found.num_qubits, "expected": reference.num_qubits}))
    value = fidelity(found, reference)
    if value >= min_fidelity:
        return
    hint = None
    if found.num_qubits > 1 and fidelity(found.reverse_qargs(), reference) >= min_fidelity:
        hint = _REVERSED_HINT
    elif np.allclose(found.probabilities(), reference.probabilities(), atol=1e-6):
        hint = _PHASE_HINT
    n = found.num_qubits
    raise CheckFailed(Feedback(
        _LOW_FIDELITY,
        expected=_describe(reference, n), found=_describe(found, n), hint=hint,
        values={"fidelity": value, "threshold": min_fidelity},
    ))


def _describe(state: Any, num_qubits: int) -> str:
    from qiskit.quantum_info import Statevector

    if isinstance(state, Statevector):
        return write_ket(state.data, num_qubits)
    return "ρ with diagonal " + write_ket(np.real(np.diag(state.data)), num_qubits)


def bloch_vector(state: Any, qubit: int | None = None) -> np.ndarray:
    """Return the Bloch vector :math:`(\\langle X\\rangle, \\langle Y\\rangle, \\langle Z\\rangle)`.

    Args:
        state: A single-qubit state, or a multi-qubit state with ``qubit``.
        qubit: Which qubit to reduce to (the others are traced out).

    Returns:
        A length-3 real array of norm at most 1.

    Raises:
        InvalidCheckError: A multi-qubit state was given without ``qubit``.
    """
    from qiskit.quantum_info import DensityMatrix, partial_trace

    found = as_state(state)
    if found.num_qubits != 1:
        if qubit is None:
            raise InvalidCheckError("a multi-qubit state needs the qubit to reduce to")
        others = [q for q in range(found.num_qubits) if q != qubit]
        rho = partial_trace(found, others).data
    else:
        rho = DensityMatrix(found).data
    return np.array([
        2 * np.real(rho[0, 1]),
        2 * np.imag(rho[1, 0]),
        np.real(rho[0, 0] - rho[1, 1]),
    ])


def assert_bloch_vector(
    state: Any, expected: Sequence[float], *, qubit: int | None = None, atol: float = 1e-6
) -> None:
    """Assert that a qubit's Bloch vector is within ``atol`` (Euclidean) of ``expected``.

    Args:
        state: The learner's state (any form :func:`as_state` takes).
        expected: The expected vector :math:`(x, y, z)`.
        qubit: For multi-qubit states, the qubit to check.
        atol: Largest allowed Euclidean distance.

    Raises:
        CheckFailed: The vectors differ; a hint says when the found vector is
            shorter than 1 (entangled or mixed).
    """
    found = bloch_vector(state, qubit)
    target = np.asarray(expected, dtype=float)
    distance = float(np.linalg.norm(found - target))
    if distance <= atol:
        return
    length = float(np.linalg.norm(found))
    raise CheckFailed(Feedback(
        _BLOCH,
        expected=_vector(target), found=_vector(found),
        hint=_MIXED_HINT if length < np.linalg.norm(target) - atol else None,
        values={"distance": distance, "atol": atol, "length": length},
    ))


def _vector(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{x:.4g}" for x in (v + 0.0)) + ")"
