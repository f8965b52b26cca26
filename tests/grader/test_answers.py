"""Tests of grader.answers."""

from __future__ import annotations

import warnings

import numpy as np
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


@pytest.mark.parametrize(("value", "expected"), [
    (np.int64(1), 1), (np.float32(0.5), 0.5), (np.float64(2.5), 2.5), (np.array(0.25), 0.25),
    (np.bool_(True), True), (np.str_("QAOA"), "QAOA"), (np.argmax([0, 5, 1]), 1),
])
def test_numpy_scalars_count_as_python_values(value, expected):
    """NumPy scalars and 0-d arrays pass wherever the Python value they hold would."""
    assert_answer(value, expected)
    assert_answer({"x": [value]}, {"x": [expected]})
    if not isinstance(expected, bool | str):
        assert_number(value, expected)


def test_numpy_array_compares_with_a_list():
    """A NumPy array answer compares with a list item by item."""
    assert_answer(np.array([0.5, 0.5]), [0.5, 0.5])
    with pytest.raises(CheckFailed, match=r"answer\[1\]"):
        assert_answer(np.array([0.5, 0.4]), [0.5, 0.5])


@pytest.mark.parametrize("value", [0.5 + 0.1j, np.complex128(0.5 + 0.1j), np.complex64(0.5 + 0.1j)])
def test_complex_where_a_real_is_expected_fails_clearly(value, english):
    """A complex value with a real imaginary part fails as complex, never truncated or warned."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CheckFailed, match="is complex, with imaginary part 0.1"):
            assert_number(value, 0.5)
        with pytest.raises(CheckFailed, match="real"):
            assert_answer(value, 0.5)


def test_rounding_level_imaginary_part_passes():
    """An expectation value carrying 1e-17j of rounding passes as the real number."""
    assert_number(np.complex128(0.5 + 1e-17j), 0.5)
    assert_answer([np.complex128(0.5 + 1e-17j)], [0.5])


def test_one_element_array_gets_a_hint(english):
    """A number wrapped in a one-element array fails with a hint to take the element."""
    with pytest.raises(CheckFailed, match=r"value\[0\]"):
        assert_number(np.array([0.5]), 0.5)


def test_text_is_not_a_list_of_characters():
    """'abc' does not pass for ['a', 'b', 'c']."""
    with pytest.raises(CheckFailed):
        assert_answer("abc", ["a", "b", "c"])


def test_rounding_error_around_zero_passes_for_dimensionless_values():
    """2.2e-16 passes for an expected 0 (dimensionless); with a unit a hint says to round."""
    assert_number(2.2e-16, 0.0)
    assert_number(np.sin(np.pi), 0)
    assert_answer({"p": 1e-17}, {"p": 0.0})
    with pytest.raises(CheckFailed):
        assert_number(1e-6, 0.0)


def test_rounding_hint_for_zero_with_a_unit(english):
    """With a unit, where the scale decides, a tiny value for 0 fails with a rounding hint."""
    with pytest.raises(CheckFailed, match=r"round\(value, 12\)"):
        assert_number(2.2e-16, 0.0, unit="ns")
    assert_number(2.2e-16, 0.0, unit="ns", abs_tol=1e-9)


@pytest.mark.parametrize(("answer", "expected", "unit"), [
    ("2 kWh", 7.2e6, "J"), ("1 Ha", 27.211386245988, "eV"), ("1 hartree", 1, "Eh"),
    ("1 KiB", 8192, "bit"), ("16 bytes", 128, "bit"), ("1.5 GB", 1500, "MB"),
    ("2 MiB", 2 * 1024 * 1024, "B"),
])
def test_information_and_energy_units_convert(answer, expected, unit):
    """Bytes and bits (SI and binary prefixes), watt-hours and hartrees convert."""
    assert_number(answer, expected, unit=unit)


def test_kibibytes_are_not_kilobytes(english):
    """1 KiB is 1024 B, not 1000 B."""
    with pytest.raises(CheckFailed):
        assert_number("1 KiB", 1, unit="kB")


@pytest.mark.parametrize(("answer", "expected"), [
    ("ＱＡＯＡ", "QAOA"), ("  qaoa ", "QAOA"), ("ｶﾀｶﾅ", "カタカナ"), ("量子　ビット", "量子 ビット"),
    ({"Ａ", "c"}, {"a", "C"}), (["Grover", "ＱＡＯＡ"], ["grover", "QAOA"]),
])
def test_text_ignores_width_case_and_spacing(answer, expected):
    """Full-width and half-width forms, case and runs of whitespace do not change text answers."""
    assert_answer(answer, expected)


def test_exact_text_compares_as_written():
    """exact_text=True keeps case and width."""
    with pytest.raises(CheckFailed):
        assert_answer("qaoa", "QAOA", exact_text=True)
    with pytest.raises(CheckFailed):
        assert_answer("Shor", "Grover")


@pytest.mark.parametrize("answer", ["５ ＧＨｚ", "5000 ＭＨｚ", "−5e9 Hz"])
def test_full_width_numbers_and_minus_signs_are_read(answer):
    """A quantity typed in full-width characters or with a Unicode minus is read."""
    expected = -5 if answer.startswith("−") else 5
    assert_number(answer, expected, unit="GHz")


@pytest.mark.parametrize("value", [5e-324, 1e308, -1e-320])
def test_extreme_values_fail_without_a_math_error(value):
    """Values whose ratio to the expected one underflows or overflows still fail cleanly."""
    with pytest.raises(CheckFailed):
        assert_number(value, 5, unit="GHz")


def test_estimator_results_give_their_expectation_value(english):
    """An Estimator's result for one observable is its expectation value; for two it is no number."""
    from qiskit import QuantumCircuit
    from qiskit.primitives import StatevectorEstimator
    from qiskit.quantum_info import SparsePauliOp

    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    result = StatevectorEstimator().run([(bell, SparsePauliOp("ZZ"))]).result()
    assert_number(result, 1.0)
    assert_number(result[0], 1.0)
    assert_number(result[0].data.evs, 1.0)
    both = StatevectorEstimator().run([(bell, [SparsePauliOp("ZZ"), SparsePauliOp("XZ")])]).result()
    with pytest.raises(CheckFailed, match="not a number"):
        assert_number(both, 1.0)
