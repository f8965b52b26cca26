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

import functools
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from grader.errors import CheckFailed, InvalidCheckError, instructor_value
from grader.feedback import Feedback, Message, describe, quiet
from grader.kets import basis_label, write_ket

#: Largest circuit, in qubits, whose unitary the checks build (2**12 × 2**12).
MAX_QUBITS = 12
#: Parameter values a parametrised reference is compared at, and their default seed.
PARAMETER_SAMPLES = 3
PARAMETER_SEED = 1234

_NOT_A_CIRCUIT = Message(
    "Expected a QuantumCircuit, but your answer is {found}.",
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
    "Remove measurements, resets and initialize, or move measurements to the very end; "
    "the circuit starts from |0…0⟩ and must be built from gates.",
    "測定・リセット・initialize を取り除くか、測定を回路の最後に移してください。"
    "回路はゲートだけで作る必要があります。",
)
_NOT_DETERMINED = Message(
    "Your circuit contains '{operation}' after other operations, so it does not prepare one "
    "definite state.",
    "回路の途中に '{operation}' があるため、1 つの状態が定まりません。",
)
_NOT_DETERMINED_HINT = Message(
    "Remove mid-circuit measurements and resets; measurements at the very end are ignored.",
    "途中の測定とリセットを取り除いてください。回路の最後の測定は無視されます。",
)
_UNBOUND = Message(
    "Your circuit has parameters without values: {parameters}.",
    "あなたの回路には値が割り当てられていないパラメータがあります：{parameters}。",
)
_UNBOUND_HINT = Message(
    "Bind them first: circuit.assign_parameters({{...}}).",
    "先に値を割り当ててください：circuit.assign_parameters({{...}})。",
)
_NOT_SIMULABLE = Message(
    "Your circuit could not be simulated or decomposed: {reason}",
    "あなたの回路をシミュレーションまたは分解できませんでした：{reason}",
)
_NOT_SIMULABLE_HINT = Message(
    "Build the circuit from standard gates, or give custom gates a definition.",
    "標準ゲートで回路を作るか、独自ゲートに定義を与えてください。",
)
_PARAMETER_NAMES = Message(
    "Your circuit's parameters are {found}; the task's are {expected}.",
    "あなたの回路のパラメータは {found} ですが、課題のパラメータは {expected} です。",
)
_PARAMETER_NAMES_HINT = Message(
    "Use qiskit.circuit.Parameter with the names the task gives, and leave them unbound.",
    "課題で指定された名前の qiskit.circuit.Parameter を使い、値を割り当てずに返してください。",
)
_AT_VALUES = Message(
    "At the parameter values {values} (seed {seed}): {inner}",
    "パラメータの値 {values}（シード {seed}）で：{inner_ja}",
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
_SEEDED = Message(
    "{inner}\n  Random input states: seed={seed}; pass seed={seed} to reproduce this verdict.",
    "{inner_ja}\n  ランダムな入力状態のシード：seed={seed}。seed={seed} を渡すと同じ判定を再現できます。",
)
_LITTLE_ENDIAN = Message(
    "Kets list qubit 0 as the rightmost bit (Qiskit's order).",
    "ケットは量子ビット 0 を右端に書きます（Qiskit の順序）。",
)


@functools.cache
def _plain_operations() -> frozenset[str]:
    """Return the names of Qiskit's standard gates, with barrier and delay."""
    from qiskit.circuit.library import get_standard_gate_name_mapping

    return frozenset({*get_standard_gate_name_mapping(), "barrier", "delay"} - {"measure", "reset"})


def learner_circuit(circuit: Any, *, prepares: bool = False) -> Any:
    """Return ``circuit`` without final measurements, refusing what it cannot be compared by.

    A circuit of standard gates only is returned as it is, not copied.

    Args:
        circuit: A ``QuantumCircuit``.
        prepares: Allow ``initialize`` and ``reset`` on qubits nothing has
            touched yet (a state preparation); otherwise every operation but a
            barrier or delay must be a gate.

    Raises:
        CheckFailed: The circuit has unbound parameters, or measures, resets,
            initializes or branches before its end.
    """
    from qiskit.circuit import Gate

    unbound(circuit)
    if set(circuit.count_ops()) <= _plain_operations():
        return circuit  # standard gates only: nothing to strip or refuse, and no copy
    stripped = circuit.remove_final_measurements(inplace=False)
    touched: set[Any] = set()
    for instruction in stripped.data:
        operation = instruction.operation
        name = operation.name
        # Preparing untouched qubits is deterministic; after other operations a
        # reset or initialize would measure.
        fresh = prepares and name in ("initialize", "reset") and not touched & set(
            instruction.qubits)
        if not (isinstance(operation, Gate) or name in ("barrier", "delay") or fresh):
            if prepares:
                raise CheckFailed(Feedback(_NOT_DETERMINED, hint=_NOT_DETERMINED_HINT,
                                           values={"operation": name}))
            raise CheckFailed(Feedback(_NOT_UNITARY, hint=_NOT_UNITARY_HINT,
                                       values={"operation": name}))
        touched |= set(instruction.qubits)
    return stripped


def unbound(circuit: Any) -> None:
    """Fail when a circuit has parameters without values.

    Raises:
        CheckFailed: Names the unbound parameters.
    """
    if circuit.parameters:
        names = ", ".join(sorted(str(p) for p in circuit.parameters))
        raise CheckFailed(Feedback(_UNBOUND, hint=_UNBOUND_HINT, values={"parameters": names}))


@contextmanager
def simulating() -> Iterator[None]:
    """Report a circuit Qiskit cannot simulate (an opaque gate, say) as a failed check."""
    from qiskit.exceptions import QiskitError

    try:
        yield
    except QiskitError as error:
        raise CheckFailed(Feedback(_NOT_SIMULABLE, hint=_NOT_SIMULABLE_HINT,
                                   values={"reason": error.message})) from None


def _unitary_part(circuit: Any) -> Any:
    """Return a circuit's unitary part; operators and matrices pass unchanged."""
    from qiskit import QuantumCircuit

    return learner_circuit(circuit) if isinstance(circuit, QuantumCircuit) else circuit


def unitary_matrix(circuit: Any) -> np.ndarray:
    """Return the unitary matrix of a circuit, operator or square array.

    Args:
        circuit: A ``QuantumCircuit`` (final measurements are ignored), a
            ``qiskit.quantum_info.Operator`` or a square array.

    Returns:
        The matrix in Qiskit's little-endian basis order.

    Raises:
        CheckFailed: The circuit measures or resets before its end, or cannot
            be simulated.
    """
    from qiskit.quantum_info import Operator

    if isinstance(circuit, np.ndarray):
        return circuit
    with simulating():
        return Operator(_unitary_part(circuit)).data


def _reference(expected: Any) -> Any:
    """Return the instructor's circuit or ``Operator``, refusing anything without a unitary.

    Raises:
        InvalidCheckError: ``expected`` is not a circuit, an operator on qubits
            or a unitary matrix of size :math:`2^n`.
    """
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Operator

    if isinstance(expected, QuantumCircuit):
        with instructor_value("reference circuit", "参照回路"):
            return learner_circuit(expected)
    if isinstance(expected, Operator):
        matrix = expected.data
    else:
        try:
            matrix = np.asarray(expected, dtype=complex)
        except (TypeError, ValueError):
            matrix = np.empty(0)
    dim = matrix.shape[0] if matrix.ndim == 2 else 0
    if (matrix.ndim != 2 or matrix.shape != (dim, dim) or dim < 2 or dim & (dim - 1)
            or not np.all(np.isfinite(matrix))
            or not np.allclose(matrix.conj().T @ matrix, np.eye(dim), atol=1e-8)):
        raise InvalidCheckError(
            "expected must be a QuantumCircuit, an Operator or a unitary matrix of size 2ⁿ×2ⁿ, "
            f"got {describe(expected)}")
    return Operator(matrix)


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
    """Return ``circuit`` (a checked circuit, an operator or a unitary matrix) applied to ``vector``."""
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector

    if isinstance(circuit, QuantumCircuit):
        return Statevector(vector).evolve(circuit).data
    return unitary_matrix(circuit) @ vector


def _agrees_on_random_inputs(
    relabelled: Any, expected: Any, n: int, m: int,
    output_permutation: Sequence[int] | None, up_to_global_phase: bool, atol: float,
    seed: int, trials: int = 2,
) -> bool:
    r"""Return True when both circuits agree on random input states.

    With :math:`D = U_f - e^{i\varphi} U_e` restricted to clean ancillas and a
    Haar-random :math:`|\psi\rangle`, :math:`\mathbb{E}\,\|D\psi\|^2 = \|D\|_F^2 / 2^n`,
    and :math:`\|D\psi\|` is below :math:`\varepsilon / \sqrt{2^n}` for a
    column of :math:`D` of norm :math:`\varepsilon` only with probability of
    order :math:`2^n (\text{atol}/\varepsilon)^2`. Agreement on fresh random
    states thus decides "equivalent" in :math:`O(\text{gates}\cdot 2^n)`
    instead of building unitaries (:math:`O(\text{gates}\cdot 4^n)`). The
    check draws ``seed`` fresh from the operating system on each call, so no
    circuit can be tuned to it, and reports it so the verdict can be replayed.
    Any disagreement falls back to the exact comparison, which names a
    counter-example.
    """
    rng = np.random.default_rng(seed)
    dim = 2**n
    limit = atol / np.sqrt(dim)
    phase = None
    for _ in range(trials):
        psi = rng.normal(size=dim) + 1j * rng.normal(size=dim)
        psi /= np.linalg.norm(psi)
        start = np.zeros(2**m, dtype=complex)
        start[:dim] = psi
        with simulating():
            found = _evolve(relabelled, start)
        with instructor_value("reference circuit", "参照回路"), simulating():
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


def _equivalent_at_sampled_values(actual: Any, expected: Any, parameter_seed: int,
                                  **options: Any) -> None:
    """Compare two parametrised circuits at sampled parameter values (see the check)."""
    wanted = sorted(p.name for p in expected.parameters)
    found = sorted(p.name for p in actual.parameters)
    if found != wanted:
        raise CheckFailed(Feedback(_PARAMETER_NAMES, hint=_PARAMETER_NAMES_HINT, values={
            "found": ", ".join(found) or "-", "expected": ", ".join(wanted)}))
    rng = np.random.default_rng(parameter_seed)
    for _ in range(PARAMETER_SAMPLES):
        values = {name: float(rng.uniform(0, 2 * np.pi)) for name in wanted}

        def bound(circuit: Any, values: dict[str, float] = values) -> Any:
            return circuit.assign_parameters({p: values[p.name] for p in circuit.parameters})

        try:
            assert_circuit_equivalent(bound(actual), bound(expected), **options)
        except CheckFailed as failure:
            shown = ", ".join(f"{name} = {value:.4f}" for name, value in values.items())
            raise CheckFailed(Feedback(_AT_VALUES, values={
                "values": shown, "seed": parameter_seed, "inner": failure.feedback.text("en"),
                "inner_ja": failure.feedback.text("ja")})) from None


def _check_sequence(name: str, values: Sequence[int], size: int, bound: int) -> None:
    if len(values) != size or len(set(values)) != size or not all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and 0 <= v < bound
        for v in values
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
    parameter_seed: int = PARAMETER_SEED,
    seed: int | None = None,
) -> None:
    """Assert that a learner's circuit implements the expected unitary.

    A reference with free parameters (``Parameter("θ")``) is compared at
    :data:`PARAMETER_SAMPLES` sets of values drawn uniformly from
    :math:`[0, 2\\pi)` with ``parameter_seed``; the learner's circuit must
    have parameters of the same names, and a failure names the values and
    the seed, so that the verdict can be reproduced.

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
        parameter_seed: Seed of the parameter values a parametrised reference
            is compared at.
        seed: Seed of the random input states; default: a fresh one from
            :func:`secrets.randbits` per call. A failure after random inputs
            names it, and passing it back reproduces that verdict exactly.

    Raises:
        CheckFailed: The circuits differ; the message names an input on which
            they differ observably (a basis state, or an equal superposition of
            two when only relative phases differ) and what each circuit
            produces from it.
        InvalidCheckError: The declared map, permutation or ancillas are
            inconsistent, or the expected circuit is over :data:`MAX_QUBITS`.
    """
    from qiskit import QuantumCircuit

    if seed is None:
        seed = secrets.randbits(63)
    if not isinstance(actual, QuantumCircuit):
        raise CheckFailed(Feedback(_NOT_A_CIRCUIT, hint=_NOT_A_CIRCUIT_HINT,
                                   values={"found": describe(actual)}))
    if isinstance(expected, QuantumCircuit) and expected.parameters:
        _equivalent_at_sampled_values(
            actual, expected, parameter_seed, up_to_global_phase=up_to_global_phase,
            qubit_map=qubit_map, output_permutation=output_permutation, ancillas=ancillas,
            atol=atol, seed=seed)
        return
    expected = _reference(expected)
    n = expected.num_qubits
    m = actual.num_qubits
    if n > MAX_QUBITS:
        raise InvalidCheckError(f"expected circuit has {n} qubits; the cap is {MAX_QUBITS}")
    if m > MAX_QUBITS:
        raise CheckFailed(Feedback(_TOO_LARGE, values={"found": m, "cap": MAX_QUBITS}))
    ancillas = [int(q) if isinstance(q, np.integer) else q for q in ancillas]
    if qubit_map is None:
        qubit_map = [q for q in range(m) if q not in ancillas][:n]
    qubit_map = [int(q) if isinstance(q, np.integer) else q for q in qubit_map]
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
                                up_to_global_phase, atol, seed):
        return
    try:
        _compare_exactly(relabelled, expected, n, m, output_permutation, ancillas,
                         up_to_global_phase, atol)
    except CheckFailed as failure:
        raise CheckFailed(Feedback(_SEEDED, hint=failure.feedback.hint, values={
            "seed": seed, "inner": _without_hint(failure.feedback, "en"),
            "inner_ja": _without_hint(failure.feedback, "ja")})) from None


def _without_hint(feedback: Feedback, lang: str) -> str:
    return Feedback(feedback.summary, feedback.expected, feedback.found,
                    values=feedback.values).text(lang)


def _compare_exactly(relabelled: Any, expected: Any, n: int, m: int,
                     output_permutation: Sequence[int] | None, ancillas: Sequence[int],
                     up_to_global_phase: bool, atol: float) -> None:
    """Compare the unitaries column by column; raise a failure naming a counter-example."""
    found = unitary_matrix(relabelled)
    with instructor_value("reference circuit", "参照回路"):
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
    label, vector = _distinguishing_input(kept, phase * reference, atol, n)
    raise CheckFailed(Feedback(
        _DIFFERS,
        expected=write_ket(phase * reference @ vector, n),
        found=write_ket(kept @ vector, n),
        hint=_LITTLE_ENDIAN,
        values={**values, "input": label},
    ))


def _distinguishing_input(found: np.ndarray, expected: np.ndarray, atol: float, n: int
                          ) -> tuple[str, np.ndarray]:
    r"""Return an input, as text and vector, whose outputs differ by more than a global phase.

    A basis input :math:`|x\rangle` distinguishes the circuits when
    :math:`\min_\theta \|U_f|x\rangle - e^{i\theta}U_e|x\rangle\| > \text{atol}`.
    When no basis input does, every column agrees up to its own phase,
    :math:`U_f|x\rangle = e^{i\theta_x}U_e|x\rangle` (S against S†, say), and
    :math:`(|0\rangle + |y\rangle)/\sqrt2` with :math:`\theta_y` furthest from
    :math:`\theta_0` has outputs of fidelity
    :math:`|1 + e^{i(\theta_y - \theta_0)}|^2/4 < 1`: they differ when measured
    in another basis.
    """
    overlaps = np.sum(expected.conj() * found, axis=0)
    phases = np.where(np.abs(overlaps) > 1e-12, overlaps / np.maximum(np.abs(overlaps), 1e-300),
                      1.0)
    errors = np.linalg.norm(found - phases * expected, axis=0)
    dim = found.shape[1]
    if np.max(errors) > atol:
        worst = int(np.argmax(errors))
        return basis_label(worst, n), np.eye(dim)[:, worst]
    other = int(np.argmax(np.abs(phases - phases[0])))
    vector = np.zeros(dim, dtype=complex)
    vector[[0, other]] = 1 / np.sqrt(2)
    label = f"({basis_label(0, n)} + {basis_label(other, n)})/√2"
    return ("|+⟩ = " + label if n == 1 else label), vector
