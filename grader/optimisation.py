"""Check optimisation answers: QUBO/Ising models, samples, and samplers.

A binary quadratic model (BQM) has energy
:math:`E(s) = c + \\sum_i a_i s_i + \\sum_{i<j} b_{ij} s_i s_j` with
:math:`s_i \\in \\{0, 1\\}` (QUBO) or :math:`\\{-1, +1\\}` (Ising). Two models are
*equivalent up to a constant* when :math:`E_f(s) - E_e(s)` is the same for
every sample; on a common vartype that is exactly equal linear and quadratic
biases. Ising and QUBO forms are compared after converting with
:math:`s = 2x - 1`.

The success probability of a sampler is estimated from :math:`N` reads; the
check passes when :math:`\\hat p \\ge p_\\text{min} - \\sqrt{\\ln(1/\\delta)/(2N)}`,
so by Hoeffding's inequality a sampler whose true success probability is at
least :math:`p_\\text{min}` fails with probability at most :math:`\\delta`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from grader.distributions import FALSE_FAIL, SEED
from grader.errors import CheckFailed, InvalidCheckError, instructor_value
from grader.feedback import Feedback, Message, quiet, wrong_kind

#: Largest model, in variables, solved exactly to find the optimum.
MAX_EXACT_VARIABLES = 18

_VARIABLES = Message(
    "Your model's variables differ from the expected ones.",
    "あなたのモデルの変数が期待される変数と異なります。",
)
_COEFFICIENT = Message(
    "Your model is not equivalent to the expected one (a constant offset is allowed): "
    "the {kind} bias of {term} differs.",
    "あなたのモデルは期待されるモデルと等価ではありません（定数の違いは許されます）。"
    "{term} の{kind_ja}係数が異なります。",
)
_COEFFICIENT_HINT = Message(
    "On the sample {sample} the energy difference is {delta:.6g} instead of the constant {offset:.6g}.",
    "サンプル {sample} ではエネルギー差が定数 {offset:.6g} ではなく {delta:.6g} になります。",
)
_OFFSET = Message(
    "Your model's constant offset is {found:.6g}; expected {expected:.6g}.",
    "あなたのモデルの定数項は {found:.6g} ですが、{expected:.6g} が期待されます。",
)
_INFEASIBLE = Message(
    "Your sample violates the constraint '{name}': {lhs:.6g} {sense} {rhs:.6g} does not hold.",
    "あなたのサンプルは制約 '{name}' を満たしていません：{lhs:.6g} {sense} {rhs:.6g} が成り立ちません。",
)
_MISSING = Message(
    "Your sample has no value for the variable(s) {names}.",
    "サンプルに変数 {names} の値がありません。",
)
_NOT_OPTIMAL = Message(
    "Your sample has energy {found:.6g}; the lowest energy is {best:.6g} (gap {gap:.6g}).",
    "あなたのサンプルのエネルギーは {found:.6g} ですが、最小エネルギーは {best:.6g} です（差 {gap:.6g}）。",
)
_FLIP_HINT = Message(
    "Flipping {variable} alone lowers the energy by {gain:.6g}.",
    "{variable} を反転するだけでエネルギーが {gain:.6g} 下がります。",
)
_LOCAL_HINT = Message(
    "No single flip helps: your sample is a local minimum; try more reads or sweeps.",
    "1 ビットの反転では改善しません（局所最小）。読み出し回数やスイープ数を増やしてください。",
)
_SUCCESS = Message(
    "Only {hits} of {reads} reads reach the lowest energy {best:.6g} ({rate:.3f}); "
    "at least {target:.3f} is expected.",
    "{reads} 回の読み出しのうち最小エネルギー {best:.6g} に達したのは {hits} 回（{rate:.3f}）です。"
    "{target:.3f} 以上が期待されます。",
)
_SUCCESS_HINT = Message(
    "Increase num_sweeps or adjust beta_range so the anneal ends colder.",
    "num_sweeps を増やすか、beta_range を調整して最後の温度を下げてください。",
)

_SAMPLESET_KINDS = Message(
    "a dimod SampleSet or a dict of SimulatedAnnealingSampler parameters",
    "dimod の SampleSet または SimulatedAnnealingSampler のパラメータの dict",
)
_SAMPLESET_HINT = Message(
    "Return what sampler.sample(bqm, ...) gives, or parameters such as {{'num_sweeps': 1000}}.",
    "sampler.sample(bqm, ...) の結果か、{{'num_sweeps': 1000}} のようなパラメータを返してください。",
)
_DOMAIN = Message(
    "Your sample gives the variable {variable} the value {value}; it takes only {allowed}.",
    "あなたのサンプルでは変数 {variable} の値が {value} ですが、取りうる値は {allowed} だけです。",
)
_DOMAIN_HINTS = {
    "SPIN": Message("Spins are −1 or +1: convert binary values with s = 2x − 1.",
                    "スピンは −1 か +1 です。バイナリ値は s = 2x − 1 で変換してください。"),
    "BINARY": Message("Binary variables are 0 or 1: convert spins with x = (s + 1) / 2.",
                      "バイナリ変数は 0 か 1 です。スピンは x = (s + 1) / 2 で変換してください。"),
}
_PARAMETERS = Message(
    "SimulatedAnnealingSampler has no parameter(s) {names}.",
    "SimulatedAnnealingSampler にはパラメータ {names} がありません。",
)
_PARAMETER_VALUE = Message(
    "SimulatedAnnealingSampler refused your parameters: {reason}",
    "SimulatedAnnealingSampler があなたのパラメータを受け付けませんでした：{reason}",
)
_PARAMETERS_HINT = Message(
    "Its parameters are: {known}.",
    "使えるパラメータ：{known}。",
)

_SENSES: dict[str, Callable[[float, float, float], bool]] = {
    "==": lambda lhs, rhs, tol: abs(lhs - rhs) <= tol,
    "<=": lambda lhs, rhs, tol: lhs <= rhs + tol,
    ">=": lambda lhs, rhs, tol: lhs >= rhs - tol,
}


def as_bqm(model: Any, vartype: Any = None) -> Any:
    """Return a ``dimod.BinaryQuadraticModel`` for a BQM, QUBO dict or Ising tuple.

    Args:
        model: A BQM; a QUBO ``{(u, v): bias}`` dict (binary); or an Ising
            ``(h, J)`` / ``(h, J, offset)`` tuple (spin).
        vartype: Convert the result to this vartype (``"BINARY"``/``"SPIN"``).

    Returns:
        A new BQM (the learner's object is never modified).

    Raises:
        InvalidCheckError: ``model`` is none of the accepted forms.
    """
    import dimod

    if isinstance(model, dimod.BinaryQuadraticModel):
        bqm = model.copy()
    elif isinstance(model, Mapping):
        bqm = dimod.BinaryQuadraticModel.from_qubo(model)
    elif isinstance(model, tuple) and len(model) in (2, 3):
        bqm = dimod.BinaryQuadraticModel.from_ising(*model)
    else:
        raise InvalidCheckError(f"cannot read a model from {type(model).__name__}")
    if vartype is not None:
        bqm.change_vartype(vartype, inplace=True)
    return bqm


@quiet
def assert_bqm_equivalent(
    actual: Any,
    expected: Any,
    *,
    variable_map: Mapping[Hashable, Hashable] | None = None,
    up_to_offset: bool = True,
    atol: float = 1e-9,
) -> None:
    """Assert that a learner's model equals the expected one up to a constant.

    Args:
        actual: The learner's BQM, QUBO dict or Ising tuple.
        expected: The reference model (any form :func:`as_bqm` takes).
        variable_map: Learner's variable name → expected variable name.
        up_to_offset: Allow a different constant offset (default); ``False``
            also compares offsets.
        atol: Largest allowed difference of any bias.

    Raises:
        CheckFailed: The variables or a bias differ; the message names the
            coefficient and a sample on which the energy difference is not
            constant.
    """
    import dimod

    reference = as_bqm(expected)
    found = as_bqm(actual, reference.vartype)
    if variable_map:
        found.relabel_variables(dict(variable_map), inplace=True)
    if set(found.variables) != set(reference.variables):
        raise CheckFailed(Feedback(
            _VARIABLES, expected=_names(reference.variables), found=_names(found.variables)))
    difference = _difference(found, reference)
    named = _first_term(difference, atol)
    if named is not None:
        term, kind = named
        binary = difference.binary
        # Some binary term differs too (the conversion is invertible); a sample
        # setting exactly its variables to 1 changes the energy difference.
        binary_term, binary_kind = _first_term(binary, atol)
        ones = {binary_term} if binary_kind == "linear" else set(binary_term)
        binary_sample = {v: int(v in ones) for v in binary.variables}
        sample = (binary_sample if reference.vartype is dimod.BINARY
                  else {v: 2 * x - 1 for v, x in binary_sample.items()})
        if kind == "linear":
            expected_bias, found_bias = reference.get_linear(term), found.get_linear(term)
        else:
            expected_bias = reference.get_quadratic(*term, default=0)
            found_bias = found.get_quadratic(*term, default=0)
        raise CheckFailed(Feedback(
            _COEFFICIENT, expected=f"{expected_bias:.6g}", found=f"{found_bias:.6g}",
            hint=_COEFFICIENT_HINT,
            values={"kind": kind, "kind_ja": "1 次" if kind == "linear" else "2 次",
                    "term": term, "sample": sample,
                    "delta": binary.energy(binary_sample), "offset": binary.offset},
        ))
    if not up_to_offset and abs(difference.offset) > atol:
        raise CheckFailed(Feedback(_OFFSET, values={
            "found": found.offset, "expected": reference.offset}))


def _difference(found: Any, reference: Any) -> Any:
    """Return the BQM ``found - reference`` in the reference's vartype."""
    difference = found.copy()
    for v, bias in reference.iter_linear():
        difference.add_linear(v, -bias)
    for u, v, bias in reference.iter_quadratic():
        difference.add_quadratic(u, v, -bias)
    difference.offset -= reference.offset
    return difference


def _first_term(difference: Any, atol: float) -> tuple[Any, str] | None:
    """Return the first linear, else quadratic, term whose bias exceeds ``atol``."""
    for v, bias in difference.iter_linear():
        if abs(bias) > atol:
            return v, "linear"
    for u, v, bias in difference.iter_quadratic():
        if abs(bias) > atol:
            return (u, v), "quadratic"
    return None


def _names(variables: Any) -> str:
    return "{" + ", ".join(sorted(map(str, variables))) + "}"


def _constraint_value(constraint: Mapping[str, Any], sample: Mapping[Hashable, float]) -> float:
    value = float(constraint.get("constant", 0.0))
    for v, a in constraint.get("linear", {}).items():
        value += a * sample[v]
    quadratic = constraint.get("quadratic", {})
    items = quadratic.items() if isinstance(quadratic, Mapping) else (
        ((u, v), b) for u, v, b in quadratic)
    for (u, v), b in items:
        value += b * sample[u] * sample[v]
    return value


@quiet
def assert_feasible(
    sample: Mapping[Hashable, float],
    constraints: Mapping[str, Mapping[str, Any]],
    *,
    atol: float = 1e-9,
) -> None:
    """Assert that a sample satisfies every named constraint.

    A constraint is a mapping ``{"linear": {v: a_v}, "quadratic": {(u, v): b_uv},
    "constant": c, "sense": "==" | "<=" | ">=", "rhs": r}`` meaning
    :math:`c + \\sum_v a_v s_v + \\sum b_{uv} s_u s_v \\;\\text{sense}\\; r`
    (``quadratic`` may also be a list of ``[u, v, b]`` triples, as in JSON).

    Args:
        sample: The learner's assignment of values to variables.
        constraints: Constraints by name, checked in order.
        atol: Slack allowed on each side of a constraint.

    Raises:
        CheckFailed: A variable is missing, or a constraint is violated; the
            message names the first violated constraint.
        InvalidCheckError: A constraint has an unknown sense.
    """
    needed: set[Hashable] = set()
    for constraint in constraints.values():
        needed |= set(constraint.get("linear", {}))
        quadratic = constraint.get("quadratic", {})
        for term in (quadratic if isinstance(quadratic, Mapping) else
                     [(u, v) for u, v, _ in quadratic]):
            needed |= set(term)
    missing = needed - set(sample)
    if missing:
        raise CheckFailed(Feedback(_MISSING, values={"names": _names(missing)}))
    for name, constraint in constraints.items():
        sense = constraint.get("sense", "==")
        if sense not in _SENSES:
            raise InvalidCheckError(f"constraint {name!r} has unknown sense {sense!r}")
        lhs, rhs = _constraint_value(constraint, sample), float(constraint.get("rhs", 0.0))
        if not _SENSES[sense](lhs, rhs, atol):
            raise CheckFailed(Feedback(_INFEASIBLE, values={
                "name": name, "lhs": lhs, "sense": sense, "rhs": rhs}))


def ground_energy(model: Any, reference_energy: float | None = None) -> float:
    """Return the lowest energy of a model: ``reference_energy``, or solved exactly.

    Raises:
        InvalidCheckError: The model has more than :data:`MAX_EXACT_VARIABLES`
            variables and no ``reference_energy`` was given.
    """
    import dimod

    if reference_energy is not None:
        return float(reference_energy)
    bqm = as_bqm(model)
    if bqm.num_variables > MAX_EXACT_VARIABLES:
        raise InvalidCheckError(
            f"{bqm.num_variables} variables is too many to solve exactly; give reference_energy")
    return float(dimod.ExactSolver().sample(bqm).first.energy)


def _best_sample(answer: Any) -> Mapping[Hashable, float]:
    import dimod

    if isinstance(answer, dimod.SampleSet):
        return dict(answer.first.sample)
    return answer


@quiet
def assert_optimal(
    sample: Any, model: Any, *, reference_energy: float | None = None, atol: float = 1e-6
) -> None:
    """Assert that a sample reaches the lowest energy of a model.

    Args:
        sample: The learner's sample (mapping) or ``SampleSet`` (its lowest
            energy sample is used).
        model: The model (any form :func:`as_bqm` takes).
        reference_energy: The known optimum for models too large to solve
            exactly (see :data:`MAX_EXACT_VARIABLES`).
        atol: Energy slack.

    Raises:
        CheckFailed: The sample's energy is above the optimum; the hint names a
            single flip that improves it, if one exists (without revealing the
            optimal sample).
    """
    bqm = as_bqm(model)
    chosen = _best_sample(sample)
    missing = set(bqm.variables) - set(chosen)
    if missing:
        raise CheckFailed(Feedback(_MISSING, values={"names": _names(missing)}))
    energy = float(bqm.energy(chosen))
    best = ground_energy(bqm, reference_energy)
    if energy <= best + atol:
        return
    hint, values = _LOCAL_HINT, {"found": energy, "best": best, "gap": energy - best}
    flipped_value = (lambda x: 1 - x) if bqm.vartype.name == "BINARY" else (lambda x: -x)
    gains = {v: energy - bqm.energy({**chosen, v: flipped_value(chosen[v])}) for v in bqm.variables}
    variable = max(gains, key=lambda v: gains[v])
    if gains[variable] > atol:
        hint = _FLIP_HINT
        values |= {"variable": variable, "gain": gains[variable]}
    raise CheckFailed(Feedback(_NOT_OPTIMAL, hint=hint, values=values))


def success_probability(sampleset: Any, model: Any, best: float, atol: float = 1e-6
                        ) -> tuple[int, int]:
    """Return ``(hits, reads)``: reads whose energy on ``model`` is within ``atol`` of ``best``.

    Every sample is evaluated on ``model`` (any form :func:`as_bqm` takes);
    the ``energy`` field a sampler wrote is never read, so a sample set of the
    model plus a constant, of another model, or from any dimod sampler counts
    the same reads. A sample set of the other vartype is read through
    :math:`s = 2x - 1`.

    Raises:
        CheckFailed: The sample set is not a ``dimod.SampleSet``, lacks a
            variable of the model, or holds values outside the vartype.
    """
    import dimod
    import numpy as np

    bqm = as_bqm(model)
    if not isinstance(sampleset, dimod.SampleSet):
        raise CheckFailed(wrong_kind(sampleset, _SAMPLESET_KINDS, _SAMPLESET_HINT))
    record = sampleset.record
    labels = list(sampleset.variables)
    missing = set(bqm.variables) - set(labels)
    if missing:
        raise CheckFailed(Feedback(_MISSING, values={"names": _names(missing)}))
    samples = np.asarray(record.sample)
    columns = [labels.index(v) for v in bqm.variables]
    samples = samples[:, columns] if len(samples) else samples.reshape(0, len(columns))
    _check_domain(samples, list(bqm.variables), sampleset.vartype)
    if sampleset.vartype is not bqm.vartype:
        bqm = bqm.change_vartype(sampleset.vartype, inplace=False)
    energies = bqm.energies((samples, list(bqm.variables))) if len(samples) else np.zeros(0)
    occurrences = (np.asarray(record.num_occurrences, dtype=int)
                   if "num_occurrences" in record.dtype.names else np.ones(len(samples), int))
    hits = int(occurrences[energies <= best + atol].sum())
    return hits, int(occurrences.sum())


def _check_domain(samples: Any, variables: list[Hashable], vartype: Any) -> None:
    """Fail when a sample holds a value its vartype does not have (a 0 for a spin, say)."""
    import numpy as np

    allowed = sorted(vartype.value)
    outside = ~np.isin(samples, allowed)
    if outside.any():
        row, column = (int(i) for i in np.argwhere(outside)[0])
        raise CheckFailed(Feedback(_DOMAIN, hint=_DOMAIN_HINTS[vartype.name], values={
            "variable": variables[column], "value": samples[row, column],
            "allowed": " / ".join(map(str, allowed))}))


@quiet
def assert_success_probability(
    answer: Any,
    model: Any,
    *,
    min_probability: float,
    reference_energy: float | None = None,
    num_reads: int = 200,
    seed: int = SEED,
    false_fail: float = FALSE_FAIL,
    atol: float = 1e-6,
) -> None:
    """Assert that a sampler finds the lowest energy often enough.

    A read succeeds when its sample's energy on ``model`` is at most the
    optimum plus ``atol``. Energies are always recomputed on ``model``, never
    read from the sample set, so constant offsets never matter (as in
    :func:`assert_bqm_equivalent`).

    Args:
        answer: A ``SampleSet`` the learner produced with any dimod sampler, or
            a mapping of ``SimulatedAnnealingSampler`` parameters
            (``num_sweeps``, ``beta_range``, …) that the check runs with
            ``num_reads`` and ``seed``.
        model: The model sampled.
        min_probability: Required success probability :math:`p_\\text{min}`.
        reference_energy: Known optimum for models too large to solve exactly.
        num_reads: Reads when the check runs the sampler itself.
        seed: Sampler seed, so a re-grade gives the same verdict.
        false_fail: Bound :math:`\\delta` on failing a sampler whose true
            success probability is at least ``min_probability``.
        atol: Energy slack for counting a read as a success.

    Raises:
        CheckFailed: The answer is neither a sample set nor sampler
            parameters, a parameter is refused by the sampler, or the observed
            success rate is below :math:`p_\\text{min} - \\sqrt{\\ln(1/\\delta)/(2N)}`.
        InvalidCheckError: ``model`` is not a model.
    """
    with instructor_value("model", "モデル"):
        bqm = as_bqm(model)
    best = ground_energy(bqm, reference_energy)
    if isinstance(answer, Mapping):
        answer = _anneal(bqm, answer, num_reads, seed)
    hits, reads = success_probability(answer, bqm, best, atol)
    if reads == 0:
        raise CheckFailed(Feedback(_SUCCESS, values={
            "hits": 0, "reads": 0, "best": best, "rate": 0.0, "target": min_probability}))
    margin = math.sqrt(math.log(1 / false_fail) / (2 * reads))
    if hits / reads >= min_probability - margin:
        return
    raise CheckFailed(Feedback(_SUCCESS, hint=_SUCCESS_HINT, values={
        "hits": hits, "reads": reads, "best": best, "rate": hits / reads,
        "target": min_probability}))


def _anneal(bqm: Any, parameters: Mapping[Any, Any], num_reads: int, seed: int) -> Any:
    """Run simulated annealing with a learner's parameters, failing on ones it refuses."""
    from dwave.samplers import SimulatedAnnealingSampler

    sampler = SimulatedAnnealingSampler()
    unknown = sorted(str(k) for k in parameters if k not in sampler.parameters)
    if unknown:
        raise CheckFailed(Feedback(_PARAMETERS, hint=_PARAMETERS_HINT, values={
            "names": ", ".join(unknown), "known": ", ".join(sorted(sampler.parameters))}))
    try:
        return sampler.sample(bqm, **{**parameters, "num_reads": num_reads, "seed": seed})
    except (TypeError, ValueError, OverflowError) as error:
        # The model and the reads are the check's own: only the learner's values can be refused.
        raise CheckFailed(Feedback(_PARAMETER_VALUE, hint=_PARAMETERS_HINT, values={
            "reason": f"{type(error).__name__}: {error}",
            "known": ", ".join(sorted(sampler.parameters))})) from None
