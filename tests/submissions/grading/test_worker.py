"""One job's life in a child process: its outcome, its crash, its hang and a stop are recorded."""

from __future__ import annotations

import os
import time

import pytest

from qcampus.database import write_session
from submissions.grading import queue
from submissions.grading.models import FAILED, GRADED, QUEUED, TIMED_OUT
from submissions.grading.pipeline import Outcome
from submissions.grading.worker import run_job
from tests.submissions.grading.conftest import answer, with_settings
from tests.submissions.grading.test_service import alive, wait_for


@pytest.fixture
def claimed(engine, submit):
    """Return a function that submits for a learner and claims the job as worker "w1"."""

    def claim():
        job_id = submit("alice", {"ps1.ipynb": answer()})
        with write_session(engine) as session:
            return queue.claim(session, "w1", job_id=job_id)

    return claim


def test_the_childs_outcome_is_recorded(deployment, engine, claimed, job):
    """What the grading function returns becomes the job's state, score and versions."""
    graded = Outcome(GRADED, "", 1.5, 2.0, {"qiskit": "2.6.2"})
    held = claimed()
    assert run_job(deployment, engine, held, "w1", grade=lambda s, j: graded) == GRADED
    row = job(held.id)
    assert (row.state, row.score, row.max_score, row.environment) == (
        GRADED, 1.5, 2.0, {"qiskit": "2.6.2"})
    assert row.lease_owner is None and row.finished_at is not None


def test_an_exception_in_the_child_costs_an_attempt_with_its_message(deployment, engine, claimed,
                                                                     job):
    """A grading function that raises returns the job to the queue, or fails it at the limit."""
    def broken(settings, job):
        raise ValueError("the gradebook is locked")

    held = claimed()
    assert run_job(deployment, engine, held, "w1", grade=broken) == QUEUED
    assert "ValueError: the gradebook is locked" in job(held.id).reason
    last_try = with_settings(deployment, grading={"max_attempts": 2})
    with write_session(engine) as session:
        queue.claim(session, "w1", job_id=held.id)
    assert run_job(last_try, engine, held, "w1", grade=broken) == FAILED
    assert "each of 2 attempts" in job(held.id).reason


def test_a_hanging_child_is_killed_with_what_it_started_and_timed_out(deployment, engine,
                                                                      claimed, job, tmp_path):
    """Past grading.timeout the child and its own children are killed; the job is timed out."""
    pids = tmp_path / "pids"

    def hang(settings, job):
        if os.fork() == 0:
            time.sleep(600)
        pids.write_text(str(os.getpid()))
        time.sleep(600)

    settings = with_settings(deployment, grading={"timeout": 1})
    held = claimed()
    assert run_job(settings, engine, held, "w1", grade=hang, grace_seconds=0) == TIMED_OUT
    assert "grading.timeout (1 s)" in job(held.id).reason
    child = int(wait_for(pids.read_text, "the child's pid"))
    assert not alive(child)


def test_children_left_by_a_finished_grading_are_killed(deployment, engine, claimed, tmp_path):
    """A process the grading left behind does not outlive the job."""
    pid_file = tmp_path / "grandchild"

    def leave_behind(settings, job):
        grandchild = os.fork()
        if grandchild == 0:
            time.sleep(600)
            os._exit(0)
        pid_file.write_text(str(grandchild))
        return Outcome(GRADED)

    assert run_job(deployment, engine, claimed(), "w1", grade=leave_behind) == GRADED
    grandchild = int(pid_file.read_text())
    wait_for(lambda: not alive(grandchild), "the grandchild killed", 30)


def test_a_stopping_worker_gives_the_job_back_uncounted(deployment, engine, claimed, job):
    """When the worker is told to stop, the job returns to the queue with its attempts as before."""
    held = claimed()
    state = run_job(deployment, engine, held, "w1", grade=lambda s, j: time.sleep(600),
                    stopping=lambda: True)
    assert state == QUEUED
    row = job(held.id)
    assert (row.state, row.attempts, row.lease_owner) == (QUEUED, 0, None)
