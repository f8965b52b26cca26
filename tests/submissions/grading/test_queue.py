"""The queue: one job per submission, exclusive leases, recovery, bounded attempts, regrades."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from qcampus.database import write_session
from submissions.db import open_engine, utcnow
from submissions.grading import queue
from submissions.grading.models import FAILED, GRADED, GRADING, QUEUED, SUPERSEDED, GradingJob
from tests.submissions.conftest import BOTH_DATABASES
from tests.submissions.grading.conftest import answer, with_settings


def _claim(engine, owner: str, **kwargs) -> GradingJob | None:
    with write_session(engine) as session:
        return queue.claim(session, owner, **kwargs)


def _expire(engine, job_id: int) -> None:
    with write_session(engine) as session:
        session.execute(update(GradingJob).where(GradingJob.id == job_id)
                        .values(lease_expires=utcnow() - timedelta(seconds=1)))


@BOTH_DATABASES
def test_a_newer_submission_supersedes_the_queued_one(engine, submit, job):
    """Two submissions a second apart: the older queued job is superseded, with the reason."""
    first = submit("alice", {"ps1.ipynb": answer("return x")})
    second = submit("alice", {"ps1.ipynb": answer()})
    other = submit("bob", {"ps1.ipynb": answer()})
    assert job(first).state == SUPERSEDED and f"job {second}" in job(first).reason
    assert job(second).state == QUEUED and job(second).generation == 0
    assert job(other).state == QUEUED


@BOTH_DATABASES
def test_claim_takes_the_oldest_and_waits_for_a_learners_running_job(engine, submit, job):
    """Claims go oldest first; a learner's job waits while another of theirs is being graded."""
    alice = submit("alice", {"ps1.ipynb": answer()})
    bob = submit("bob", {"ps1.ipynb": answer()})
    first = _claim(engine, "w1")
    assert (first.id, first.state, first.attempts, first.lease_owner) == (alice, GRADING, 1, "w1")
    with write_session(engine) as session:
        regrade = queue.regrade(session, "ps1", student="alice")[0].id
    assert _claim(engine, "w2", job_id=regrade) is None
    assert _claim(engine, "w2").id == bob
    assert _claim(engine, "w3") is None
    with write_session(engine) as session:
        assert queue.finish(session, alice, "w1", state=GRADED, score=2, max_score=2)
    assert _claim(engine, "w3").id == regrade


@BOTH_DATABASES
def test_a_lost_lease_cannot_be_renewed_or_finished(engine, submit, job):
    """After recovery, the old worker's heartbeat and outcome are refused."""
    job_id = submit("alice", {"ps1.ipynb": answer()})
    _claim(engine, "w1", lease_seconds=60)
    with write_session(engine) as session:
        assert queue.heartbeat(session, job_id, "w1")
        assert not queue.heartbeat(session, job_id, "intruder")
    _expire(engine, job_id)
    with write_session(engine) as session:
        assert [j.id for j in queue.recover_expired(session, max_attempts=3)] == [job_id]
    with write_session(engine) as session:
        assert not queue.heartbeat(session, job_id, "w1")
        assert not queue.finish(session, job_id, "w1", state=GRADED)
    recovered = job(job_id)
    assert (recovered.state, recovered.attempts, recovered.lease_owner) == (QUEUED, 1, None)
    assert "stopped renewing its lease" in recovered.reason


@BOTH_DATABASES
def test_a_job_fails_after_max_attempts_with_the_reason_and_the_queue_goes_on(engine, submit, job):
    """Each expired lease is one attempt; after grading.max_attempts the job fails, saying so."""
    crashing = submit("mallory", {"ps1.ipynb": answer()})
    honest = submit("bob", {"ps1.ipynb": answer()})
    for attempt in (1, 2, 3):
        claimed = _claim(engine, f"w{attempt}", job_id=crashing)
        assert claimed.attempts == attempt
        _expire(engine, crashing)
        with write_session(engine) as session:
            queue.recover_expired(session, max_attempts=3)
    failed = job(crashing)
    assert failed.state == FAILED and failed.finished_at is not None
    assert "each of 3 attempts" in failed.reason and "w3" in failed.reason
    assert _claim(engine, "w4").id == honest


@BOTH_DATABASES
def test_a_job_given_back_by_a_stopping_worker_keeps_its_attempts(engine, submit, job):
    """A worker that stops returns its job uncounted; a crash counts and may fail the job."""
    job_id = submit("alice", {"ps1.ipynb": answer()})
    _claim(engine, "w1")
    with write_session(engine) as session:
        assert queue.give_back(session, job_id, "w1", max_attempts=1, reason="stop.",
                               counted=False) == QUEUED
    assert job(job_id).attempts == 0
    _claim(engine, "w2")
    with write_session(engine) as session:
        assert queue.give_back(session, job_id, "w1", max_attempts=1, reason="x") is None
        assert queue.give_back(session, job_id, "w2", max_attempts=1,
                               reason="the grading process was killed by SIGKILL.") == FAILED
    assert "killed by SIGKILL" in job(job_id).reason


@BOTH_DATABASES
def test_regrade_queues_each_learners_newest_submission_once(engine, submit, job):
    """A regrade adds a generation per newest submission and reuses one already queued."""
    submit("alice", {"ps1.ipynb": answer("return x")})
    newest = submit("alice", {"ps1.ipynb": answer()})
    bob = submit("bob", {"ps1.ipynb": answer()})
    for job_id in (newest, bob):
        _claim(engine, "w", job_id=job_id)
        with write_session(engine) as session:
            queue.finish(session, job_id, "w", state=GRADED)
    with write_session(engine) as session:
        jobs = queue.regrade(session, "ps1")
        again = queue.regrade(session, "ps1", student="alice")
        found = {(j.student, j.submission_id, j.generation) for j in jobs}
        assert [j.id for j in again] == [j.id for j in jobs if j.student == "alice"]
    assert found == {("alice", job(newest).submission_id, 1), ("bob", job(bob).submission_id, 1)}
    with Session(engine) as session:
        assert queue.state_counts(session)[QUEUED] == 2


def _claim_all(url: str, owner: str, results) -> None:
    engine = open_engine(url)
    mine = []
    while (claimed := _claim(engine, owner)) is not None:
        mine.append(claimed.id)
    results.put(mine)


@BOTH_DATABASES
def test_claim_is_exclusive_between_two_processes(engine, submit, deployment):
    """Two processes claiming at once take every job, and no job twice."""
    ids = {submit(f"learner{i}", {"ps1.ipynb": answer()}) for i in range(40)}
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()
    workers = [context.Process(target=_claim_all,
                               args=(deployment.submissions_database_url, f"w{n}", results))
               for n in range(2)]
    for process in workers:
        process.start()
    taken = [results.get() for _ in workers]
    for process in workers:
        process.join()
    assert all(process.exitcode == 0 for process in workers)
    assert set(taken[0]).isdisjoint(taken[1])
    assert set(taken[0]) | set(taken[1]) == ids


def test_dispatch_sends_nothing_in_embedded_mode(deployment, submit):
    """Without a broker the embedded queue needs no message."""
    assert queue.dispatch_after_commit(deployment, [submit("alice", {"ps1.ipynb": answer()})]) == []


def test_a_broker_that_is_down_leaves_the_job_queued_and_unsent(deployment, submit, job):
    """A send to an unreachable broker fails fast and the sweep finds the job unsent."""
    settings = with_settings(deployment, grading={"broker": "redis://127.0.0.1:9/0"})
    job_id = submit("alice", {"ps1.ipynb": answer()})
    assert queue.dispatch_after_commit(settings, [job_id]) == []
    assert job(job_id).state == QUEUED and job(job_id).dispatched_at is None
    engine = queue.engine_for(settings)
    with Session(engine) as session:
        assert queue.undispatched(session, stale_seconds=900) == [job_id]


@pytest.mark.parametrize("state", [GRADING, GRADED])
def test_enqueue_never_supersedes_a_job_already_started(engine, submit, job, state):
    """Only queued jobs are superseded; one being graded or graded keeps its state."""
    first = submit("alice", {"ps1.ipynb": answer()})
    _claim(engine, "w1")
    if state == GRADED:
        with write_session(engine) as session:
            queue.finish(session, first, "w1", state=GRADED)
    submit("alice", {"ps1.ipynb": answer("return x")})
    assert job(first).state == state
