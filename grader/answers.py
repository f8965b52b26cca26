"""Check numeric answers with tolerances and units, and structured answers.

A number passes when :math:`|x - y| \\le \\max(\\text{rel\\_tol}\\cdot|y|, \\text{abs\\_tol})`
(the rule of :func:`math.isclose`), after converting the learner's quantity to
the expected unit. Units are SI base or derived units common in quantum
technology with SI prefixes (``ns``, ``µs``, ``GHz``, ``mK``, ``meV``, ``kWh`` …),
the hartree (``Ha``), information in ``bit`` and ``B`` (bytes) with SI and binary
prefixes (``kB`` = 1000 B, ``KiB`` = 1024 B), plus ``%`` and currencies, which
convert only to themselves.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from grader.errors import CheckFailed, InvalidCheckError, UnitError
from grader.feedback import Feedback, Message, describe, quiet

#: Base units and (dimension, factor to the dimension's SI unit).
UNITS: dict[str, tuple[str, float]] = {
    "s": ("time", 1.0), "min": ("time", 60.0), "h": ("time", 3600.0),
    "Hz": ("frequency", 1.0), "m": ("length", 1.0), "K": ("temperature", 1.0),
    "J": ("energy", 1.0), "eV": ("energy", 1.602176634e-19), "W": ("power", 1.0),
    "T": ("magnetic flux density", 1.0), "V": ("voltage", 1.0), "A": ("current", 1.0),
    "dB": ("ratio (dB)", 1.0), "%": ("ratio", 0.01), "": ("ratio", 1.0),
    "qubit": ("qubits", 1.0), "qubits": ("qubits", 1.0),
    "USD": ("currency USD", 1.0), "EUR": ("currency EUR", 1.0), "JPY": ("currency JPY", 1.0),
    # Information in bits: a byte is 8 bits.
    "bit": ("information", 1.0), "bits": ("information", 1.0), "B": ("information", 8.0),
    "byte": ("information", 8.0), "bytes": ("information", 8.0),
    # Energy: watt-hours, and the hartree of atomic units (CODATA 2018).
    "Wh": ("energy", 3600.0), "Ha": ("energy", 4.3597447222060e-18),
    "Eh": ("energy", 4.3597447222060e-18), "hartree": ("energy", 4.3597447222060e-18),
}
PREFIXES = {"p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "μ": 1e-6, "m": 1e-3,
            "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
#: Binary prefixes (IEC), for information only: 1 KiB = 1024 B.
BINARY_PREFIXES = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40}
_PREFIXABLE = {"s", "Hz", "m", "K", "J", "eV", "W", "T", "V", "A", "Wh", "bit", "B"}

_OFF = Message(
    "Your value {found} is outside the accepted range {expected} ± {tolerance:.3g}.",
    "あなたの値 {found} は許容範囲 {expected} ± {tolerance:.3g} の外にあります。",
)
_SCALE_HINT = Message(
    "It is off by a factor of {factor:g}: check the unit prefix.",
    "{factor:g} 倍ずれています。単位の接頭辞を確認してください。",
)
_SIGN_HINT = Message("Check the sign.", "符号を確認してください。")
_DIMENSION = Message(
    "Your answer is a {found_kind} ({found_unit}) but the question asks for a {expected_kind}.",
    "あなたの答えは{found_kind_ja}（{found_unit}）ですが、問われているのは{expected_kind_ja}です。",
)
_DIMENSIONS_JA = {
    "time": "時間", "frequency": "周波数", "length": "長さ", "temperature": "温度",
    "energy": "エネルギー", "power": "電力", "magnetic flux density": "磁束密度",
    "voltage": "電圧", "current": "電流", "ratio (dB)": "デシベル比", "ratio": "比率",
    "qubits": "量子ビット数", "information": "情報量",
}
_NOT_NUMBER = Message(
    "Your answer ({found}) is not a number with a unit such as '{example}'.",
    "あなたの答え（{found}）は '{example}' のような単位付きの数値ではありません。",
)
_ELEMENT_HINT = Message(
    "Your answer holds one number in a list or array: give the number itself, "
    "such as value[0] or value.item().",
    "あなたの答えは数値を 1 つ含むリストか配列です。数値そのもの（value[0] や value.item()）を"
    "渡してください。",
)
_COMPLEX = Message(
    "Your value {found} is complex, with imaginary part {imag:.3g}; a real number is expected.",
    "あなたの値 {found} は虚部 {imag:.3g} をもつ複素数ですが、実数が期待されています。",
)
_COMPLEX_HINT = Message(
    "Check the calculation: an observable's expectation value and a probability are real. "
    "Take .real only if the imaginary part should be 0.",
    "計算を確認してください。オブザーバブルの期待値や確率は実数です。虚部が 0 のはずの場合に限り "
    ".real を使ってください。",
)
_NOT_FINITE = Message(
    "Your value {found} is not a finite number; expected a value like {example}.",
    "あなたの値 {found} は有限の数ではありません。{example} のような値が期待されています。",
)
_ROUNDING_HINT = Message(
    "The expected value is exactly 0 and yours is within floating-point rounding of it: "
    "round it (round(value, 12)) or compute it exactly.",
    "期待される値はちょうど 0 で、あなたの値は浮動小数点の丸め誤差の範囲です。"
    "round(value, 12) で丸めるか、厳密に計算してください。",
)
_STRUCTURE = Message(
    "Your answer differs at {path}.",
    "あなたの答えは {path} の部分が異なります。",
)


def parse_unit(unit: str) -> tuple[str, float]:
    """Return ``(dimension, factor)`` of a unit such as ``"GHz"`` or ``"µs"``.

    Raises:
        UnitError: The unit is not known.
    """
    if not isinstance(unit, str):
        raise UnitError(f"a unit is text such as 'GHz', not {unit!r}")
    unit = unit.strip()
    if unit in UNITS:
        return UNITS[unit]
    for prefix, scale in PREFIXES.items():
        base = unit[len(prefix):]
        if unit.startswith(prefix) and base in _PREFIXABLE:
            dimension, factor = UNITS[base]
            return dimension, factor * scale
    for prefix, scale in BINARY_PREFIXES.items():
        base = unit[len(prefix):]
        if unit.startswith(prefix) and base in ("bit", "B"):
            return "information", UNITS[base][1] * scale
    raise UnitError(f"unknown unit {unit!r}")


_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)\s*$")

#: Default absolute tolerance of a dimensionless expected value (unit ``""`` or
#: ``"%"``): values computed in floating point carry rounding errors of about
#: 1e-16 times the numbers involved, which no relative tolerance covers near 0.
DIMENSIONLESS_ABS_TOL = 1e-12


def plain(value: Any) -> Any:
    """Return NumPy scalars and 0-d arrays as Python numbers, NumPy arrays as lists.

    Learners' numbers come out of NumPy and Qiskit (``np.argmax``, ``np.float32``,
    ``np.bool_``); every check treats them as the Python value they hold.
    """
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value


def _expectation_value(answer: Any) -> Any:
    """Return the expectation value an Estimator result holds for one observable, else ``answer``.

    A ``PrimitiveResult`` of one pub and a ``PubResult`` give their ``data.evs``;
    for several observables ``evs`` is an array, which is not one number.
    """
    if type(answer).__name__ == "PrimitiveResult" and len(answer) == 1:
        answer = answer[0]
    data = getattr(answer, "data", None) if type(answer).__name__ == "PubResult" else None
    return getattr(data, "evs", answer)


def parse_quantity(answer: Any, default_unit: str = "") -> tuple[float | complex, str]:
    """Return ``(value, unit)`` from a number, ``(number, unit)`` pair or text like ``"12 µs"``.

    NumPy scalars and 0-d arrays count as the Python numbers they hold. A
    complex value is returned as complex (never truncated); the caller decides
    whether its imaginary part is negligible.

    Raises:
        ValueError: The answer is not a quantity.
    """
    answer = plain(_expectation_value(answer))
    if isinstance(answer, bool):
        raise ValueError("a truth value is not a number")
    if isinstance(answer, int | float | complex):
        return answer, default_unit
    if isinstance(answer, list | tuple) and len(answer) == 2 and isinstance(answer[1], str):
        value, _ = parse_quantity(answer[0])
        return value, answer[1]
    if isinstance(answer, str):
        text = unicodedata.normalize("NFKC", answer).replace("−", "-")
        match = _QUANTITY.match(text.replace("×10^", "e").replace("x10^", "e"))
        if match:
            return float(match.group(1)), match.group(2) or default_unit
        raise ValueError(f"not a quantity: {answer!r}")
    if not isinstance(answer, list | tuple | dict | set) and hasattr(answer, "__float__"):
        try:
            return float(answer), default_unit
        except (TypeError, ValueError) as error:
            # An unbound Qiskit parameter and friends define __float__ only to refuse it.
            raise ValueError(f"not a quantity: {answer!r}") from error
    raise ValueError(f"not a quantity: {answer!r}")


@quiet
def assert_number(
    actual: Any,
    expected: float,
    *,
    unit: str = "",
    rel_tol: float = 1e-6,
    abs_tol: float | None = None,
) -> None:
    """Assert that a numeric answer is close to the expected value in the expected unit.

    The answer passes when :math:`|x - y| \\le \\max(\\text{rel\\_tol}\\cdot|y|,
    \\text{abs\\_tol})` after conversion to ``unit``. A complex answer passes
    only when its imaginary part is within that tolerance of 0 (an expectation
    value carrying ``1e-17j`` of rounding, say); otherwise it fails as complex.

    Args:
        actual: A number (Python or NumPy, taken to be in ``unit``), a
            ``(number, unit)`` pair, text such as ``"3.2 GHz"``, or an
            Estimator result for one observable (its ``data.evs``).
        expected: The expected value, in ``unit``.
        unit: The unit of ``expected``; the learner may use any unit of the
            same dimension.
        rel_tol: Relative tolerance.
        abs_tol: Absolute tolerance, in ``unit``; by default
            :data:`DIMENSIONLESS_ABS_TOL` for a dimensionless ``unit``
            (``""`` or ``"%"``) and 0 otherwise, where the scale of the unit
            decides what is negligible.

    Raises:
        CheckFailed: The answer is not a finite real quantity, has the wrong
            dimension, or is outside the tolerance (hints for prefix, sign and
            rounding slips).
        UnitError: ``unit`` is unknown.
        InvalidCheckError: ``expected`` is not a real number.
    """
    dimension, factor = parse_unit(unit)
    expected = plain(expected)
    if isinstance(expected, bool) or not isinstance(expected, int | float) or not math.isfinite(
            expected):
        raise InvalidCheckError(f"expected must be a finite real number, got {expected!r}")
    if abs_tol is None:
        abs_tol = DIMENSIONLESS_ABS_TOL if dimension == "ratio" else 0.0
    example = f"{expected:g} {unit}".strip()
    try:
        value, found_unit = parse_quantity(actual, unit)
    except ValueError:
        hint = _ELEMENT_HINT if _one_element(actual) else None
        raise CheckFailed(Feedback(_NOT_NUMBER, hint=hint, values={
            "found": describe(actual), "example": example})) from None
    try:
        found_dimension, found_factor = parse_unit(found_unit)
    except UnitError:
        found_dimension, found_factor = f"'{found_unit}'", 1.0
    if found_dimension != dimension:
        raise CheckFailed(Feedback(_DIMENSION, values={
            "found_kind": found_dimension, "found_unit": found_unit or "-",
            "expected_kind": dimension,
            "found_kind_ja": _DIMENSIONS_JA.get(found_dimension, found_dimension),
            "expected_kind_ja": _DIMENSIONS_JA.get(dimension, dimension)}))
    converted = value * found_factor / factor
    tolerance = max(rel_tol * abs(expected), abs_tol)
    if isinstance(converted, complex):
        if abs(converted.imag) > tolerance:
            raise CheckFailed(Feedback(_COMPLEX, hint=_COMPLEX_HINT, values={
                "found": f"{converted:.6g}", "imag": converted.imag}))
        converted = converted.real
    if not math.isfinite(converted):
        raise CheckFailed(Feedback(_NOT_FINITE, values={"found": converted, "example": example}))
    if math.isclose(converted, expected, rel_tol=rel_tol, abs_tol=abs_tol):
        return
    hint = None
    ratio = abs(converted / expected) if expected else math.inf
    if converted and 0 < ratio < math.inf:  # neither underflowed nor overflowed
        exponent = round(math.log10(ratio))
        if exponent and math.isclose(ratio, 10.0**exponent, rel_tol=max(rel_tol, 1e-9)):
            hint = _SCALE_HINT
        elif math.isclose(-converted, expected, rel_tol=rel_tol, abs_tol=abs_tol):
            hint = _SIGN_HINT
    elif not expected and abs(converted) <= _ROUNDING:
        hint = _ROUNDING_HINT
    raise CheckFailed(Feedback(_OFF, hint=hint, values={
        "found": f"{converted:.6g} {unit}".strip(), "expected": f"{expected:.6g}",
        "tolerance": tolerance, "factor": ratio if math.isfinite(ratio) else 0}))


#: Below this, a value expected to be exactly 0 is most likely rounding error.
_ROUNDING = 1e-9


def _one_element(value: Any) -> bool:
    """Return True for a one-element list or array, which holds a number without being one."""
    value = plain(value)
    return isinstance(value, list | tuple) and len(value) == 1


def normalise_text(text: str) -> str:
    """Return ``text`` as a learner's answer is compared: NFKC, case-folded, single-spaced.

    Unicode NFKC reads full-width Latin letters, digits and spaces (``ＱＡＯＡ``,
    ``１２``) as half-width and half-width katakana (``ｶﾀｶﾅ``) as full-width.
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _mismatch(actual: Any, expected: Any, path: str, rel_tol: float, abs_tol: float,
              exact_text: bool = False) -> tuple[str, Any, Any] | None:
    """Return ``(path, expected, found)`` of the first difference, or ``None``.

    NumPy scalars count as the Python values they hold and NumPy arrays as
    lists, on both sides; text is never a sequence of characters here.
    """
    actual, expected = plain(actual), plain(expected)
    if isinstance(expected, str) and isinstance(actual, str) and not exact_text:
        return None if normalise_text(actual) == normalise_text(expected) else (
            path, expected, actual)
    if isinstance(expected, bool) or isinstance(expected, str) or expected is None:
        return None if actual == expected and type(actual) is type(expected) else (
            path, expected, actual)
    if isinstance(expected, int | float):
        number = actual
        if isinstance(number, complex) and abs(number.imag) <= max(rel_tol * abs(expected),
                                                                   abs_tol):
            number = number.real
        ok = (isinstance(number, int | float) and not isinstance(number, bool)
              and math.isclose(number, expected, rel_tol=rel_tol, abs_tol=abs_tol))
        return None if ok else (path, expected, actual)
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping) or set(actual) != set(expected):
            return path, sorted(map(str, expected)), (
                sorted(map(str, actual)) if isinstance(actual, Mapping) else actual)
        for key in expected:
            found = _mismatch(actual[key], expected[key], f"{path}[{key!r}]", rel_tol, abs_tol,
                              exact_text)
            if found:
                return found
        return None
    if isinstance(expected, set | frozenset):
        def choice(item: Any) -> Any:
            item = plain(item)
            return normalise_text(item) if isinstance(item, str) and not exact_text else item

        try:
            same = isinstance(actual, set | frozenset | list | tuple) and {
                choice(a) for a in actual} == {choice(e) for e in expected}
        except TypeError:
            same = False  # unhashable items (lists in a list) are no set of choices
        return None if same else (path, sorted(expected, key=str), (
            sorted(actual, key=str) if isinstance(actual, set | frozenset) else actual))
    if isinstance(expected, Sequence):
        if not isinstance(actual, list | tuple) or len(actual) != len(expected):
            return path, f"{len(expected)} items", actual
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            found = _mismatch(a, e, f"{path}[{i}]", rel_tol, abs_tol, exact_text)
            if found:
                return found
        return None
    try:
        same = bool(actual == expected)
    except (TypeError, ValueError):
        same = False  # objects whose == refuses or is ambiguous are not equal answers
    return None if same else (path, expected, actual)


@quiet
def assert_answer(
    actual: Any, expected: Any, *, rel_tol: float = 1e-6, abs_tol: float = DIMENSIONLESS_ABS_TOL,
    exact_text: bool = False,
) -> None:
    """Assert that a structured answer (dicts, lists, sets, numbers, text) matches.

    Numbers compare with the tolerances of :func:`assert_number`
    (:math:`|x - y| \\le \\max(\\text{rel\\_tol}\\cdot|y|, \\text{abs\\_tol})`,
    a complex number only when its imaginary part is within that tolerance of
    0); NumPy scalars, 0-d arrays and arrays count as the Python numbers and
    lists they hold; sets ignore order (use them for multiple-choice answers)
    and accept a list or tuple of the same choices; text compares after
    :func:`normalise_text` (full-width and half-width forms, case and runs of
    whitespace do not matter; ``exact_text=True`` compares it as written) and
    is never compared character by character with a list; everything else
    must be equal.

    Raises:
        CheckFailed: The first difference, named by its path (``answer['cost'][2]``).
    """
    found = _mismatch(actual, expected, "answer", rel_tol, abs_tol, exact_text)
    if found:
        path, want, got = found
        raise CheckFailed(Feedback(
            _STRUCTURE, expected=repr(want), found=repr(got),
            hint=_COMPLEX_HINT if isinstance(got, complex) else None, values={"path": path}))
