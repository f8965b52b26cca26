"""Grade one claimed job in a child process while renewing its lease; record what became of it.

The child is forked from a worker that already imported the grading stack,
so it starts warm; it leads its own process group and dies with the worker
(``PR_SET_PDEATHSIG``), so nothing it started outlives a killed worker and
grades a second time beside the job's next attempt. A child that dies or
raises costs the job one attempt; one still running past ``grading.timeout``
is killed and the job timed out; a worker asked to stop gives the job back
without counting it.
"""

from __future__ import annotations

import ctypes
import json
import logging
import multiprocessing
import os
import select
import signal
import socket
import time
from collections.abc import Callable

from sqlalchemy import Engine

from qcampus.database import write_session
from qcampus.settings import Settings
from submissions.grading import queue
from submissions.grading.models import QUEUED, TIMED_OUT, GradingJob
from submissions.grading.pipeline import Outcome

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
#: Seconds a job may run past ``grading.timeout`` for the grader to start and save.
GRACE_SECONDS = 60.0
#: Seconds between looks at the child and at a stop request.
POLL_SECONDS = 0.5
#: Longest error text kept from a child that raised.
REASON_CHARS = 1000

Grade = Callable[[Settings, GradingJob], Outcome]


def owner_name() -> str:
    """Return this process's lease owner name, ``<host>:<pid>``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Have the kernel send *signum* to this process when its parent thread ends."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)


def _child(settings: Settings, job: GradingJob, grade: Grade, write_end: int) -> None:
    """Run in the forked child: grade, write the outcome as JSON, and exit without cleanup."""
    code = 0
    try:
        os.setpgid(0, 0)
        die_with_parent()
        # A Celery pool process is a daemon to multiprocessing, which would refuse the
        # grader's own workers; this child is not one (it dies with its parent instead).
        multiprocessing.current_process()._config.pop("daemon", None)
        # Every process the grader forks from here also dies with its parent.
        os.register_at_fork(after_in_child=die_with_parent)
        message = {"outcome": grade(settings, job).as_record()}
    except BaseException as exc:  # reported to the worker, which counts the attempt
        message, code = {"error": f"{type(exc).__name__}: {exc}"[:REASON_CHARS]}, 1
    try:
        os.write(write_end, json.dumps(message).encode() + b"\n")
    finally:
        os._exit(code)


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"the grading process was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"the grading process exited with status {os.waitstatus_to_exitcode(status)}"


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:  # the group has already ended
        pass


def run_job(settings: Settings, engine: Engine, job: GradingJob, owner: str, *,
            lease_seconds: float = queue.LEASE_SECONDS, grade: Grade | None = None,
            stopping: Callable[[], bool] = lambda: False,
            grace_seconds: float = GRACE_SECONDS) -> str:
    """Grade the job *owner* claimed and record the outcome; return the job's new state.

    Args:
        grade: The grading function run in the child (default: the pipeline's).
        stopping: Returns True when the worker must stop; the job is given back.
        grace_seconds: Time past ``grading.timeout`` before the child is killed.
    """
    if grade is None:
        from submissions.grading.pipeline import grade
    max_attempts = settings["grading"]["max_attempts"]
    deadline = time.monotonic() + settings["grading"]["timeout"] + grace_seconds
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(settings, job, grade, write_end)
    os.close(write_end)
    data, renewed = b"", time.monotonic()
    try:
        while True:
            ready, _, _ = select.select([read_end], [], [], POLL_SECONDS)
            if ready:
                chunk = os.read(read_end, 1 << 16)
                data += chunk
                # The outcome ends with a newline: the grader's own children may hold the
                # pipe open after the child has written it.
                if not chunk or data.endswith(b"\n"):
                    break
                continue
            if stopping():
                _kill_group(pid)
                with write_session(engine) as session:
                    queue.give_back(session, job.id, owner, max_attempts=max_attempts,
                                    reason="the worker stopped.", counted=False)
                return QUEUED
            if time.monotonic() > deadline:
                _kill_group(pid)
                return _record(engine, job, owner, Outcome(
                    TIMED_OUT, f"Grading took longer than grading.timeout "
                               f"({settings['grading']['timeout']} s) and was stopped."))
            if time.monotonic() - renewed > lease_seconds / 3:
                renewed = time.monotonic()
                with write_session(engine) as session:
                    if not queue.heartbeat(session, job.id, owner, lease_seconds=lease_seconds):
                        log.warning("job %s: lease lost; stopping its grading", job.id)
                        _kill_group(pid)
                        return "lost"
    finally:
        os.close(read_end)
        _kill_group(pid)  # the child, if it still runs, and anything the grader left behind
        _, status = os.waitpid(pid, 0)
    message = json.loads(data) if data.endswith(b"\n") else {"error": _ended(status)}
    if "outcome" in message:
        return _record(engine, job, owner, Outcome(**message["outcome"]))
    with write_session(engine) as session:
        state = queue.give_back(session, job.id, owner, max_attempts=max_attempts,
                                reason=message["error"] + ".")
    log.warning("job %s of %s/%s: %s; now %s", job.id, job.assignment, job.student,
                message["error"], state)
    return state or "lost"


def _record(engine: Engine, job: GradingJob, owner: str, outcome: Outcome) -> str:
    with write_session(engine) as session:
        kept = queue.finish(session, job.id, owner, **outcome.as_record())
    log.info("job %s of %s/%s/%s: %s %s", job.id, job.course, job.assignment, job.student,
             outcome.state, outcome.reason)
    return outcome.state if kept else "lost"
