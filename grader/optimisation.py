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
from grader.feedback import Feedback, Message, describe, quiet, wrong_kind

#: Largest model, in variables, solved exactly to find the optimum.
MAX_EXACT_VARIABLES = 18

_VARIABLES = Message(
    "Your model's variables differ from the expected ones.",
    "あなたのモデルの変数が期待される変数と異なります。",
)
_COEFFICIENT = Message(
    "Your {form} model is not equivalent to the expected one (a constant offset is allowed): "
    "its {term} differs.",
    "あなたの{form_ja}モデルは期待されるモデルと等価ではありません（定数の違いは許されます）。"
    "{term_ja}が異なります。",
)
#: How a learner's form is called, and how it names its terms (English, Japanese).
_FORMS = {"SPIN": ("Ising", "イジング"), "BINARY": ("QUBO", "QUBO ")}
_TERMS = {
    ("SPIN", "linear"): ("field h[{0}]", "局所場 h[{0}] "),
    ("SPIN", "quadratic"): ("coupling J[({0}, {1})]", "結合 J[({0}, {1})] "),
    ("BINARY", "linear"): ("coefficient Q[({0}, {0})] of x[{0}]", "x[{0}] の係数 Q[({0}, {0})] "),
    ("BINARY", "quadratic"): ("coefficient Q[({0}, {1})] of x[{0}]·x[{1}]",
                              "x[{0}]·x[{1}] の係数 Q[({0}, {1})] "),
}
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

_MODEL_KINDS = Message(
    "a model: a dimod BinaryQuadraticModel, a QUBO dict {{(u, v): bias}} or matrix, or an Ising "
    "tuple (h, J) or (h, J, offset)",
    "モデル（dimod の BinaryQuadraticModel、QUBO の dict {{(u, v): 係数}} か行列、"
    "またはイジングのタプル (h, J) か (h, J, offset)）",
)
_MODEL_HINT = Message(
    "Build it with dimod.BinaryQuadraticModel(linear, quadratic, offset, 'BINARY') or return "
    "the (h, J, offset) of your Ising model.",
    "dimod.BinaryQuadraticModel(linear, quadratic, offset, 'BINARY') で作るか、"
    "イジングモデルの (h, J, offset) を返してください。",
)
_QUBO_HINT = Message(
    "Every key of a QUBO dict is a pair of variables, such as ('a', 'b') or ('a', 'a') "
    "for a linear term.",
    "QUBO の dict のキーは ('a', 'b') のような変数の組です（1 次の項は ('a', 'a')）。",
)
_UNREADABLE_MODEL = Message(
    "Your model ({found}) cannot be read: {reason}",
    "あなたのモデル（{found}）を読み取れません：{reason}",
)
_SAMPLE_KINDS = Message(
    "a sample: a dict from each variable to its value, or a dimod SampleSet",
    "サンプル（各変数から値への dict、または dimod の SampleSet）",
)
_SAMPLE_HINT = Message(
    "Return a dict such as {{'a': 0, 'b': 1}}, sampleset.first.sample, or the SampleSet.",
    "{{'a': 0, 'b': 1}} のような dict、sampleset.first.sample、または SampleSet を返してください。",
)
_NOT_A_VALUE = Message(
    "Your sample gives the variable {variable} the value {value}, which is not a number.",
    "あなたのサンプルでは変数 {variable} の値が {value} で、数ではありません。",
)
_EMPTY = Message("Your SampleSet has no samples.", "あなたの SampleSet にはサンプルがありません。")
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


def as_bqm(model: Any, vartype: Any = None, *, copy: bool = True, check_finite: bool = True) -> Any:
    """Return a ``dimod.BinaryQuadraticModel`` for a BQM, QUBO dict or matrix, or Ising tuple.

    Args:
        model: A BQM; a QUBO ``{(u, v): bias}`` dict or square NumPy matrix
            (binary, variables ``0 … n-1``); or an Ising ``(h, J)`` /
            ``(h, J, offset)`` tuple (spin).
        vartype: Convert the result to this vartype (``"BINARY"``/``"SPIN"``).
        copy: Copy a BQM given as such; ``False`` for callers that only read it.
        check_finite: Refuse nan and infinite biases here; ``False`` for a caller
            that reads the biases anyway and calls :func:`_check_finite` itself.

    Returns:
        A BQM; a new one unless ``copy=False`` (the learner's object is never
        modified).

    Raises:
        CheckFailed: ``model`` is none of the accepted forms, or has a bias
            that is not a finite number (for an instructor's model, wrap the
            call in :func:`grader.errors.instructor_value`).
    """
    import dimod

    try:
        if isinstance(model, dimod.BinaryQuadraticModel):
            bqm = model.copy() if copy or vartype is not None else model
        elif isinstance(model, Mapping):
            if not all(isinstance(k, tuple) and len(k) == 2 for k in model):
                raise CheckFailed(wrong_kind(model, _MODEL_KINDS, _QUBO_HINT))
            bqm = dimod.BinaryQuadraticModel.from_qubo(model)
        elif isinstance(model, tuple) and len(model) in (2, 3):
            bqm = dimod.BinaryQuadraticModel.from_ising(*model)
        elif (type(model).__name__ == "ndarray" and model.ndim == 2
              and model.shape[0] == model.shape[1] and model.dtype.kind in "biuf"):
            bqm = dimod.BinaryQuadraticModel(model, "BINARY")
        else:
            raise CheckFailed(wrong_kind(model, _MODEL_KINDS, _MODEL_HINT))
    except (TypeError, ValueError, KeyError, IndexError) as error:
        # dimod refuses biases or labels it cannot read: the learner's form is broken.
        raise CheckFailed(Feedback(_UNREADABLE_MODEL, hint=_MODEL_HINT, values={
            "found": describe(model), "reason": f"{type(error).__name__}: {error}"})) from None
    if check_finite:
        _check_finite(bqm, model)
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

    Biases are compared in the learner's own form: the reference is converted
    to the learner's vartype (:math:`s = 2x - 1`), so a failure names the
    learner's Ising field :math:`h_i` or coupling :math:`J_{ij}`, or QUBO
    coefficient :math:`Q_{ij}`, a differing quadratic term first.

    Args:
        actual: The learner's BQM, QUBO dict or matrix, or Ising tuple.
        expected: The reference model (any form :func:`as_bqm` takes).
        variable_map: Learner's variable name → expected variable name.
        up_to_offset: Allow a different constant offset (default); ``False``
            also compares offsets.
        atol: Largest allowed difference of any bias, in the learner's form.

    Raises:
        CheckFailed: The answer is no model, or the variables or a bias
            differ; the message names the term in the learner's form and a
            sample on which the energy difference is not constant.
        InvalidCheckError: ``expected`` is no model, or ``variable_map``
            cannot relabel the learner's variables.
    """
    import dimod

    # Biases are checked for nan and infinity only when the models disagree: two
    # models whose biases agree within atol have finite biases (a nan or infinite
    # one never agrees), so a right answer costs no extra pass; offsets are looked at.
    with instructor_value("model", "モデル"):
        reference = as_bqm(expected, copy=False, check_finite=False)
    found = as_bqm(actual, check_finite=False)
    shown: dict[Hashable, Hashable] = {}
    if variable_map:
        try:
            found.relabel_variables(dict(variable_map), inplace=True)
        except (TypeError, ValueError) as error:
            raise InvalidCheckError(f"variable_map cannot relabel the model: {error}") from None
        shown = {new: old for old, new in dict(variable_map).items()}
    if set(found.variables) != set(reference.variables):
        raise CheckFailed(Feedback(
            _VARIABLES, expected=_names(reference.variables), found=_names(found.variables)))
    # Compare in the form the learner wrote, so that the message names their own terms.
    target = reference.change_vartype(found.vartype, inplace=False)
    if not (math.isfinite(found.offset) and math.isfinite(target.offset)
            and _agree_within(found, target, atol)):
        with instructor_value("model", "モデル"):
            _check_finite(reference, expected)
        _check_finite(found, actual)
        difference = _difference(found, target)
        named = _named_term(difference, atol)
        if named is not None:
            term, kind = named
            binary = difference.binary
            # Some binary term differs too (the conversion is invertible); a sample
            # setting exactly its variables to 1 changes the energy difference.
            binary_term, binary_kind = _witness_term(binary, atol) or _witness_term(binary, 0.0)
            ones = {binary_term} if binary_kind == "linear" else set(binary_term)
            binary_sample = {v: int(v in ones) for v in binary.variables}
            sample = {shown.get(v, v): x if found.vartype is dimod.BINARY else 2 * x - 1
                      for v, x in binary_sample.items()}
            if kind == "linear":
                expected_bias, found_bias = target.get_linear(term), found.get_linear(term)
            else:
                expected_bias = target.get_quadratic(*term, default=0)
                found_bias = found.get_quadratic(*term, default=0)
            labels = [repr(shown.get(v, v)) for v in ((term,) if kind == "linear" else term)]
            en, ja = _TERMS[found.vartype.name, kind]
            raise CheckFailed(Feedback(
                _COEFFICIENT, expected=f"{expected_bias:.6g}", found=f"{found_bias:.6g}",
                hint=_COEFFICIENT_HINT,
                values={"form": _FORMS[found.vartype.name][0], "form_ja": _FORMS[found.vartype.name][1],
                        "term": en.format(*labels), "term_ja": ja.format(*labels), "sample": sample,
                        "delta": binary.energy(binary_sample), "offset": binary.offset},
            ))
    if not up_to_offset and abs(found.offset - target.offset) > atol:
        raise CheckFailed(Feedback(_OFFSET, values={
            "found": found.offset, "expected": target.offset}))


def _check_finite(bqm: Any, model: Any) -> None:
    """Refuse a model with a nan or infinite bias, describing the learner's *model*."""
    import numpy as np

    linear, (_, _, quadratic), offset = bqm.to_numpy_vectors()
    # A nan or infinite bias makes the sum so; only then look closer (a sum can
    # overflow from finite biases).
    if not math.isfinite(float(np.add.reduce(linear)) + float(np.add.reduce(quadratic))
                         + float(offset)) and not (
            np.isfinite(linear).all() and np.isfinite(quadratic).all() and np.isfinite(offset)):
        raise CheckFailed(Feedback(_UNREADABLE_MODEL, hint=_MODEL_HINT, values={
            "found": describe(model), "reason": "a bias is nan or infinite"}))


def _agree_within(found: Any, reference: Any, atol: float) -> bool:
    """Return True when two models on the same variables have the same biases within ``atol``.

    Both are read as NumPy vectors in one variable order; models whose
    interactions differ in structure (an explicit zero coupling, say) answer
    False and are compared term by term by the caller. This keeps a right
    answer, the common case, from building a difference model.
    """
    import numpy as np

    linear, (rows, columns, quadratic), _, order = found.to_numpy_vectors(
        sort_labels=False, return_labels=True)
    linear_r, (rows_r, columns_r, quadratic_r), _ = reference.to_numpy_vectors(
        variable_order=order)
    if rows.tobytes() != rows_r.tobytes() or columns.tobytes() != columns_r.tobytes():
        return False
    # ufunc reductions called directly: ndarray.max() and np.all() cost more than the
    # comparison itself on a model of ten variables.
    return bool(np.maximum.reduce(np.abs(linear - linear_r), initial=0.0) <= atol
                and np.maximum.reduce(np.abs(quadratic - quadratic_r), initial=0.0) <= atol)


def _difference(found: Any, reference: Any) -> Any:
    """Return the BQM ``found - reference`` in the reference's vartype."""
    difference = found.copy()
    for v, bias in reference.iter_linear():
        difference.add_linear(v, -bias)
    for u, v, bias in reference.iter_quadratic():
        difference.add_quadratic(u, v, -bias)
    difference.offset -= reference.offset
    return difference


#: Models with at most this many biases are searched without NumPy.
_SMALL_MODEL = 32


def _named_term(difference: Any, atol: float) -> tuple[Any, str] | None:
    """Return the quadratic term whose bias differs most, else the linear one, beyond ``atol``.

    A wrong coupling also shifts linear biases once converted between Ising
    and QUBO forms, so the quadratic term is named first: it is the one to fix.
    """
    import numpy as np

    if difference.num_variables + difference.num_interactions <= _SMALL_MODEL:
        # Small models: reading the biases costs less than building arrays.
        quadratic = max(difference.iter_quadratic(), key=lambda t: abs(t[2]), default=None)
        if quadratic is not None and abs(quadratic[2]) > atol:
            return (quadratic[0], quadratic[1]), "quadratic"
        linear = max(difference.iter_linear(), key=lambda t: abs(t[1]), default=None)
        return (linear[0], "linear") if linear is not None and abs(linear[1]) > atol else None
    linear, (rows, columns, quadratic), _, variables = difference.to_numpy_vectors(
        return_labels=True)
    if len(quadratic) and np.max(np.abs(quadratic)) > atol:
        worst = int(np.argmax(np.abs(quadratic)))
        return (variables[int(rows[worst])], variables[int(columns[worst])]), "quadratic"
    if len(linear) and np.max(np.abs(linear)) > atol:
        return variables[int(np.argmax(np.abs(linear)))], "linear"
    return None


def _witness_term(binary: Any, atol: float) -> tuple[Any, str] | None:
    """Return the first linear, else quadratic, term of a binary difference beyond ``atol``.

    With every linear bias within ``atol``, setting a differing quadratic
    term's two variables to 1 changes the energy difference by its bias.
    """
    for v, bias in binary.iter_linear():
        if abs(bias) > atol:
            return v, "linear"
    for u, v, bias in binary.iter_quadratic():
        if abs(bias) > atol:
            return (u, v), "quadratic"
    return None


def _names(variables: Any) -> str:
    return "{" + ", ".join(sorted(map(str, variables))) + "}"


def _constraints(constraints: Any) -> list[tuple[str, dict, list, float, str, float]]:
    """Return each constraint as ``(name, linear, quadratic triples, constant, sense, rhs)``.

    Raises:
        InvalidCheckError: A constraint is not of the documented form.
    """
    result = []
    try:
        for name, constraint in constraints.items():
            quadratic = constraint.get("quadratic", {})
            triples = ([(u, v, float(b)) for (u, v), b in quadratic.items()]
                       if isinstance(quadratic, Mapping) else
                       [(u, v, float(b)) for u, v, b in quadratic])
            linear = {v: float(a) for v, a in constraint.get("linear", {}).items()}
            sense = constraint.get("sense", "==")
            result.append((name, linear, triples, float(constraint.get("constant", 0.0)), sense,
                           float(constraint.get("rhs", 0.0))))
    except (AttributeError, TypeError, ValueError) as error:
        raise InvalidCheckError(
            "constraints must map names to {'linear': {v: a}, 'quadratic': {(u, v): b}, "
            f"'constant': c, 'sense': '==', 'rhs': r}}: {type(error).__name__}: {error}"
        ) from None
    for name, *_, sense, _ in result:
        if sense not in _SENSES:
            raise InvalidCheckError(f"constraint {name!r} has unknown sense {sense!r}")
    return result


def _sample(answer: Any) -> dict[Hashable, float]:
    """Return a learner's sample as a dict of real numbers.

    A ``SampleSet`` gives its first sample; a list or 1-D array gives the
    values of the variables ``0 … n-1``.

    Raises:
        CheckFailed: The answer is no sample, or a value is not a real number.
    """
    import dimod

    from grader.answers import plain

    if isinstance(answer, dimod.SampleSet):
        if not len(answer):
            raise CheckFailed(Feedback(_EMPTY, hint=_SAMPLE_HINT))
        answer = answer.first.sample
    answer = plain(answer)
    if isinstance(answer, list | tuple) and not any(isinstance(v, list) for v in answer):
        answer = dict(enumerate(answer))
    if not isinstance(answer, Mapping):
        raise CheckFailed(wrong_kind(answer, _SAMPLE_KINDS, _SAMPLE_HINT))
    sample = dict(answer)
    for variable, value in sample.items():
        if type(value) is int or (type(value) is float and math.isfinite(value)):
            continue  # the common case, checked without a call
        number = plain(value)
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(
                number):
            raise CheckFailed(Feedback(_NOT_A_VALUE, hint=_SAMPLE_HINT, values={
                "variable": variable, "value": describe(value)}))
        sample[variable] = number
    return sample


@quiet
def assert_feasible(
    sample: Any,
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
        sample: The learner's assignment of values to variables: a dict, a
            ``SampleSet`` (its first sample), or a list or array of the values
            of variables ``0 … n-1``.
        constraints: Constraints by name, checked in order.
        atol: Slack allowed on each side of a constraint.

    Raises:
        CheckFailed: The answer is no sample, a variable is missing, or a
            constraint is violated; the message names the first violated
            constraint.
        InvalidCheckError: A constraint is malformed or has an unknown sense.
    """
    checked = _constraints(constraints)
    values = _sample(sample)
    needed: set[Hashable] = set()
    for _, linear, triples, *_ in checked:
        needed |= set(linear) | {u for u, _, _ in triples} | {v for _, v, _ in triples}
    missing = needed - set(values)
    if missing:
        raise CheckFailed(Feedback(_MISSING, values={"names": _names(missing)}))
    for name, linear, triples, constant, sense, rhs in checked:
        lhs = constant + sum(a * values[v] for v, a in linear.items()) + sum(
            b * values[u] * values[v] for u, v, b in triples)
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
    with instructor_value("model", "モデル"):
        bqm = as_bqm(model, copy=False)
    if not bqm.num_variables:
        raise InvalidCheckError("the model has no variables, so it has no lowest energy")
    if bqm.num_variables > MAX_EXACT_VARIABLES:
        raise InvalidCheckError(
            f"{bqm.num_variables} variables is too many to solve exactly; give reference_energy")
    return float(dimod.ExactSolver().sample(bqm).first.energy)


def _best_sample(answer: Any, bqm: Any) -> dict[Hashable, float]:
    """Return the learner's sample, or a ``SampleSet``'s lowest sample on ``bqm``.

    A sample set's own energies are never read: its samples are evaluated on
    ``bqm``.
    """
    import dimod
    import numpy as np

    if isinstance(answer, dimod.SampleSet):
        samples, energies, _ = _evaluated(answer, bqm)
        if not len(samples):
            raise CheckFailed(Feedback(_EMPTY, hint=_SAMPLE_HINT))
        best = samples[int(np.argmin(energies))].tolist()
        return dict(zip(bqm.variables, best, strict=True))
    return _sample(answer)


@quiet
def assert_optimal(
    sample: Any, model: Any, *, reference_energy: float | None = None, atol: float = 1e-6
) -> None:
    """Assert that a sample reaches the lowest energy of a model.

    Args:
        sample: The learner's sample (a dict, or a list or array of the values
            of variables ``0 … n-1``) or ``SampleSet`` (its sample of lowest
            energy on ``model``; the energies it carries are never read).
            Values must be 0/1 for a binary model and −1/+1 for a spin model.
        model: The model (any form :func:`as_bqm` takes).
        reference_energy: The known optimum for models too large to solve
            exactly (see :data:`MAX_EXACT_VARIABLES`).
        atol: Energy slack.

    Raises:
        CheckFailed: The answer is no sample, misses a variable, holds a value
            outside the model's vartype, or its energy is above the optimum;
            the hint names a single flip that improves it, if one exists
            (without revealing the optimal sample).
        InvalidCheckError: ``model`` is not a model.
    """
    import numpy as np

    with instructor_value("model", "モデル"):
        bqm = as_bqm(model, copy=False)
    chosen = _best_sample(sample, bqm)
    labels = list(bqm.variables)
    try:
        values = np.fromiter((chosen[v] for v in labels), dtype=float, count=len(labels))
    except KeyError:
        missing = set(labels) - set(chosen)
        raise CheckFailed(Feedback(_MISSING, values={"names": _names(missing)})) from None
    if not set(values.tolist()) <= bqm.vartype.value:
        _check_domain(values[None, :], labels, bqm.vartype)
    energy = float(bqm.energies((values[None, :], labels))[0])
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


def _evaluated(sampleset: Any, bqm: Any) -> tuple[Any, Any, Any]:
    """Return a sample set's samples in ``bqm``'s vartype and variable order, their energies
    on ``bqm``, and their occurrences.

    The ``energy`` field a sampler wrote is never read. A sample set of the
    other vartype is read through :math:`s = 2x - 1`; variables ``bqm`` does
    not have (slack variables, say) are left out.

    Raises:
        CheckFailed: The sample set lacks a variable of ``bqm`` or holds a
            value outside its vartype.
    """
    import numpy as np

    labels = list(sampleset.variables)
    missing = set(bqm.variables) - set(labels)
    if missing:
        raise CheckFailed(Feedback(_MISSING, values={"names": _names(missing)}))
    record = sampleset.record
    columns = [labels.index(v) for v in bqm.variables]
    samples = np.asarray(record.sample).reshape(len(record), len(labels))[:, columns]
    _check_domain(samples, list(bqm.variables), sampleset.vartype)
    if sampleset.vartype is not bqm.vartype:
        samples = 2 * samples - 1 if bqm.vartype.name == "SPIN" else (samples + 1) // 2
    energies = (bqm.energies((samples, list(bqm.variables))) if len(samples)
                else np.zeros(0))
    occurrences = (np.asarray(record.num_occurrences, dtype=int)
                   if "num_occurrences" in record.dtype.names else np.ones(len(samples), int))
    return samples, energies, occurrences


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

    bqm = as_bqm(model, copy=False)
    if not isinstance(sampleset, dimod.SampleSet):
        raise CheckFailed(wrong_kind(sampleset, _SAMPLESET_KINDS, _SAMPLESET_HINT))
    _, energies, occurrences = _evaluated(sampleset, bqm)
    return int(occurrences[energies <= best + atol].sum()), int(occurrences.sum())


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
        bqm = as_bqm(model, copy=False)
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
