"""Tests of grader.answers."""

from __future__ import annotations

import pytest

from grader.answers import assert_answer, assert_number, parse_unit
from grader.errors import CheckFailed, UnitError


@pytest.mark.parametrize("answer", ["5 GHz", "5000 MHz", (5e9, "Hz"), 5.0, "5.000001 GHz"])
def test_equal_quantities_pass(answer):
    """The same frequency in any unit, or a bare number in the expected unit, passes."""
    assert_number(answer, 5, unit="GHz")


def test_prefix_slip_gets_a_hint(english):
    """5 MHz for 5 GHz fails with the unit-prefix hint."""
    with pytest.raises(CheckFailed, match="unit prefix"):
        assert_number("5 MHz", 5, unit="GHz")


def test_sign_slip_gets_a_hint(english):
    """A negated value fails with the sign hint."""
    with pytest.raises(CheckFailed, match="sign"):
        assert_number(-0.25, 0.25)


def test_wrong_dimension_is_named(english):
    """A temperature given for a time fails naming both kinds."""
    with pytest.raises(CheckFailed, match="temperature"):
        assert_number("20 mK", 100, unit="us")


def test_text_that_is_no_number_fails(english):
    """Words are not a quantity."""
    with pytest.raises(CheckFailed, match="not a number"):
        assert_number("about five", 5)


def test_absolute_tolerance():
    """abs_tol widens the accepted range."""
    assert_number(0.51, 0.5, abs_tol=0.02)
    with pytest.raises(CheckFailed):
        assert_number(0.53, 0.5, abs_tol=0.02)


def test_unknown_unit_is_an_error():
    """An unknown unit raises UnitError."""
    with pytest.raises(UnitError):
        parse_unit("furlong")


def test_structured_answer_reports_the_path(english):
    """Nested answers compare with tolerance, sets ignore order, and a miss names its path."""
    expected = {"costs": [1.0, 2.5], "choice": {"a", "c"}, "name": "QAOA"}
    assert_answer({"costs": [1.0, 2.5000001], "choice": {"c", "a"}, "name": "QAOA"}, expected)
    with pytest.raises(CheckFailed, match=r"answer\['costs'\]\[1\]"):
        assert_answer({"costs": [1.0, 2.6], "choice": {"a", "c"}, "name": "QAOA"}, expected)


def test_dimension_message_in_japanese(monkeypatch):
    """The wrong-dimension message names both kinds in Japanese."""
    monkeypatch.setenv("QCAMPUS_LANG", "ja")
    with pytest.raises(CheckFailed, match="温度.*時間"):
        assert_number("20 mK", 100, unit="us")
