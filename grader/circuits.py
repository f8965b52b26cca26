"""Check that a learner's circuit implements the expected unitary.

Two circuits on :math:`n` qubits are *equivalent up to global phase* when their
unitaries satisfy :math:`U_\\text{found} = e^{i\\varphi} U_\\text{expected}`
for one real :math:`\\varphi`. The best phase is
:math:`e^{i\\varphi} = \\operatorname{tr}(U_e^\\dagger U_f) / |\\operatorname{tr}(U_e^\\dagger U_f)|`;
the check then compares column by column, so that a failure names an input
basis state :math:`|x\\rangle` on which the two circuits differ.

The strict variant (``up_to_global_phase=False``) sets :math:`\\varphi = 0`:
a global phase is invisible on its own but becomes a relative phase once the
circuit is controlled, as in phase estimation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grader.errors import CheckFailed, InvalidCheckError
from grader.feedback import Feedback, Message, quiet
from grader.kets import basis_label, write_ket

#: Largest circuit, in qubits, whose unitary the checks build (2**12 × 2**12).
MAX_QUBITS = 12

_NOT_A_CIRCUIT = Message(
    "Expected a QuantumCircuit, but your answer is a {found}.",
    "QuantumCircuit が必要ですが、あなたの答えは {found} です。",
)
_NOT_A_CIRCUIT_HINT = Message(
    "Make your function return the circuit (check for a missing `return`).",
    "関数が回路を返すようにしてください（`return` を忘れていませんか）。",
)
_NOT_UNITARY = Message(
    "Your circuit contains '{operation}' before its end, so it has no unitary to compare.",
    "回路の途中に '{operation}' があるため、比較するユニタリが定まりません。",
)
_NOT_UNITARY_HINT = Message(
    "Remove measurements and resets, or move measurements to the very end.",
    "測定とリセットを取り除くか、測定を回路の最後に移してください。",
)
_TOO_LARGE = Message(
    "Your circuit has {found} qubits; the check compares circuits of at most {cap} qubits.",
    "あなたの回路は {found} 量子ビットです。比較できるのは {cap} 量子ビットまでです。",
)
_WIDTH = Message(
    "Your circuit acts on {found} qubits but the task needs {expected}.",
    "あなたの回路は {found} 量子ビットに作用しますが、課題では {expected} 量子ビットが必要です。",
)
_WIDTH_HINT = Message(
    "Use exactly the qubits the task gives you; extra work qubits must be declared as ancillas.",
    "課題で与えられた量子ビットだけを使ってください。補助ビットは ancilla として宣言が必要です。",
)
_DIFFERS = Message(
    "The circuits differ on the input {input}.",
    "入力 {input} に対して回路の出力が異なります。",
)
_PHASE = Message(
    "Your circuit equals the expected one only up to a global phase of e^(i·{phase:.4g}).",
    "あなたの回路は期待される回路と大域位相 e^(i·{phase:.4g}) だけ異なります。",
)
_PHASE_HINT = Message(
    "Here the phase matters: once the circuit is controlled it becomes a relative phase.",
    "この課題では位相が重要です。制御付きにすると相対位相になります。",
)
_DIRTY = Message(
    "Ancilla qubit(s) {ancillas} are not returned to |0⟩ for the input {input}.",
    "入力 {input} に対して補助量子ビット {ancillas} が |0⟩ に戻っていません。",
)
_DIRTY_HINT = Message(
    "Undo (uncompute) every gate that touched the ancillas before the circuit ends.",
    "回路の最後で、補助ビットに作用したゲートを逆順に適用して元に戻してください。",
)
_ANCILLAS_LEFT = Message(
    "{ket} (ancillas written as the leftmost bits)",
    "{ket}（補助ビットを左端に表記）",
)
_LITTLE_ENDIAN = Message(
    "Kets list qubit 0 as the rightmost bit (Qiskit's order).",
    "ケットは量子ビット 0 を右端に書きます（Qiskit の順序）。",
)


def _unitary_part(circuit: Any) -> Any:
    """Return ``circuit`` without final measurements, refusing other non-unitary steps."""
    from qiskit import QuantumCircuit

    if not isinstance(circuit, QuantumCircuit):
        return circuit
    stripped = circuit.remove_final_measurements(inplace=False)
    for instruction in stripped.data:
        name = instruction.operation.name
        if name in ("measure", "reset") or instruction.operation.num_clbits:
            raise CheckFailed(Feedback(_NOT_UNITARY, hint=_NOT_UNITARY_HINT,
                                       values={"operation": name}))
    return stripped


def unitary_matrix(circuit: Any) -> np.ndarray:
    """Return the unitary matrix of a circuit, operator or square array.

    Args:
        circuit: A ``QuantumCircuit`` (final measurements are ignored), a
            ``qiskit.quantum_info.Operator`` or a square array.

    Returns:
        The matrix in Qiskit's little-endian basis order.

    Raises:
        CheckFailed: The circuit measures or resets before its end.
    """
    from qiskit.quantum_info import Operator

    if isinstance(circuit, np.ndarray):
        return circuit
    return Operator(_unitary_part(circuit)).data


def _num_qubits(obj: Any) -> int:
    if hasattr(obj, "num_qubits"):
        return int(obj.num_qubits)
    dim = np.asarray(obj).shape[0]
    return int(round(np.log2(dim)))


def _relabelled(actual: Any, positions: Sequence[int]) -> Any:
    """Return ``actual`` with its qubit ``q`` moved to position ``positions[q]``."""
    from qiskit import QuantumCircuit

    stripped = _unitary_part(actual)
    if list(positions) == list(range(len(positions))):
        return stripped
    moved = QuantumCircuit(len(positions), global_phase=0)
    return moved.compose(stripped, qubits=list(positions))


def _permute_outputs(matrix: np.ndarray, permutation: Sequence[int]) -> np.ndarray:
    """Move the output of qubit ``j`` to qubit ``permutation[j]`` (rows of ``matrix``)."""
    n = len(permutation)
    index = np.arange(2**n)
    target = np.zeros_like(index)
    for j, p in enumerate(permutation):
        target |= ((index >> j) & 1) << p
    permuted = np.empty_like(matrix)
    permuted[target, :] = matrix
    return permuted


def _evolve(circuit: Any, vector: np.ndarray) -> np.ndarray:
    """Return ``circuit`` (a circuit, operator or unitary matrix) applied to ``vector``."""
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector

    if isinstance(circuit, QuantumCircuit):
        return Statevector(vector).evolve(_unitary_part(circuit)).data
    return unitary_matrix(circuit) @ vector


def _agrees_on_random_inputs(
    relabelled: Any, expected: Any, n: int, m: int,
    output_permutation: Sequence[int] | None, up_to_global_phase: bool, atol: float,
    trials: int = 2,
) -> bool:
    r"""Return True when both circuits agree on random input states.

    With :math:`D = U_f - e^{i\varphi} U_e` restricted to clean ancillas and a
    Haar-random :math:`|\psi\rangle`, :math:`\mathbb{E}\,\|D\psi\|^2 = \|D\|_F^2 / 2^n`,
    and :math:`\|D\psi\|` is below :math:`\varepsilon / \sqrt{2^n}` for a
    column of :math:`D` of norm :math:`\varepsilon` only with probability of
    order :math:`2^n (\text{atol}/\varepsilon)^2`. Agreement on fresh random
    states thus decides "equivalent" in :math:`O(\text{gates}\cdot 2^n)`
    instead of building unitaries (:math:`O(\text{gates}\cdot 4^n)`); the
    seeds are unpredictable, so no circuit can be tuned to them. Any
    disagreement falls back to the exact comparison, which names a
    counter-example.
    """
    rng = np.random.default_rng()
    dim = 2**n
    limit = atol / np.sqrt(dim)
    phase = None
    for _ in range(trials):
        psi = rng.normal(size=dim) + 1j * rng.normal(size=dim)
        psi /= np.linalg.norm(psi)
        start = np.zeros(2**m, dtype=complex)
        start[:dim] = psi
        found = _evolve(relabelled, start)
        target = _evolve(expected, psi)
        if output_permutation is not None:
            target = _permute_outputs(target[:, None], output_permutation)[:, 0]
        padded = np.zeros(2**m, dtype=complex)
        padded[:dim] = target
        if phase is None:
            overlap = np.vdot(padded, found)
            phase = overlap / abs(overlap) if up_to_global_phase and abs(overlap) > 1e-12 else 1.0
        if np.linalg.norm(found - phase * padded) > limit:
            return False
    return True


def _check_sequence(name: str, values: Sequence[int], size: int, bound: int) -> None:
    if len(values) != size or len(set(values)) != size or not all(
        0 <= v < bound for v in values
    ):
        raise InvalidCheckError(
            f"{name} must list {size} distinct qubit indices below {bound}, got {list(values)}"
        )


@quiet
def assert_circuit_equivalent(
    actual: Any,
    expected: Any,
    *,
    up_to_global_phase: bool = True,
    qubit_map: Sequence[int] | None = None,
    output_permutation: Sequence[int] | None = None,
    ancillas: Sequence[int] = (),
    atol: float = 1e-8,
) -> None:
    """Assert that a learner's circuit implements the expected unitary.

    With ``qubit_map`` the learner's qubit ``qubit_map[j]`` plays the expected
    circuit's qubit ``j`` (a relabelling of inputs and outputs alike). With
    ``output_permutation`` the result of expected qubit ``j`` may be left on
    qubit ``output_permutation[j]`` (a QFT without its final swaps, say).
    Ancillas start in :math:`|0\\rangle` and must end there for every input:
    the check requires
    :math:`U_f (|x\\rangle \\otimes |0\\rangle_a) = e^{i\\varphi} (P U_e |x\\rangle) \\otimes |0\\rangle_a`
    for every basis state :math:`|x\\rangle`, with one :math:`\\varphi` for all.

    Args:
        actual: The learner's ``QuantumCircuit`` (final measurements ignored).
        expected: The reference circuit, ``Operator`` or unitary matrix.
        up_to_global_phase: Allow one global phase (``False``: strict).
        qubit_map: Learner's qubit for each expected qubit.
        output_permutation: Qubit that carries each expected qubit's output.
        ancillas: Learner's qubits that must start and end in :math:`|0\\rangle`.
        atol: Largest allowed 2-norm difference of any output column.

    Raises:
        CheckFailed: The circuits differ; the message names an input basis
            state and what each circuit produces from it.
        InvalidCheckError: The declared map, permutation or ancillas are
            inconsistent, or the expected circuit is over :data:`MAX_QUBITS`.
    """
    from qiskit import QuantumCircuit

    if not isinstance(actual, QuantumCircuit):
        raise CheckFailed(Feedback(_NOT_A_CIRCUIT, hint=_NOT_A_CIRCUIT_HINT,
                                   values={"found": type(actual).__name__}))
    n = _num_qubits(expected)
    m = _num_qubits(actual)
    if n > MAX_QUBITS:
        raise InvalidCheckError(f"expected circuit has {n} qubits; the cap is {MAX_QUBITS}")
    if m > MAX_QUBITS:
        raise CheckFailed(Feedback(_TOO_LARGE, values={"found": m, "cap": MAX_QUBITS}))
    ancillas = list(ancillas)
    if qubit_map is None:
        qubit_map = [q for q in range(m) if q not in ancillas][:n]
    qubit_map = list(qubit_map)
    if m != n + len(ancillas) or len(qubit_map) != n:
        raise CheckFailed(Feedback(_WIDTH, hint=_WIDTH_HINT,
                                   values={"found": m, "expected": n + len(ancillas)}))
    _check_sequence("qubit_map + ancillas", qubit_map + ancillas, m, m)
    positions = [0] * m
    for position, qubit in enumerate(qubit_map + ancillas):
        positions[qubit] = position

    if output_permutation is not None:
        _check_sequence("output_permutation", list(output_permutation), n, n)
    relabelled = _relabelled(actual, positions)
    if _agrees_on_random_inputs(relabelled, expected, n, m, output_permutation,
                                up_to_global_phase, atol):
        return
    found = unitary_matrix(relabelled)
    reference = unitary_matrix(expected)
    if output_permutation is not None:
        reference = _permute_outputs(reference, output_permutation)

    dim = 2**n
    columns = found[:, :dim]
    kept, leaked = columns[:dim, :], columns[dim:, :]
    overlap = np.vdot(reference, kept)
    phase = overlap / abs(overlap) if up_to_global_phase and abs(overlap) > 1e-12 else 1.0
    column_error = np.sqrt(
        np.linalg.norm(kept - phase * reference, axis=0) ** 2
        + np.linalg.norm(leaked, axis=0) ** 2
    )
    worst = int(np.argmax(column_error))
    if column_error[worst] <= atol:
        return

    values = {"input": basis_label(worst, n)}
    leak = np.linalg.norm(leaked[:, worst])
    if ancillas and leak > atol:
        values["ancillas"] = ", ".join(str(q) for q in ancillas)
        raise CheckFailed(Feedback(
            _DIRTY, expected=f"({write_ket(reference[:, worst], n)}) ⊗ |0…0⟩",
            found=_ANCILLAS_LEFT,
            hint=_DIRTY_HINT, values={**values, "ket": write_ket(found[:, worst], m)},
        ))
    if not up_to_global_phase and abs(overlap) > 1e-12:
        best = overlap / abs(overlap)
        if np.max(np.linalg.norm(kept - best * reference, axis=0)) <= atol:
            values["phase"] = float(np.angle(best))
            raise CheckFailed(Feedback(_PHASE, hint=_PHASE_HINT, values=values))
    raise CheckFailed(Feedback(
        _DIFFERS,
        expected=write_ket(phase * reference[:, worst], n),
        found=write_ket(kept[:, worst], n),
        hint=_LITTLE_ENDIAN,
        values=values,
    ))
