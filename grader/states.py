"""Check quantum states: fidelity with a reference, and Bloch vectors.

The fidelity of states :math:`\\rho` and :math:`\\sigma` is
:math:`F(\\rho, \\sigma) = \\left(\\operatorname{tr}\\sqrt{\\sqrt{\\rho}\\,\\sigma\\sqrt{\\rho}}\\right)^2`,
which is :math:`|\\langle\\psi|\\phi\\rangle|^2` for pure states; it ignores
global phase. A single qubit's Bloch vector is
:math:`\\vec r = (\\langle X\\rangle, \\langle Y\\rangle, \\langle Z\\rangle)`
with :math:`\\rho = (I + \\vec r\\cdot\\vec\\sigma)/2`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from grader.errors import CheckFailed, InvalidCheckError, instructor_value
from grader.feedback import Feedback, Message, quiet, wrong_kind
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


#: Largest allowed | ‖ψ‖ − 1 | of a state vector, and | tr ρ − 1 |, Hermiticity
#: error and negative eigenvalue of a density matrix, before a state is refused.
NORM_ATOL = 1e-6

_STATE_KINDS = Message(
    "a state: a Statevector, DensityMatrix, QuantumCircuit without mid-circuit measurements, "
    "a list or array of 2ⁿ amplitudes, or a 2ⁿ×2ⁿ density matrix",
    "状態（Statevector、DensityMatrix、途中に測定のない QuantumCircuit、2ⁿ 個の振幅のリストか配列、"
    "または 2ⁿ×2ⁿ の密度行列）",
)
_STATE_HINT = Message(
    "Return the state itself, for example Statevector(circuit) or a NumPy array of amplitudes.",
    "状態そのものを返してください（例：Statevector(circuit) や振幅の NumPy 配列）。",
)
_COUNTS_HINT = Message(
    "Measurement counts are not a state: give the circuit without measurements, or "
    "Statevector(circuit).",
    "測定カウントは状態ではありません。測定のない回路か Statevector(circuit) を渡してください。",
)
_NOT_QUBITS = Message(
    "Your state has {found} amplitudes, but a state of n qubits has 2ⁿ (2, 4, 8, …).",
    "あなたの状態の振幅は {found} 個ですが、n 量子ビットの状態の振幅は 2ⁿ 個（2, 4, 8, …）です。",
)
_NO_QUBITS = Message("Your circuit has no qubits.", "あなたの回路には量子ビットがありません。")
_NOT_FINITE = Message(
    "Your state contains a value that is not a finite number (nan or inf).",
    "あなたの状態に有限でない値（nan または inf）が含まれています。",
)
_NOT_NORMALISED = Message(
    "Your state vector has norm {norm:.6g}, but a state has norm 1 (allowed: ±{atol:g}).",
    "あなたの状態ベクトルのノルムは {norm:.6g} ですが、状態のノルムは 1 です（許容範囲 ±{atol:g}）。",
)
_NORMALISE_HINT = Message(
    "Divide by the norm (np.linalg.norm(vector)), or check the factors such as 1/√2.",
    "ノルム（np.linalg.norm(vector)）で割るか、1/√2 などの係数を確認してください。",
)
_NOT_DENSITY = Message(
    "Your density matrix is not a state: {problem}.",
    "あなたの密度行列は状態ではありません：{problem_ja}。",
)
_DENSITY_HINT = Message(
    "A density matrix is Hermitian, positive semidefinite and has trace 1, such as "
    "DensityMatrix(circuit) or np.outer(psi, psi.conj()).",
    "密度行列はエルミートで半正定値、トレース 1 です（例：DensityMatrix(circuit)、"
    "np.outer(psi, psi.conj())）。",
)
def _circuit_state(circuit: Any) -> Any:
    """Return the state a circuit prepares from :math:`|0\\ldots0\\rangle`, refusing unclear ones."""
    from qiskit.quantum_info import Statevector

    from grader.circuits import learner_circuit, simulating

    if not circuit.num_qubits:
        raise CheckFailed(Feedback(_NO_QUBITS, hint=_STATE_HINT))
    prepared = learner_circuit(circuit, prepares=True)
    with simulating():
        return Statevector(prepared)


def _amplitudes(state: Any) -> np.ndarray:
    """Return a learner's array-like state as a complex array, or fail saying what it is."""
    from qiskit.quantum_info import DensityMatrix, Statevector

    if isinstance(state, Statevector | DensityMatrix):
        if state.num_qubits is None:
            raise CheckFailed(Feedback(_NOT_QUBITS, values={"found": state.dim}))
        return np.asarray(state.data)
    if state is None or isinstance(state, str | bytes | bool) or np.isscalar(state):
        raise CheckFailed(wrong_kind(state, _STATE_KINDS, _STATE_HINT))
    if isinstance(state, Mapping):
        raise CheckFailed(wrong_kind(state, _STATE_KINDS, _COUNTS_HINT))
    try:
        array = np.asarray(state, dtype=complex)
    except (TypeError, ValueError):
        # Ragged lists, text or objects: not amplitudes.
        raise CheckFailed(wrong_kind(state, _STATE_KINDS, _STATE_HINT)) from None
    if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[0] != array.shape[1]):
        raise CheckFailed(wrong_kind(state, _STATE_KINDS, _STATE_HINT))
    return array


def as_state(state: Any, *, atol: float = NORM_ATOL) -> Any:
    """Return a Qiskit ``Statevector`` or ``DensityMatrix`` for ``state``, refusing non-states.

    A vector must have :math:`|\\,\\|\\psi\\| - 1| \\le` ``atol``; a
    matrix must be Hermitian and have trace 1 and no eigenvalue below
    :math:`-` ``atol``. What passes is normalised exactly, so that rounding
    never raises a fidelity above 1.

    Args:
        state: A ``Statevector``, ``DensityMatrix``, ``QuantumCircuit`` (run
            from :math:`|0\\ldots0\\rangle`; final measurements are ignored,
            ``initialize`` and ``reset`` only on untouched qubits), a 1-D
            amplitude array of length :math:`2^n` or a
            :math:`2^n \\times 2^n` density matrix.
        atol: Tolerance of the normalisation and positivity tests.

    Returns:
        The state as a ``qiskit.quantum_info`` object.

    Raises:
        CheckFailed: ``state`` is not a state of qubits; the message says what
            it is and what a state looks like.
    """
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import DensityMatrix, Statevector

    if isinstance(state, QuantumCircuit):
        return _circuit_state(state)
    array = _amplitudes(state)
    dim = array.shape[0]
    if dim < 2 or dim & (dim - 1):
        raise CheckFailed(Feedback(_NOT_QUBITS, values={"found": dim}))
    if not np.all(np.isfinite(array)):
        raise CheckFailed(Feedback(_NOT_FINITE, hint=_STATE_HINT))
    if array.ndim == 1:
        norm = float(np.linalg.norm(array))
        if abs(norm - 1) > atol:
            raise CheckFailed(Feedback(_NOT_NORMALISED, hint=_NORMALISE_HINT,
                                       values={"norm": norm, "atol": atol}))
        return Statevector(array / norm)
    problem = _density_problem(array, atol)
    if problem:
        en, ja = problem
        raise CheckFailed(Feedback(_NOT_DENSITY, hint=_DENSITY_HINT,
                                   values={"problem": en, "problem_ja": ja}))
    hermitian = (array + array.conj().T) / 2
    return DensityMatrix(hermitian / np.real(np.trace(hermitian)))


def _density_problem(matrix: np.ndarray, atol: float) -> tuple[str, str] | None:
    """Return why ``matrix`` is no density matrix (English, Japanese), or ``None``."""
    asymmetry = float(np.max(np.abs(matrix - matrix.conj().T)))
    if asymmetry > atol:
        return (f"it is not Hermitian (ρ − ρ† has an entry of size {asymmetry:.3g})",
                f"エルミートではありません（ρ − ρ† に大きさ {asymmetry:.3g} の成分があります）")
    trace = float(np.real(np.trace(matrix)))
    if abs(trace - 1) > atol:
        return f"its trace is {trace:.6g}, not 1", f"トレースが 1 ではなく {trace:.6g} です"
    lowest = float(np.linalg.eigvalsh((matrix + matrix.conj().T) / 2)[0])
    if lowest < -atol:
        return (f"it has the negative eigenvalue {lowest:.3g}",
                f"負の固有値 {lowest:.3g} があります")
    return None


@quiet
def fidelity(actual: Any, expected: Any) -> float:
    """Return the fidelity :math:`F` of two states (any form :func:`as_state` takes).

    Raises:
        CheckFailed: Either is not a state (see :func:`as_state`), or they
            have different numbers of qubits.
    """
    found, reference = as_state(actual), as_state(expected)
    if found.num_qubits != reference.num_qubits:
        raise CheckFailed(Feedback(_WIDTH, values={
            "found": found.num_qubits, "expected": reference.num_qubits}))
    return _fidelity(found, reference)


def _fidelity(found: Any, reference: Any) -> float:
    """Return :math:`F` of two states :func:`as_state` has already checked."""
    from qiskit.quantum_info import state_fidelity

    return float(state_fidelity(found, reference, validate=False))


@quiet
def assert_state_close(
    actual: Any, expected: Any, *, min_fidelity: float = 1 - 1e-6, norm_atol: float = NORM_ATOL
) -> None:
    """Assert that a learner's state has fidelity at least ``min_fidelity`` with a reference.

    Both states must be states (:func:`as_state`): a vector of norm
    :math:`1 \\pm` ``norm_atol``, or a Hermitian, positive semidefinite
    matrix of trace 1; they are normalised exactly before
    :math:`F` is computed, so :math:`0 \\le F \\le 1`.

    Args:
        actual: The learner's state (any form :func:`as_state` takes).
        expected: The reference state.
        min_fidelity: Smallest fidelity that passes; ``1 - 1e-6`` by default
            allows rounding but no physical difference.
        norm_atol: Tolerance of the normalisation test.

    Raises:
        CheckFailed: ``actual`` is not a state of the expected number of
            qubits, or the fidelity is below ``min_fidelity``; the message
            shows both states and a hint when the qubit order is reversed or
            only relative phases differ.
        InvalidCheckError: ``min_fidelity`` is not in ``(0, 1]`` or
            ``expected`` is not a state.
    """
    if not 0 < min_fidelity <= 1:
        raise InvalidCheckError(f"min_fidelity must be in (0, 1], got {min_fidelity}")
    with instructor_value("expected state", "期待される状態"):
        reference = as_state(expected, atol=norm_atol)
    found = as_state(actual, atol=norm_atol)
    if found.num_qubits != reference.num_qubits:
        raise CheckFailed(Feedback(_WIDTH, values={
            "found": found.num_qubits, "expected": reference.num_qubits}))
    value = _fidelity(found, reference)
    if value >= min_fidelity:
        return
    hint = None
    if found.num_qubits > 1 and _fidelity(found.reverse_qargs(), reference) >= min_fidelity:
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


_ONE_QUBIT = Message(
    "Your state has {found} qubits; the check looks at a single qubit.",
    "あなたの状態は {found} 量子ビットですが、この確認は 1 量子ビットの状態を対象にしています。",
)
_NO_SUCH_QUBIT = Message(
    "Your state has {found} qubit(s); the check looks at qubit {qubit}.",
    "あなたの状態は {found} 量子ビットですが、この確認は量子ビット {qubit} を見ます。",
)


@quiet
def bloch_vector(state: Any, qubit: int | None = None) -> np.ndarray:
    """Return the Bloch vector :math:`(\\langle X\\rangle, \\langle Y\\rangle, \\langle Z\\rangle)`.

    Args:
        state: A single-qubit state, or a multi-qubit state with ``qubit``
            (any form :func:`as_state` takes).
        qubit: Which qubit to reduce to (the others are traced out).

    Returns:
        A length-3 real array of norm at most 1.

    Raises:
        CheckFailed: ``state`` is not a state, is a multi-qubit state without
            ``qubit``, or has no qubit ``qubit``.
        InvalidCheckError: ``qubit`` is not a whole number.
    """
    from qiskit.quantum_info import DensityMatrix, partial_trace

    qubit = _plain_index(qubit)
    found = as_state(state)
    n = found.num_qubits
    if qubit is not None and not 0 <= qubit < n:
        raise CheckFailed(Feedback(_NO_SUCH_QUBIT, values={"found": n, "qubit": qubit}))
    if n != 1:
        if qubit is None:
            raise CheckFailed(Feedback(_ONE_QUBIT, values={"found": n}))
        rho = partial_trace(found, [q for q in range(n) if q != qubit]).data
    else:
        rho = DensityMatrix(found).data
    return np.array([
        2 * np.real(rho[0, 1]),
        2 * np.imag(rho[1, 0]),
        np.real(rho[0, 0] - rho[1, 1]),
    ])


def _plain_index(qubit: Any) -> int | None:
    """Return ``qubit`` as an ``int`` (NumPy integers too), or refuse it as the instructor's."""
    if qubit is None:
        return None
    if isinstance(qubit, bool) or not isinstance(qubit, int | np.integer):
        raise InvalidCheckError(f"qubit must be a whole number, got {qubit!r}")
    return int(qubit)


@quiet
def assert_bloch_vector(
    state: Any, expected: Sequence[float], *, qubit: int | None = None, atol: float = 1e-6
) -> None:
    """Assert that a qubit's Bloch vector is within ``atol`` (Euclidean) of ``expected``.

    Args:
        state: The learner's state (any form :func:`as_state` takes).
        expected: The expected vector :math:`(x, y, z)`, of length at most 1.
        qubit: For multi-qubit states, the qubit to check.
        atol: Largest allowed Euclidean distance.

    Raises:
        CheckFailed: ``state`` is not a state (or has no such qubit), or the
            vectors differ; a hint says when the found vector is shorter than
            1 (entangled or mixed).
        InvalidCheckError: ``expected`` is not three real numbers of length at
            most 1, or ``qubit`` is not a whole number.
    """
    try:
        target = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        target = np.empty(0)
    if target.shape != (3,) or not np.all(np.isfinite(target)) or np.linalg.norm(target) > 1 + atol:
        raise InvalidCheckError(f"expected must be a Bloch vector (x, y, z) of length at most 1, "
                                f"got {expected!r}")
    found = bloch_vector(state, qubit)
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


_OBSERVABLE_KINDS = Message(
    "an observable: a SparsePauliOp, a Pauli label such as 'ZZ', a list of (label, coefficient) "
    "pairs, or a Hermitian 2ⁿ×2ⁿ matrix or Operator",
    "オブザーバブル（SparsePauliOp、'ZZ' のようなパウリ文字列、(文字列, 係数) の組のリスト、"
    "またはエルミートな 2ⁿ×2ⁿ 行列か Operator）",
)
_OBSERVABLE_HINT = Message(
    "Build it with SparsePauliOp.from_list([('ZZ', 1.0), ('XI', 0.5)]).",
    "SparsePauliOp.from_list([('ZZ', 1.0), ('XI', 0.5)]) のように作ってください。",
)
_NOT_HERMITIAN = Message(
    "Your observable is not Hermitian, so it has no real expectation values.",
    "あなたのオブザーバブルはエルミートではないため、期待値が実数になりません。",
)
_OBSERVABLE_WIDTH = Message(
    "Your observable acts on {found} qubits; the expected one on {expected}.",
    "あなたのオブザーバブルは {found} 量子ビットに作用しますが、期待されるものは {expected} 量子ビットです。",
)
_TERM = Message(
    "Your observable differs in the coefficient of the Pauli term {term}.",
    "あなたのオブザーバブルはパウリ項 {term} の係数が異なります。",
)
_REVERSED_TERMS_HINT = Message(
    "With the qubit order reversed it matches: Qiskit's Pauli labels put qubit 0 rightmost.",
    "量子ビットの順序を逆にすると一致します。Qiskit のパウリ文字列では量子ビット 0 が右端です。",
)


def as_observable(value: Any) -> Any:
    """Return a learner's observable as a simplified ``SparsePauliOp``.

    Args:
        value: A ``SparsePauliOp``, ``Pauli``, Pauli label (``"ZZ"``), list of
            ``(label, coefficient)`` pairs, or a Hermitian ``Operator`` or
            :math:`2^n \\times 2^n` matrix.

    Raises:
        CheckFailed: ``value`` is none of these, or is not Hermitian.
    """
    from qiskit.exceptions import QiskitError
    from qiskit.quantum_info import Operator, Pauli, SparsePauliOp

    try:
        if isinstance(value, SparsePauliOp):
            observable = value
        elif isinstance(value, Pauli | str):
            observable = SparsePauliOp(value)
        elif isinstance(value, list) and all(isinstance(t, tuple) and len(t) == 2 for t in value):
            observable = SparsePauliOp.from_list(value)
        elif isinstance(value, Operator):
            observable = SparsePauliOp.from_operator(value)
        else:
            matrix = _amplitudes(value)
            dim = matrix.shape[0]
            if matrix.ndim != 2 or dim < 2 or dim & (dim - 1) or not np.all(np.isfinite(matrix)):
                raise CheckFailed(wrong_kind(value, _OBSERVABLE_KINDS, _OBSERVABLE_HINT))
            observable = SparsePauliOp.from_operator(Operator(matrix))
    except (QiskitError, TypeError, ValueError):
        # Labels with letters other than I, X, Y, Z, or coefficients that are not numbers.
        raise CheckFailed(wrong_kind(value, _OBSERVABLE_KINDS, _OBSERVABLE_HINT)) from None
    except CheckFailed as failure:
        if failure.feedback.summary is _NOT_QUBITS:
            raise
        raise CheckFailed(wrong_kind(value, _OBSERVABLE_KINDS, _OBSERVABLE_HINT)) from None
    observable = observable.simplify(atol=1e-12)
    if not np.all(np.isfinite(observable.coeffs)) or not observable.equiv(observable.adjoint()):
        raise CheckFailed(Feedback(_NOT_HERMITIAN, hint=_OBSERVABLE_HINT))
    return observable


def _coefficients(observable: Any) -> dict[str, complex]:
    return {label: complex(coeff) for label, coeff in observable.simplify(atol=0).to_list()}


@quiet
def assert_observable_equivalent(
    actual: Any, expected: Any, *, up_to_constant: bool = False, atol: float = 1e-9
) -> None:
    """Assert that a learner's observable (a Hamiltonian, say) equals the expected one.

    Both are written in the Pauli basis, :math:`O = \\sum_P c_P P`; they are
    equal when every coefficient agrees within ``atol``, so that a matrix, a
    ``SparsePauliOp`` and a list of terms of the same observable all pass.

    Args:
        actual: The learner's observable (any form :func:`as_observable` takes).
        expected: The reference observable.
        up_to_constant: Ignore the identity term (an energy offset).
        atol: Largest allowed difference of any coefficient.

    Raises:
        CheckFailed: The answer is no observable, acts on other qubits, or a
            coefficient differs; the message names the Pauli term with both
            coefficients, and hints at reversed qubit order.
        InvalidCheckError: ``expected`` is no observable.
    """
    with instructor_value("expected observable", "期待されるオブザーバブル"):
        reference = as_observable(expected)
    found = as_observable(actual)
    if found.num_qubits != reference.num_qubits:
        raise CheckFailed(Feedback(_OBSERVABLE_WIDTH, values={
            "found": found.num_qubits, "expected": reference.num_qubits}))
    identity = "I" * reference.num_qubits
    difference = {label: c for label, c in _coefficients(found - reference).items()
                  if abs(c) > atol and not (up_to_constant and label == identity)}
    if not difference:
        return
    term = max(difference, key=lambda label: abs(difference[label]))
    wanted, written = _coefficients(reference), _coefficients(found)
    flipped = {label[::-1]: c for label, c in written.items()}
    same_reversed = all(abs(flipped.get(label, 0) - wanted.get(label, 0)) <= atol
                        for label in set(wanted) | set(flipped)
                        if not (up_to_constant and label == identity))
    want, got = wanted.get(term, 0), written.get(term, 0)
    raise CheckFailed(Feedback(
        _TERM, expected=_number(want), found=_number(got),
        hint=_REVERSED_TERMS_HINT if same_reversed else None, values={"term": term}))


def _number(value: complex) -> str:
    return f"{value.real:.6g}" if abs(value.imag) < 1e-12 else f"{value:.6g}"
