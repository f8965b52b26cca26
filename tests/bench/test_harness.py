"""What the benchmarks share: the percentile their reports print, the progress lines."""

from __future__ import annotations

import re

import pytest

from bench.harness import progress, quantile


def test_quantile_of_one_value_and_of_many():
    """One latency is its own p50 and p90; eleven evenly spaced ones give their 5th and 9th."""
    assert quantile([3.0], 90) == 3.0
    values = [float(v) for v in range(11)]
    assert (quantile(values, 50), quantile(values, 90)) == (5.0, 9.0)


@pytest.mark.parametrize(("values", "q", "expected"), [([0.0, 10.0], 50, 5.0), ([0.0, 10.0], 90, 9.0)])
def test_quantile_interpolates_between_values(values, q, expected):
    assert quantile(values, q) == pytest.approx(expected)


def test_progress_goes_to_stderr_with_the_time(capsys):
    """Progress lines leave stdout to the report."""
    progress("3 learners graded")
    out, err = capsys.readouterr()
    assert out == "" and re.fullmatch(r"\d\d:\d\d:\d\d 3 learners graded\n", err)
