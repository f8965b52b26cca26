"""The embedded service: a killed worker's job is graded again, a crashing one fails, SIGTERM gives back."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from submissions.grading import pipeline
from submissions.grading.models import FAILED, FINAL, GRADED, GRADING, QUEUED
from submissions.grading.service import Service
from tests.submissions.conftest import BOTH_DATABASES
from tests.submissions.grading.conftest import answer, with_settings

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

#: Seconds of a lease in these tests: short, so a dead worker's job comes back soon.
LEASE = "3"
#: An answer that takes a few seconds to grade, so a worker can be stopped while it does.
SLOW = answer(before="import time\ntime.sleep(4)")


def wait_for(condition: Callable[[], object], what: str, seconds: float = 180) -> object:
    """Return *condition*'s first true value, polling; fail naming *what* if it never comes."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
def service(deployment, demo_course, tmp_path) -> Iterator[Callable[[], subprocess.Popen]]:
    """Return a function starting ``python -m submissions.grading`` on the deployment."""
    started = []

    def start() -> subprocess.Popen:
        with open(tmp_path / f"service-{len(started)}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "submissions.grading", "--lease-seconds", LEASE],
                env={**os.environ, "QCAMPUS_HOME": str(deployment.home)}, stdout=log,
                stderr=subprocess.STDOUT)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def gradebook_rows(course) -> list[tuple]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "demo") as gb:
        return [(s.student_id, g.name, g.auto_score)
                for s in gb.assignment_submissions("ps1") for nb in s.notebooks for g in nb.grades]


def grading_pid(job: Callable, job_id: int) -> int:
    """Wait until job *job_id* is being graded; return the pid of the worker holding it."""
    owner = wait_for(lambda: job(job_id).state == GRADING and job(job_id).lease_owner,
                     "the job being graded")
    return int(owner.rpartition(":")[2])


def assert_graded_once_more(job: Callable, job_id: int, course) -> None:
    """Wait for the job to end; it must be graded on its second attempt, with one set of rows."""
    wait_for(lambda: job(job_id).state in FINAL, "the job graded again")
    graded = job(job_id)
    assert (graded.state, graded.attempts, graded.score) == (GRADED, 2, 2.0), graded.reason
    assert gradebook_rows(course) == [("alice", "test_square", 2.0)]


@BOTH_DATABASES
def test_a_worker_killed_mid_grade_is_replaced_and_the_job_graded_once_more(
        service, submit, job, demo_course):
    """SIGKILL of the worker holding a job: after its lease runs out the job is graded again."""
    job_id = submit("alice", {"ps1.ipynb": SLOW})
    process = service()
    os.kill(grading_pid(job, job_id), signal.SIGKILL)
    assert_graded_once_more(job, job_id, demo_course)
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0


def alive(pid: int) -> bool:
    """Return whether process *pid* exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_service_killed_mid_grade_grades_the_job_again_after_a_restart(
        service, submit, job, demo_course):
    """SIGKILL of the whole service takes its worker down too; a restart grades the job once more."""
    job_id = submit("alice", {"ps1.ipynb": SLOW})
    process = service()
    worker = grading_pid(job, job_id)
    process.kill()
    process.wait()
    wait_for(lambda: not alive(worker), "the worker ending with the service")

    restarted = service()
    assert_graded_once_more(job, job_id, demo_course)
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(60) == 0


def test_sigterm_gives_the_job_in_hand_back_uncounted(service, submit, job):
    """A service stopped while grading exits cleanly and leaves the job queued, attempts 0."""
    job_id = submit("alice", {"ps1.ipynb": SLOW})
    process = service()
    wait_for(lambda: job(job_id).state == GRADING, "the job being graded")
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    stopped = job(job_id)
    assert (stopped.state, stopped.attempts, stopped.lease_owner) == (QUEUED, 0, None)

    restarted = service()
    wait_for(lambda: job(job_id).state in FINAL, "the job graded after a restart")
    assert job(job_id).state == GRADED, job(job_id).reason
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(60) == 0


def _crashing_on(student: str):
    def grade(settings, job):
        if job.student == student:  # what a grader crash does: the process is gone
            os.kill(os.getpid(), signal.SIGKILL)
        return pipeline.grade(settings, job)

    return grade


def test_a_submission_that_crashes_every_time_fails_after_max_attempts(deployment, demo_course,
                                                                       submit, job):
    """Its grading process dies each time: failed after grading.max_attempts, the next one graded."""
    settings = with_settings(deployment, grading={"max_attempts": 2})
    crashing = submit("mallory", {"ps1.ipynb": answer()})
    honest = submit("bob", {"ps1.ipynb": answer()})
    context = multiprocessing.get_context("fork")
    supervisor = context.Process(target=Service(settings, lease_seconds=3,
                                                grade=_crashing_on("mallory")).run)
    supervisor.start()
    try:
        wait_for(lambda: job(honest).state in FINAL, "the next job graded")
    finally:
        os.kill(supervisor.pid, signal.SIGTERM)
        supervisor.join(60)
    assert job(honest).state == GRADED, job(honest).reason
    failed = job(crashing)
    assert failed.state == FAILED and failed.attempts == 2
    assert "killed by SIGKILL" in failed.reason and "each of 2 attempts" in failed.reason
    assert supervisor.exitcode == 0
