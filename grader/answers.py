"""Check numeric answers with tolerances and units, and structured answers.

A number passes when :math:`|x - y| \\le \\max(\\text{rel\\_tol}\\cdot|y|, \\text{abs\\_tol})`
(the rule of :func:`math.isclose`), after converting the learner's quantity to
the expected unit. Units are SI base or derived units common in quantum
technology with SI prefixes (``ns``, ``µs``, ``GHz``, ``mK``, ``meV`` …), plus
``%`` and currencies, which convert only to themselves.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from grader.errors import CheckFailed, UnitError
from grader.feedback import Feedback, Message

#: Base units and (dimension, factor to the dimension's SI unit).
UNITS: dict[str, tuple[str, float]] = {
    "s": ("time", 1.0), "min": ("time", 60.0), "h": ("time", 3600.0),
    "Hz": ("frequency", 1.0), "m": ("length", 1.0), "K": ("temperature", 1.0),
    "J": ("energy", 1.0), "eV": ("energy", 1.602176634e-19), "W": ("power", 1.0),
    "T": ("magnetic flux density", 1.0), "V": ("voltage", 1.0), "A": ("current", 1.0),
    "dB": ("ratio (dB)", 1.0), "%": ("ratio", 0.01), "": ("ratio", 1.0),
    "qubit": ("qubits", 1.0), "qubits": ("qubits", 1.0),
    "USD": ("currency USD", 1.0), "EUR": ("currency EUR", 1.0), "JPY": ("currency JPY", 1.0),
}
PREFIXES = {"p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "μ": 1e-6, "m": 1e-3,
            "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_PREFIXABLE = {"s", "Hz", "m", "K", "J", "eV", "W", "T", "V", "A"}

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
    "qubits": "量子ビット数",
}
_NOT_NUMBER = Message(
    "Your answer '{found}' is not a number with a unit such as '{example}'.",
    "あなたの答え '{found}' は '{example}' のような単位付きの数値ではありません。",
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
    unit = unit.strip()
    if unit in UNITS:
        return UNITS[unit]
    for prefix, scale in PREFIXES.items():
        base = unit[len(prefix):]
        if unit.startswith(prefix) and base in _PREFIXABLE:
            dimension, factor = UNITS[base]
            return dimension, factor * scale
    raise UnitError(f"unknown unit {unit!r}")


_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)\s*$")


def parse_quantity(answer: Any, default_unit: str = "") -> tuple[float, str]:
    """Return ``(value, unit)`` from a number, ``(number, unit)`` pair or text like ``"12 µs"``.

    Raises:
        ValueError: The answer is not a quantity.
    """
    if isinstance(answer, bool):
        raise ValueError("a truth value is not a number")
    if isinstance(answer, int | float):
        return float(answer), default_unit
    if isinstance(answer, Sequence) and not isinstance(answer, str) and len(answer) == 2:
        return float(answer[0]), str(answer[1])
    if isinstance(answer, str):
        match = _QUANTITY.match(answer.replace("×10^", "e").replace("x10^", "e"))
        if match:
            return float(match.group(1)), match.group(2) or default_unit
    if hasattr(answer, "__float__"):
        return float(answer), default_unit
    raise ValueError(f"not a quantity: {answer!r}")


def assert_number(
    actual: Any,
    expected: float,
    *,
    unit: str = "",
    rel_tol: float = 1e-6,
    abs_tol: float = 0.0,
) -> None:
    """Assert that a numeric answer is close to the expected value in the expected unit.

    Args:
        actual: A number (taken to be in ``unit``), a ``(number, unit)`` pair,
            or text such as ``"3.2 GHz"``.
        expected: The expected value, in ``unit``.
        unit: The unit of ``expected``; the learner may use any unit of the
            same dimension.
        rel_tol: Relative tolerance.
        abs_tol: Absolute tolerance, in ``unit``.

    Raises:
        CheckFailed: The answer is not a quantity, has the wrong dimension, or
            is outside the tolerance (hints for prefix and sign slips).
        UnitError: ``unit`` is unknown.
    """
    dimension, factor = parse_unit(unit)
    try:
        value, found_unit = parse_quantity(actual, unit)
    except ValueError:
        raise CheckFailed(Feedback(_NOT_NUMBER, values={
            "found": actual, "example": f"{expected:g} {unit}".strip()})) from None
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
    if math.isclose(converted, expected, rel_tol=rel_tol, abs_tol=abs_tol):
        return
    tolerance = max(rel_tol * abs(expected), abs_tol)
    hint = None
    if converted and expected:
        ratio = abs(converted / expected)
        exponent = round(math.log10(ratio))
        if exponent and math.isclose(ratio, 10.0**exponent, rel_tol=max(rel_tol, 1e-9)):
            hint = _SCALE_HINT
        elif math.isclose(-converted, expected, rel_tol=rel_tol, abs_tol=abs_tol):
            hint = _SIGN_HINT
    raise CheckFailed(Feedback(_OFF, hint=hint, values={
        "found": f"{converted:.6g} {unit}".strip(), "expected": f"{expected:.6g}",
        "tolerance": tolerance, "factor": abs(converted / expected) if expected else 0}))


def _mismatch(actual: Any, expected: Any, path: str, rel_tol: float, abs_tol: float
              ) -> tuple[str, Any, Any] | None:
    """Return ``(path, expected, found)`` of the first difference, or ``None``."""
    if isinstance(expected, bool) or isinstance(expected, str) or expected is None:
        return None if actual == expected and type(actual) is type(expected) else (
            path, expected, actual)
    if isinstance(expected, int | float):
        ok = (isinstance(actual, int | float) and not isinstance(actual, bool)
              and math.isclose(actual, expected, rel_tol=rel_tol, abs_tol=abs_tol))
        return None if ok else (path, expected, actual)
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping) or set(actual) != set(expected):
            return path, sorted(map(str, expected)), (
                sorted(map(str, actual)) if isinstance(actual, Mapping) else actual)
        for key in expected:
            found = _mismatch(actual[key], expected[key], f"{path}[{key!r}]", rel_tol, abs_tol)
            if found:
                return found
        return None
    if isinstance(expected, set | frozenset):
        return None if set(actual) == expected else (path, sorted(expected, key=str),
                                                     sorted(actual, key=str))
    if isinstance(expected, Sequence):
        if not isinstance(actual, Sequence) or len(actual) != len(expected):
            return path, f"{len(expected)} items", actual
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            found = _mismatch(a, e, f"{path}[{i}]", rel_tol, abs_tol)
            if found:
                return found
        return None
    return None if actual == expected else (path, expected, actual)


def assert_answer(
    actual: Any, expected: Any, *, rel_tol: float = 1e-6, abs_tol: float = 0.0
) -> None:
    """Assert that a structured answer (dicts, lists, sets, numbers, text) matches.

    Numbers compare with the tolerances of :func:`assert_number`; sets ignore
    order (use them for multiple-choice answers); everything else must be equal.

    Raises:
        CheckFailed: The first difference, named by its path (``answer['cost'][2]``).
    """
    found = _mismatch(actual, expected, "answer", rel_tol, abs_tol)
    if found:
        path, want, got = found
        raise CheckFailed(Feedback(_STRUCTURE, expected=repr(want), found=repr(got),
                                   values={"path": path}))
