"""Check measurement distributions with a stated error probability.

The test compares the learner's empirical distribution :math:`\\hat p` (from
:math:`N` shots) with the expected distribution :math:`q` in total-variation
distance :math:`\\mathrm{TV}(\\hat p, q) = \\tfrac12 \\sum_i |\\hat p_i - q_i|`.

Outcomes that :math:`q` gives probability zero are merged into one "other"
outcome; this leaves every TV distance to :math:`q` unchanged, so the test
works on :math:`k = |\\operatorname{supp} q| + 1` outcomes whatever the number
of qubits. The Bretagnolle–Huber–Carol inequality bounds the sampling error of
an empirical distribution on :math:`k` outcomes:

.. math::

    P\\big(\\mathrm{TV}(\\hat p, p) \\ge t\\big) \\le 2^k e^{-2Nt^2}.

The check fails when :math:`\\mathrm{TV}(\\hat p, q) > t` with
:math:`t = \\sqrt{(k\\ln 2 + \\ln(1/\\delta)) / (2N)}`. If the learner's
distribution is right (:math:`p = q`) it fails with probability at most
:math:`\\delta` (default :math:`10^{-6}`). To also catch every distribution
with :math:`\\mathrm{TV}(p, q) \\ge \\varepsilon` with probability at least
:math:`1 - \\delta`, it suffices that :math:`t \\le \\varepsilon/2` (by the
triangle inequality a miss needs :math:`\\mathrm{TV}(\\hat p, p) \\ge \\varepsilon/2`),
that is :math:`N \\ge 2(k\\ln 2 + \\ln(1/\\delta))/\\varepsilon^2` — the shots
:func:`shots_for` returns. No tolerance is picked by hand: the instructor states
the smallest distance that matters and the error probability.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from grader.answers import plain
from grader.errors import CheckFailed, InvalidCheckError, instructor_value
from grader.feedback import Feedback, Message, describe, quiet, wrong_kind

#: Default bound on the probability of failing a correct answer (and of passing
#: one at least the stated distance away).
FALSE_FAIL = 1e-6
#: Default smallest total-variation distance the check must detect.
MIN_DISTANCE = 0.1
#: Default seed of the simulator when the check samples a circuit itself.
SEED = 1234

_FAR = Message(
    "Your measurement distribution is {distance:.3f} away (total variation) from the expected "
    "one; at most {threshold:.3f} is expected from sampling noise with {shots} shots.",
    "あなたの測定分布は期待される分布から全変動距離で {distance:.3f} 離れています。"
    "{shots} ショットの統計誤差は {threshold:.3f} 以下のはずです。",
)
_FAR_HINT = Message(
    "The outcome {outcome} differs most: expected probability {expected_p:.3f}, found {found_p:.3f}.",
    "最も差が大きいのは結果 {outcome} です：期待確率 {expected_p:.3f}、実際 {found_p:.3f}。",
)
_COUNTS_KINDS = Message(
    "measurement counts (a dict such as {{'00': 480, '11': 520}}) or a QuantumCircuit",
    "測定カウント（{{'00': 480, '11': 520}} のような dict）または QuantumCircuit",
)
_COUNTS_HINT = Message(
    "Return result.get_counts() (or a Sampler's result[0].data.meas.get_counts()), or the circuit.",
    "result.get_counts()（Sampler なら result[0].data.meas.get_counts()）か回路を返してください。",
)
_BAD_OUTCOME = Message(
    "Your counts have the key {key}, which is not a measurement outcome such as '01'.",
    "あなたのカウントのキー {key} は '01' のような測定結果ではありません。",
)
_BAD_COUNT = Message(
    "Your count for the outcome {key} is {value}, not a non-negative number.",
    "結果 {key} のカウントが {value} で、0 以上の数ではありません。",
)
_BITS = Message(
    "Your outcomes have {found} bits; the expected outcomes have {expected}.",
    "あなたの測定結果は {found} ビットですが、期待される結果は {expected} ビットです。",
)
_BITS_HINT = Message(
    "Measure every qubit the task asks for, into a register of that size (measure_all()).",
    "課題が求めるすべての量子ビットを、その数のビットのレジスタに測定してください（measure_all()）。",
)
_PROBABILITIES_HINT = Message(
    "Your values add up to 1: they look like probabilities, but the check needs counts "
    "from at least {needed} shots.",
    "値の合計が 1 で確率のようですが、この確認には {needed} ショット以上のカウントが必要です。",
)
_FEW_SHOTS = Message(
    "Your counts have {shots} shots; the check needs at least {needed} to decide.",
    "あなたのカウントは {shots} ショットです。判定には {needed} ショット以上が必要です。",
)
_FEW_SHOTS_HINT = Message(
    "Run your circuit again with shots={needed}.",
    "shots={needed} で回路を再実行してください。",
)


def shots_for(
    min_distance: float = MIN_DISTANCE, *, outcomes: int, false_fail: float = FALSE_FAIL
) -> int:
    """Return the shots needed to tell distributions ``min_distance`` apart.

    Args:
        min_distance: Smallest total-variation distance :math:`\\varepsilon`
            to detect, in ``(0, 1]``.
        outcomes: Number :math:`k` of outcomes compared (the expected support
            plus one for "anything else").
        false_fail: Error probability :math:`\\delta` in each direction.

    Returns:
        :math:`N = \\lceil 2(k\\ln 2 + \\ln(1/\\delta))/\\varepsilon^2 \\rceil`.

    Raises:
        InvalidCheckError: An argument is out of range.
    """
    if not 0 < min_distance <= 1 or not 0 < false_fail < 1 or outcomes < 1:
        raise InvalidCheckError("need 0 < min_distance <= 1, 0 < false_fail < 1, outcomes >= 1")
    return math.ceil(2 * (outcomes * math.log(2) + math.log(1 / false_fail)) / min_distance**2)


def threshold(shots: int, *, outcomes: int, false_fail: float = FALSE_FAIL) -> float:
    """Return the largest TV distance sampling noise explains with probability ``1 - false_fail``."""
    return math.sqrt((outcomes * math.log(2) + math.log(1 / false_fail)) / (2 * shots))


def _outcome(key: Any, width: int) -> str | None:
    """Return an outcome key as a bit string without spaces, or ``None`` if it is not one.

    Integer keys (``get_int_counts``) and hexadecimal ``"0x…"`` keys become
    bit strings ``width`` wide.
    """
    if isinstance(key, int | np.integer) and not isinstance(key, bool | np.bool_):
        return format(int(key), f"0{width}b") if key >= 0 else None
    if not isinstance(key, str):
        return None
    text = key.replace(" ", "")
    if text.startswith("0x"):
        try:
            return format(int(text, 16), f"0{width}b")
        except ValueError:
            return None
    return text if text and set(text) <= {"0", "1"} else None


def _normalise(counts: Mapping[Any, Any], width: int = 0) -> dict[str, float]:
    """Return counts keyed by bit strings without spaces, refusing what is not counts.

    Args:
        counts: Outcome → count (or probability).
        width: Bits of an integer or hexadecimal key; default: the widest bit-string key.

    Raises:
        CheckFailed: A key is not an outcome or a value is not a finite,
            non-negative number.
    """
    width = width or max((len(str(k).replace(" ", "")) for k in counts
                          if isinstance(k, str) and not k.startswith("0x")), default=0)
    result: dict[str, float] = {}
    for key, value in counts.items():
        text = _outcome(key, width)
        number = plain(value)
        if text is None:
            raise CheckFailed(Feedback(_BAD_OUTCOME, hint=_COUNTS_HINT, values={
                "key": describe(key)}))
        if (isinstance(number, bool) or not isinstance(number, int | float)
                or not math.isfinite(number) or number < 0):
            raise CheckFailed(Feedback(_BAD_COUNT, hint=_COUNTS_HINT, values={
                "key": text, "value": describe(value)}))
        result[text] = result.get(text, 0) + float(number)
    return result


def expected_distribution(expected: Any) -> dict[str, float]:
    """Return outcome probabilities from a dict, ``Statevector`` or measurement-free circuit.

    Raises:
        InvalidCheckError: ``expected`` is none of these, or its
            probabilities are negative or all zero.
    """
    from grader.states import as_state

    with instructor_value("expected distribution", "期待される分布"):
        if isinstance(expected, Mapping):
            probabilities = _normalise(expected)
        else:
            probabilities = as_state(expected).probabilities_dict()
    total = sum(probabilities.values())
    if total <= 0:
        raise InvalidCheckError("expected probabilities must be non-negative and not all zero")
    return {k: p / total for k, p in probabilities.items() if p > 0}


def sample_counts(circuit: Any, shots: int, seed: int = SEED, noise_model: Any = None
                  ) -> dict[str, int]:
    """Run ``circuit`` on Qiskit Aer with a fixed seed and return its counts.

    Args:
        circuit: A ``QuantumCircuit``; measurements are added on every qubit
            when it has none.
        shots: Number of shots.
        seed: Simulator seed, so a re-grade gives the same counts.
        noise_model: A ``qiskit_aer.noise.NoiseModel`` to sample under, if any.

    Returns:
        Counts keyed by bit strings.

    Raises:
        CheckFailed: The circuit has unbound parameters or cannot be run.
    """
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    from grader.circuits import simulating, unbound

    unbound(circuit)
    if not any(i.operation.name == "measure" for i in circuit.data):
        circuit = circuit.measure_all(inplace=False)
    backend = AerSimulator(seed_simulator=seed, noise_model=noise_model)
    with simulating():
        # Transpiling to Aer's wide target costs more than sampling; skip it when
        # Aer runs every instruction as written.
        if not {i.operation.name for i in circuit.data} <= {*backend.operation_names, "barrier"}:
            circuit = transpile(circuit, backend, seed_transpiler=seed)
        result = backend.run(circuit, shots=shots).result()
        return dict(result.get_counts())


def _learner_counts(actual: Any, shots: int, seed: int, width: int, noise_model: Any = None
                    ) -> dict[str, float]:
    """Return a learner's counts from a mapping, a ``get_counts()`` result or a circuit."""
    from qiskit import QuantumCircuit

    if isinstance(actual, QuantumCircuit):
        return _normalise(sample_counts(actual, shots, seed, noise_model), width)
    if not isinstance(actual, Mapping) and callable(getattr(actual, "get_counts", None)):
        # A BitArray from a Sampler, or a one-experiment Result.
        try:
            actual = actual.get_counts()
        except Exception:  # noqa: BLE001 - whatever get_counts refuses, the answer is not counts
            actual = None
    if not isinstance(actual, Mapping):
        raise CheckFailed(wrong_kind(actual, _COUNTS_KINDS, _COUNTS_HINT))
    return _normalise(actual, width)


def total_variation(found: Mapping[str, float], expected: Mapping[str, float]) -> float:
    """Return :math:`\\tfrac12\\sum_i |p_i - q_i|` of two normalised distributions."""
    keys = set(found) | set(expected)
    return 0.5 * sum(abs(found.get(k, 0.0) - expected.get(k, 0.0)) for k in keys)


@quiet
def assert_distribution(
    actual: Any,
    expected: Any,
    *,
    min_distance: float = MIN_DISTANCE,
    false_fail: float = FALSE_FAIL,
    seed: int = SEED,
    noise_model: Any = None,
) -> None:
    """Assert that measured outcomes follow the expected distribution.

    Args:
        actual: The learner's counts (a mapping from bit strings to counts) or
            a ``QuantumCircuit``, which is then sampled on Aer with
            :func:`shots_for` shots and ``seed``.
        expected: Expected probabilities (mapping), ``Statevector`` or
            measurement-free circuit.
        min_distance: Smallest TV distance that must be detected.
        false_fail: Probability bound of failing a correct answer, and of
            passing one at least ``min_distance`` away.
        seed: Simulator seed when ``actual`` is a circuit.
        noise_model: A ``qiskit_aer.noise.NoiseModel`` to sample a circuit
            under; ``expected`` is then the distribution under that noise.

    Raises:
        CheckFailed: The distributions differ by more than sampling noise, or
            the learner's counts have too few shots to decide.
    """
    reference = expected_distribution(expected)
    outcomes = len(reference) + 1
    needed = shots_for(min_distance, outcomes=outcomes, false_fail=false_fail)
    widths = {len(k) for k in reference}
    counts = _learner_counts(actual, needed, seed, max(widths), noise_model)
    found_widths = {len(k) for k in counts}
    if len(widths) == 1 and len(found_widths) == 1 and widths != found_widths:
        raise CheckFailed(Feedback(_BITS, hint=_BITS_HINT, values={
            "found": found_widths.pop(), "expected": widths.pop()}))
    total = sum(counts.values())
    shots = int(round(total))
    if shots < needed:
        probabilities = 0 < total <= 1 + 1e-9 and any(c != int(c) for c in counts.values())
        raise CheckFailed(Feedback(
            _FEW_SHOTS, hint=_PROBABILITIES_HINT if probabilities else _FEW_SHOTS_HINT,
            values={"shots": shots, "needed": needed}))
    found = {k: c / shots for k, c in counts.items()}
    distance = total_variation(found, reference)
    limit = threshold(shots, outcomes=outcomes, false_fail=false_fail)
    if distance <= limit:
        return
    worst = max(set(found) | set(reference),
                key=lambda k: abs(found.get(k, 0.0) - reference.get(k, 0.0)))
    raise CheckFailed(Feedback(
        _FAR,
        expected=_top(reference), found=_top(found), hint=_FAR_HINT,
        values={"distance": distance, "threshold": limit, "shots": shots, "outcome": worst,
                "expected_p": reference.get(worst, 0.0), "found_p": found.get(worst, 0.0)},
    ))


def _top(distribution: Mapping[str, float], terms: int = 4) -> str:
    ranked = sorted(distribution.items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{k}: {p:.3f}" for k, p in ranked[:terms])
    return "{" + text + (", …" if len(ranked) > terms else "") + "}"
