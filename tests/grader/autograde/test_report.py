"""The progress bar and the end-of-run summary of qcampus grade."""

from __future__ import annotations

import io

from grader.autograde.batch import FAILED, GRADED, TIMED_OUT, Outcome
from grader.autograde.report import Progress, summary


def test_progress_shows_count_and_eta():
    """Each update redraws the bar with done/total and an ETA; the last one ends the line."""
    stream = io.StringIO()
    progress = Progress(2, stream=stream, width=10)
    progress(Outcome("a", GRADED))
    assert "1/2" in stream.getvalue() and "ETA" in stream.getvalue()
    assert not stream.getvalue().endswith("\n")
    progress(Outcome("b", GRADED))
    assert stream.getvalue().endswith("\n")
    assert "[##########] 2/2" in stream.getvalue()


def test_summary_lists_every_submission_with_reasons_and_counts():
    """The table has one row per student, the reason of failures, scores, and counts."""
    text = summary([
        Outcome("bob", FAILED, "timestamp.txt is in the future"),
        Outcome("alice", GRADED, "", 2.0, 2.0),
        Outcome("carol", TIMED_OUT, "ps1: time limit exceeded", 0.0, 2.0),
    ])
    lines = text.splitlines()
    assert lines[1].startswith("alice") and "2/2" in lines[1]
    assert "timestamp.txt is in the future" in lines[2]
    assert "0/2" in lines[3] and "time limit exceeded" in lines[3]
    assert "1 failed, 1 graded, 1 timed out" in text
    assert "run the command again" in text
