"""Measure and limit a circuit's resources: depth, two-qubit gates, T count, gate set.

Resources are counted after transpiling to the instructor's target (basis
gates and coupling map, fixed seed), so that a learner is not rewarded for
gates the hardware cannot run. Without a target, the circuit is decomposed
(optimisation level 0) to :data:`DEFAULT_BASIS`, Clifford+T with CX and
:math:`R_z`, so that a ``ccx``, ``mcx``, ``p(π/4)`` or custom gate is counted
by what it is made of and never as 0 T or 1 two-qubit gate.

The T count is the number of ``t`` and ``tdg`` gates plus the diagonal
rotations :math:`R_z(\\theta)`, :math:`P(\\theta)` whose angle is an odd
multiple of :math:`\\pi/4` (each is a T up to Cliffords and phase). A
rotation by any other angle (:math:`\\pi/8`, 0.3, a free parameter) has no T
count without an approximate synthesis; such rotations are counted apart,
and a T-count limit refuses a circuit that has them, naming one. Limits can be hard (:func:`assert_resources`)
or give partial credit in bands (:func:`score_resources`): a band
``[(6, 1.0), (10, 0.5)]`` on two-qubit gates gives full credit up to 6, half
up to 10 and none above; the score of several bands is the smallest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grader.errors import CheckFailed, InvalidCheckError
from grader.feedback import Feedback, Message, quiet, wrong_kind

#: Gates a circuit is decomposed to before counting when the instructor names no basis.
DEFAULT_BASIS = ("cx", "h", "s", "sdg", "t", "tdg", "x", "y", "z", "sx", "sxdg", "rz")
#: Single-qubit diagonal rotations whose angle decides whether they are a T gate.
_PHASE_ROTATIONS = ("rz", "p", "u1")

#: Seed of the transpiler, so a re-grade gives the same counts.
SEED = 1234

_OVER = Message(
    "Your circuit's {metric} is {found}; at most {limit} is allowed.",
    "あなたの回路の {metric_ja} は {found} です。上限は {limit} です。",
)
_GATES = Message(
    "Your circuit uses gates outside the allowed set: {gates}.",
    "あなたの回路は許可されていないゲートを使っています：{gates}。",
)
_GATES_HINT = Message(
    "Allowed gates: {allowed}. Rewrite the others with these.",
    "使えるゲート：{allowed}。他のゲートはこれらで書き直してください。",
)
_BAND = Message(
    "Your circuit's {metric} is {found}: {credit:.0%} of the credit (full credit up to {best:g}).",
    "あなたの回路の {metric_ja} は {found} です：得点 {credit:.0%}（{best:g} 以下で満点）。",
)
_COUNTED = Message("Counted after decomposing to: {basis}.",
                   "次のゲートに分解してから数えています：{basis}。")
_NO_T_COUNT = Message(
    "Your circuit's T count is not defined: after decomposing to {basis} it has {rotations} "
    "rotation(s) by an angle that is not a multiple of π/4, such as {example}.",
    "あなたの回路の T ゲート数は定まりません。{basis} に分解すると、π/4 の倍数でない角度の回転が "
    "{rotations} 個あります（例：{example}）。",
)
_NO_T_COUNT_HINT = Message(
    "Use Clifford+T gates (h, s, t, cx, ccx …) or rotations by multiples of π/4; "
    "a multi-controlled gate needs ancillas to be written that way.",
    "Clifford+T ゲート（h, s, t, cx, ccx など）か π/4 の倍数の回転を使ってください。"
    "多重制御ゲートをそのように書くには補助ビットが必要です。",
)
_CIRCUIT_KIND = Message("a QuantumCircuit", "QuantumCircuit")
_CIRCUIT_HINT = Message(
    "Make your function return the circuit (check for a missing `return`).",
    "関数が回路を返すようにしてください（`return` を忘れていませんか）。",
)
_METRICS_JA = {"depth": "深さ", "two_qubit_gates": "2 量子ビットゲート数", "t_count": "T ゲート数",
               "size": "ゲート数"}


@dataclass(frozen=True)
class Resources:
    """What a circuit costs on a target.

    Attributes:
        depth: Circuit depth (barriers excluded).
        two_qubit_gates: Number of gates acting on two or more qubits.
        t_count: Number of ``t`` and ``tdg`` gates and of :math:`R_z`/:math:`P`
            rotations by odd multiples of :math:`\\pi/4`.
        size: Number of gates (barriers and measurements excluded).
        ops: Count of each gate name.
        rotations: Parametrised gates whose angle is no multiple of
            :math:`\\pi/4` (or unbound): they have no exact T count.
        example: One such gate, written like ``rz(0.3) on qubit 2``.
        basis: The gates the circuit was counted in.
    """

    depth: int
    two_qubit_gates: int
    t_count: int
    size: int
    ops: Mapping[str, int]
    rotations: int = 0
    example: str = ""
    basis: tuple[str, ...] = DEFAULT_BASIS


@quiet
def count_resources(
    circuit: Any,
    *,
    basis_gates: Sequence[str] | None = None,
    coupling_map: Sequence[Sequence[int]] | None = None,
    optimization_level: int | None = None,
) -> Resources:
    """Return a circuit's resources after transpiling to a target, or decomposing to a basis.

    Args:
        circuit: The learner's ``QuantumCircuit``.
        basis_gates: Target gate names, e.g. ``["rz", "sx", "x", "cx"]``;
            default :data:`DEFAULT_BASIS`.
        coupling_map: Target connectivity as directed ``[control, target]`` pairs.
        optimization_level: Transpiler optimisation level (seed fixed);
            default 1 with a target, 0 (decomposition only) without.

    Returns:
        The counted :class:`Resources`.

    Raises:
        CheckFailed: The answer is not a circuit, or cannot be decomposed to
            the basis or routed on the coupling map (a gate without a
            definition, more qubits than the device).
    """
    import math

    circuit = _circuit(circuit)
    basis = tuple(basis_gates) if basis_gates else DEFAULT_BASIS
    if optimization_level is None:
        optimization_level = 1 if basis_gates or coupling_map else 0
    written = set(circuit.count_ops())
    if coupling_map or optimization_level or not written <= {*basis, "barrier", "measure"}:
        from qiskit import transpile

        from grader.circuits import simulating

        with simulating():
            circuit = transpile(
                circuit, basis_gates=list(basis),
                coupling_map=[list(e) for e in coupling_map] if coupling_map else None,
                optimization_level=optimization_level, seed_transpiler=SEED)
    ops = {name: int(n) for name, n in circuit.count_ops().items()}
    # CircuitInstruction's own name and params: no gate object is built per instruction.
    gates = [i for i in circuit.data if i.name not in ("barrier", "measure")]
    t_count, rotations, example = ops.get("t", 0) + ops.get("tdg", 0), 0, ""
    for instruction in gates:
        if not instruction.params or instruction.name in ("t", "tdg", "delay"):
            continue
        try:
            eighths = [float(angle) / (math.pi / 4) for angle in instruction.params]
        except (TypeError, ValueError):
            eighths = [0.5]  # an unbound parameter: no T count
        whole = all(abs(k - round(k)) < 1e-9 for k in eighths)
        if whole and instruction.name in _PHASE_ROTATIONS:
            t_count += round(eighths[0]) % 2
            continue
        # Clifford: angles that are multiples of π/2 on one qubit, of π on more.
        step = 2 if len(instruction.qubits) == 1 else 4
        if whole and all(round(k) % step == 0 for k in eighths):
            continue
        rotations += 1
        example = example or (f"{instruction.name}({', '.join(map(_angle, instruction.params))})"
                              f" on qubit {circuit.find_bit(instruction.qubits[0]).index}")
    return Resources(
        depth=int(circuit.depth(lambda i: i.name != "barrier")),
        two_qubit_gates=sum(1 for i in gates if len(i.qubits) >= 2),
        t_count=t_count,
        size=len(gates),
        ops=ops,
        rotations=rotations,
        example=example,
        basis=basis,
    )


def _angle(angle: Any) -> str:
    """Write an angle as a fraction of π when it is one (``π/8``, ``-3π/4``), else as a number."""
    import math
    from fractions import Fraction

    try:
        value = float(angle)
    except (TypeError, ValueError):
        return str(angle)  # an unbound parameter, by its name
    ratio = Fraction(value / math.pi).limit_denominator(64)
    if ratio and abs(float(ratio) * math.pi - value) < 1e-9:
        sign, top = ("-" if ratio < 0 else ""), abs(ratio.numerator)
        return f"{sign}{'' if top == 1 else top}π" + (f"/{ratio.denominator}"
                                                       if ratio.denominator != 1 else "")
    return f"{value:.4g}"


def _circuit(circuit: Any) -> Any:
    """Return a learner's circuit, or fail saying what the answer is instead."""
    from qiskit import QuantumCircuit

    if not isinstance(circuit, QuantumCircuit):
        raise CheckFailed(wrong_kind(circuit, _CIRCUIT_KIND, _CIRCUIT_HINT))
    return circuit


@quiet
def assert_gate_set(circuit: Any, allowed: Sequence[str]) -> None:
    """Assert that a circuit, as written, uses only the ``allowed`` gate names.

    Raises:
        CheckFailed: The answer is not a circuit, or uses gates outside the
            set (named).
    """
    extra = sorted(set(_circuit(circuit).count_ops()) - set(allowed) - {"barrier", "measure"})
    if extra:
        raise CheckFailed(Feedback(_GATES, hint=_GATES_HINT, values={
            "gates": ", ".join(extra), "allowed": ", ".join(allowed)}))


@quiet
def assert_resources(
    circuit: Any,
    *,
    max_depth: int | None = None,
    max_two_qubit_gates: int | None = None,
    max_t_count: int | None = None,
    basis_gates: Sequence[str] | None = None,
    coupling_map: Sequence[Sequence[int]] | None = None,
) -> Resources:
    """Assert that a circuit stays within resource limits on a target.

    Args:
        circuit: The learner's ``QuantumCircuit``.
        max_depth: Largest allowed depth.
        max_two_qubit_gates: Largest allowed number of two-qubit gates.
        max_t_count: Largest allowed T count.
        basis_gates: Target gates to transpile to before counting.
        coupling_map: Target connectivity to route on before counting.

    Returns:
        The counted resources, for further checks.

    Raises:
        CheckFailed: The first limit exceeded.
    """
    found = count_resources(circuit, basis_gates=basis_gates, coupling_map=coupling_map)
    if max_t_count is not None:
        _t_count_defined(found)
    for metric, limit in (("depth", max_depth), ("two_qubit_gates", max_two_qubit_gates),
                          ("t_count", max_t_count)):
        value = getattr(found, metric)
        if limit is not None and value > limit:
            raise CheckFailed(Feedback(_OVER, hint=_COUNTED, values={
                "metric": metric.replace("_", " "), "metric_ja": _METRICS_JA[metric],
                "found": value, "limit": limit, "basis": ", ".join(found.basis)}))
    return found


def _t_count_defined(found: Resources) -> None:
    """Fail when a circuit has rotations whose T count needs an approximate synthesis."""
    if found.rotations:
        raise CheckFailed(Feedback(_NO_T_COUNT, hint=_NO_T_COUNT_HINT, values={
            "rotations": found.rotations, "example": found.example,
            "basis": ", ".join(found.basis)}))


def _bands(metric: str, bands: Any) -> list[tuple[float, float]]:
    """Return a metric's bands sorted by limit, refusing malformed ones as the instructor's."""
    if metric not in _METRICS_JA:
        raise InvalidCheckError(f"unknown resource metric {metric!r}; known: {sorted(_METRICS_JA)}")
    try:
        ordered = sorted((float(limit), float(credit)) for limit, credit in bands)
    except (TypeError, ValueError):
        ordered = []
    if not ordered or not all(0 <= credit <= 1 for _, credit in ordered):
        raise InvalidCheckError(
            f"the bands of {metric!r} must be (limit, credit) pairs with credit in [0, 1], "
            f"got {bands!r}")
    return ordered


@quiet
def score_resources(
    circuit: Any,
    bands: Mapping[str, Sequence[tuple[int, float]]],
    *,
    basis_gates: Sequence[str] | None = None,
    coupling_map: Sequence[Sequence[int]] | None = None,
) -> float:
    """Return the credit fraction a circuit earns in resource bands.

    Args:
        circuit: The learner's ``QuantumCircuit``.
        bands: For each metric (``depth``, ``two_qubit_gates``, ``t_count``,
            ``size``), ``(limit, credit)`` pairs: the credit of the first band
            whose limit the value does not exceed; 0 above all bands.
        basis_gates: Target gates to transpile to before counting.
        coupling_map: Target connectivity to route on before counting.

    Returns:
        1.0 when every metric is in its best band.

    Raises:
        CheckFailed: Some metric earns less than full credit; ``score`` holds
            the fraction earned (the smallest over metrics), so a
            :class:`grader.credit.Rubric` records partial credit.
        InvalidCheckError: A band names an unknown metric.
    """
    if not isinstance(bands, Mapping):
        raise InvalidCheckError(f"bands must map metrics to (limit, credit) pairs, got {bands!r}")
    checked = {metric: _bands(metric, metric_bands) for metric, metric_bands in bands.items()}
    found = count_resources(circuit, basis_gates=basis_gates, coupling_map=coupling_map)
    if "t_count" in checked:
        _t_count_defined(found)
    worst: tuple[float, str, int, int] | None = None
    for metric, ordered in checked.items():
        value = getattr(found, metric)
        credit = next((c for limit, c in ordered if value <= limit), 0.0)
        if worst is None or credit < worst[0]:
            worst = (credit, metric, value, ordered[0][0])
    if worst is None or worst[0] >= 1.0:
        return 1.0
    credit, metric, value, best = worst
    raise CheckFailed(Feedback(_BAND, hint=_COUNTED, values={
        "metric": metric.replace("_", " "), "metric_ja": _METRICS_JA[metric],
        "found": value, "credit": credit, "best": best, "basis": ", ".join(found.basis)}),
        score=credit)
