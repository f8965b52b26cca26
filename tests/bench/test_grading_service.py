"""The grading-service benchmark: its report, and a quick run against a real deployment."""

from __future__ import annotations

import argparse
import re

import pytest

from bench import grading_service as bench


def _closing(seconds: float, graded: int = 10, other: list[str] | None = None) -> dict:
    return {"posted": 0.5, "seconds": seconds, "graded": graded, "job": 1.5, "other": other or []}


def test_report_gives_percentiles_and_the_ratio_to_stock():
    """The report states p50, p90 and, per worker count, stock's time over the service's."""
    args = argparse.Namespace(learners=4, submissions=10, window=60.0, seed=7)
    baseline = {"seconds": 40.0, "placed": 0.1, "autograde": 30.0, "feedback_seconds": 9.9,
                "feedback": 10, "scores": {f"learner{i:04d}": 8.0 for i in range(10)}}
    text = bench.report(args, [1.0, 2.0, 3.0, 9.0], {1: _closing(20.0), 2: _closing(8.0)},
                        baseline, 10, 2.25)
    assert "| p50 of 4 | 2.5 s |" in text
    assert "| p90 of 4 | 7.2 s |" in text
    assert "within 60 s (seed 7)" in text
    assert re.search(r"\| grading service, 1 worker .*\| 10 of 10 \| 20\.0 s \| 2000 ms \| "
                     r"1\.5 s \| 2\.0x \|", text)
    assert re.search(r"\| grading service, 2 workers .*\| 8\.0 s \| 800 ms \| 1\.5 s \| 5\.0x \|",
                     text)
    assert "| 10 of 10 | 40.0 s | 4000 ms | – | 1.0x |" in text
    assert "the feedback page" in text and "takes 2.2 s" in text


def test_report_names_what_was_not_graded():
    """A submission not graded appears with its state and reason, never silently."""
    args = argparse.Namespace(learners=1, submissions=2, window=5.0, seed=0)
    baseline = {"seconds": 4.0, "placed": 0.0, "autograde": 3.0, "feedback_seconds": 1.0,
                "feedback": 2, "scores": {"learner0000": 8.0, "learner0001": 5.0}}
    text = bench.report(args, [1.0], {1: _closing(2.0, 1, ["failed: the sandbox died"])},
                        baseline, 1, 1.0)
    assert "| 1 of 2 |" in text
    assert "Not graded with 1 workers: failed: the sandbox died" in text


@pytest.mark.slow
@pytest.mark.e2e
def test_quick_run_prints_well_formed_tables(capsys):
    """``--quick`` runs both parts on a real deployment and prints complete, consistent tables.

    One worker count only: each count is a hub of its own, and how the report sets
    several side by side is proved by the report's own test above."""
    assert bench.main(["--quick", "--workers", "2"]) == 0
    text = capsys.readouterr().out
    p50 = float(re.search(r"\| p50 of 3 \| ([\d.]+) s \|", text).group(1))
    p90 = float(re.search(r"\| p90 of 3 \| ([\d.]+) s \|", text).group(1))
    slowest = float(re.search(r"\| slowest \| ([\d.]+) s \|", text).group(1))
    assert 0 < p50 <= p90 <= slowest
    rows = re.findall(r"\| grading service, (\d) workers? .*\| (\d+) of 6 \| ([\d.]+) s \| \d+ ms \| "
                      r"([\d.]+) s \| ([\d.]+)x \|", text)
    assert [row[0] for row in rows] == ["2"]
    assert all(row[1] == "6" and float(row[2]) > 0 and float(row[3]) > 0 for row in rows)
    stock = re.search(r"\| stock nbgrader: .*\| 6 of 6 \| ([\d.]+) s \|", text)
    assert stock and float(stock.group(1)) > 0
    for _, _, seconds, _, ratio in rows:
        assert float(ratio) == pytest.approx(float(stock.group(1)) / float(seconds), rel=0.05, abs=0.06)
    assert "Scores: every one of the 6 equal to stock nbgrader's" in text
    assert "stock feedback pages written: 6." in text
    assert "Not graded" not in text
    assert float(re.search(r"the feedback page .* takes ([\d.]+) s", text).group(1)) > 0
