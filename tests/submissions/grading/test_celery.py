"""Celery mode on real Redis and RabbitMQ: two workers share a queue, a broker outage loses nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from submissions.grading import queue
from submissions.grading.celery_app import QUEUE, app_for
from submissions.grading.models import FINAL, GRADED, QUEUED
from tests.submissions.grading.conftest import answer, with_settings
from tests.submissions.grading.test_service import (
    SLOW,
    assert_graded_once_more,
    grading_pid,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

QCAMPUS = str(Path(sys.executable).parent / "qcampus")
BROKERS = {"redis": "redis://127.0.0.1:6379/14", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//"}


@pytest.fixture
def processes(tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Return ``start(name, *argv, env=)``: a process logging to tmp_path/<name>.log, stopped after."""
    started = []

    def start(name: str, *argv: str, env: dict | None = None) -> subprocess.Popen:
        with open(tmp_path / f"{name}.log", "wb") as log:
            process = subprocess.Popen(list(argv), env={**os.environ, **(env or {})}, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _purge(broker: str) -> None:
    """Drop messages a previous run left in the grading queue of *broker*."""
    with app_for(broker).connection_for_write() as connection:
        connection.default_channel.queue_declare(queue=QUEUE, durable=True, auto_delete=False)
        connection.default_channel.queue_purge(QUEUE)


def _worker(processes, settings, name: str) -> subprocess.Popen:
    return processes(name, QCAMPUS, "grading", "worker", "--concurrency", "1", "--name",
                     f"{name}@%h", env={"QCAMPUS_HOME": str(settings.home)})


def _log(tmp_path: Path, name: str) -> str:
    return (tmp_path / f"{name}.log").read_text(errors="replace")


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_two_workers_share_the_queue_and_grade_every_job_once(
        broker, deployment, demo_course, submit, job, processes, tmp_path):
    """Every job is graded exactly once by two worker processes, though each task is sent twice."""
    settings = with_settings(deployment, grading={"broker": BROKERS[broker]})
    _purge(BROKERS[broker])
    workers = [_worker(processes, settings, f"w{n}") for n in (1, 2)]
    for n in (1, 2):
        wait_for(lambda n=n: "ready." in _log(tmp_path, f"w{n}"), f"worker w{n} ready", 120)
    ids = [submit(f"learner{n}", {"ps1.ipynb": answer()}) for n in range(6)]
    assert queue.dispatch_after_commit(settings, ids) == ids
    assert queue.dispatch_after_commit(settings, ids) == ids  # duplicates must not grade twice

    for job_id in ids:
        wait_for(lambda job_id=job_id: job(job_id).state in FINAL, f"job {job_id} finished")
    assert {(job(i).state, job(i).attempts, job(i).score) for i in ids} == {(GRADED, 1, 2.0)}
    for n in (1, 2):
        assert "qcampus.grading.grade" in _log(tmp_path, f"w{n}"), f"w{n} took no task"
    assert all(process.poll() is None for process in workers)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_jobs_wait_out_a_broker_outage_and_are_graded_when_it_returns(
        deployment, demo_course, submit, job, processes):
    """With the broker down jobs stay queued and unsent; once it is up the sweep sends them."""
    port = _free_port()
    settings = with_settings(deployment, grading={"broker": f"redis://127.0.0.1:{port}/0"})
    ids = [submit(f"learner{n}", {"ps1.ipynb": answer()}) for n in range(2)]
    assert queue.dispatch_after_commit(settings, ids) == []
    assert [(job(i).state, job(i).dispatched_at) for i in ids] == [(QUEUED, None)] * 2

    home = {"QCAMPUS_HOME": str(settings.home)}
    processes("service", sys.executable, "-m", "submissions.grading", env=home)
    _worker(processes, settings, "w1")
    processes("redis", "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
              "--appendonly", "no")

    for job_id in ids:
        wait_for(lambda job_id=job_id: job(job_id).state in FINAL, f"job {job_id} finished")
    assert {(job(i).state, job(i).attempts) for i in ids} == {(GRADED, 1)}
    assert all(job(i).dispatched_at is not None for i in ids)


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_a_celery_worker_process_killed_mid_grade_is_graded_once_more(
        broker, deployment, demo_course, submit, job, processes, tmp_path):
    """SIGKILL of the pool process grading a job: the redelivered task finds it taken, the sweep
    requeues it once its lease runs out, and it is graded exactly once more."""

    settings = with_settings(deployment, grading={"broker": BROKERS[broker]})
    _purge(BROKERS[broker])
    processes("w1", QCAMPUS, "grading", "worker", "--concurrency", "1", "--lease-seconds", "3",
              "--name", "w1@%h", env={"QCAMPUS_HOME": str(settings.home)})
    processes("service", sys.executable, "-m", "submissions.grading", "--lease-seconds", "3",
              env={"QCAMPUS_HOME": str(settings.home)})
    wait_for(lambda: "ready." in _log(tmp_path, "w1"), "worker w1 ready", 120)
    job_id = submit("alice", {"ps1.ipynb": SLOW})
    assert queue.dispatch_after_commit(settings, [job_id]) == [job_id]
    os.kill(grading_pid(job, job_id), signal.SIGKILL)
    assert_graded_once_more(job, job_id, demo_course)
