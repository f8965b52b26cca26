"""``qcampus grading``: queue status, regrades and the worker command's guard."""

from __future__ import annotations

from click.testing import CliRunner

from qcampus.database import write_session
from submissions.grading import queue
from submissions.grading.cli import grading
from tests.submissions.grading.conftest import answer


def _run(deployment, *args: str):
    return CliRunner().invoke(grading, ["--home", str(deployment.home), *args],
                              catch_exceptions=False)


def test_status_counts_each_state_and_shows_why_a_job_failed(deployment, engine, submit):
    """The queue length, every state's count and a failed job's reason are printed."""
    failing = submit("mallory", {"ps1.ipynb": answer()})
    submit("bob", {"ps1.ipynb": answer()})
    with write_session(engine) as session:
        queue.claim(session, "w1", job_id=failing)
        queue.finish(session, failing, "w1", state="failed", reason="ps1.ipynb is not JSON")
    result = _run(deployment, "status")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "queue: 1 waiting (embedded)"
    assert "  failed      1" in lines and "  graded      0" in lines
    assert f"job {failing} demo/ps1 mallory: failed: ps1.ipynb is not JSON" in lines


def test_regrade_queues_the_newest_submission_of_one_learner(deployment, engine, submit, job):
    """Regrading one learner queues one new generation of their newest submission."""
    old = submit("alice", {"ps1.ipynb": answer("return x")})
    newest = submit("alice", {"ps1.ipynb": answer()})
    submit("bob", {"ps1.ipynb": answer()})
    with write_session(engine) as session:
        queue.claim(session, "w1", job_id=newest)
        queue.finish(session, newest, "w1", state="graded")
    result = _run(deployment, "regrade", "ps1", "--student", "alice")
    assert result.exit_code == 0, result.output
    regraded = int(result.output.strip().rpartition(" ")[2])
    assert (job(regraded).submission_id, job(regraded).generation) == (job(newest).submission_id, 1)
    assert job(old).submission_id != job(regraded).submission_id


def test_regrade_of_an_assignment_nobody_submitted_says_so(deployment, engine):
    """No submission to regrade is an error that names the assignment."""
    result = _run(deployment, "regrade", "ps9")
    assert result.exit_code == 1 and "no submissions of ps9" in result.output


def test_worker_needs_a_broker(deployment):
    """Without grading.broker the worker command explains how to set one."""
    result = _run(deployment, "worker")
    assert result.exit_code == 1 and "grading.broker" in result.output
