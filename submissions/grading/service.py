"""The grading service: embedded workers on this machine, and the sweep every mode needs.

``python -m submissions.grading`` runs one supervisor. It forks
``grading.workers`` workers (none when ``grading.broker`` hands grading to
Celery), each claiming jobs from the database and grading them, and every few
seconds sweeps: leases that ran out go back to the queue (or fail after
``grading.max_attempts``), jobs whose Celery task could not be sent are sent
again, and feedback of ``after-deadline`` assignments is released once due.
SIGTERM or SIGINT stops it: each worker gives its job in hand back to the queue.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import signal
import threading
import time

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from qcampus.database import write_session
from qcampus.errors import CourseError
from qcampus.settings import Settings
from submissions.db import utcnow
from submissions.errors import SubmissionError
from submissions.grading import feedback, queue
from submissions.grading.models import GRADED, TIMED_OUT, GradingJob
from submissions.grading.worker import Grade, die_with_parent, owner_name, run_job

log = logging.getLogger(__name__)

#: Seconds between sweeps of the supervisor.
SWEEP_SECONDS = 5.0
#: Seconds an idle worker waits before looking for a job again.
IDLE_SECONDS = 1.0
#: Seconds a worker has to give its job back after SIGTERM before it is killed.
STOP_SECONDS = 30.0


class Stop:
    """A flag set by SIGTERM or SIGINT, waited on instead of sleeping."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self, *signums: int) -> None:
        for signum in signums:
            signal.signal(signum, lambda *_: self.event.set())

    def __call__(self) -> bool:
        return self.event.is_set()

    def wait(self, seconds: float) -> bool:
        return self.event.wait(seconds)


def prewarm() -> None:
    """Import the grading stack once, so every job forked from this worker starts warm."""
    from grader.sandbox.zygote import DEFAULT_PRELOAD, single_threaded_native_pools

    # NumPy's BLAS and Aer's OpenMP size their thread pools when imported, here: one
    # thread each, or every sandbox forked from this worker inherits a pool per core.
    single_threaded_native_pools()
    # nbgrader's apps and HTML export: feedback pages are made in a child forked from here.
    for name in [*DEFAULT_PRELOAD, "grader.autograde.worker", "nbgrader.converters",
                 "nbgrader.apps.nbgraderapp", "nbconvert.exporters.html"]:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # a missing extra is reported by the grading itself
            log.warning("not pre-imported: %s", exc)


def work(settings: Settings, lease_seconds: float, grade: Grade | None) -> None:
    """Claim and grade jobs until SIGTERM (run in a forked worker process)."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides on Ctrl-C
    # While importing, the worker holds no job: SIGTERM ends it at once (a hub stopped just
    # after it started waited seconds for the imports), not after them.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    prewarm()
    stop = Stop()
    stop.install(signal.SIGTERM)
    engine = queue.engine_for(settings)
    owner = owner_name()
    while not stop():
        job = None
        # A read first: an idle worker must not take SQLite's write lock every second.
        with Session(engine) as session:
            waiting = queue.has_queued(session)
        if waiting:
            with write_session(engine) as session:
                job = queue.claim(session, owner, lease_seconds=lease_seconds)
        if job is None:
            stop.wait(IDLE_SECONDS)
            continue
        log.info("job %s: grading %s/%s of %s", job.id, job.course, job.assignment, job.student)
        run_job(settings, engine, job, owner, lease_seconds=lease_seconds, grade=grade,
                stopping=stop)


class Service:
    """The supervisor of one machine's grading.

    Args:
        settings: The deployment's settings.
        lease_seconds: How long a claim lasts without a heartbeat.
        grade: The grading function (default: :func:`submissions.grading.pipeline.grade`).
    """

    def __init__(self, settings: Settings, *, lease_seconds: float = queue.LEASE_SECONDS,
                 grade: Grade | None = None) -> None:
        self.settings = settings
        self.lease_seconds = lease_seconds
        self.grade = grade
        self.celery = bool(settings["grading"]["broker"])
        self.slots = 0 if self.celery else max(1, settings["grading"]["workers"])
        self.workers: list[multiprocessing.Process] = []
        self.stop = Stop()

    def _start_worker(self) -> multiprocessing.Process:
        process = multiprocessing.get_context("fork").Process(
            target=work, args=(self.settings, self.lease_seconds, self.grade),
            name="qcampus-grading-worker")
        process.start()
        return process

    def run(self) -> None:
        """Run workers and sweeps until SIGTERM or SIGINT."""
        self.stop.install(signal.SIGTERM, signal.SIGINT)
        engine = queue.engine_for(self.settings)
        mode = f"Celery on {self.settings['grading']['broker']}" if self.celery else "embedded"
        log.info("grading service: %s queue, %d local workers", mode, self.slots)
        self.workers = [self._start_worker() for _ in range(self.slots)]
        try:
            while not self.stop():
                for index, process in enumerate(self.workers):
                    if not process.is_alive():
                        log.warning("worker %s ended (%s); starting another", process.pid,
                                    process.exitcode)
                        self.workers[index] = self._start_worker()
                try:
                    self.sweep(engine)
                except Exception:
                    # A database or broker that is briefly away: the next sweep tries again.
                    log.exception("grading sweep failed; trying again in %s s", SWEEP_SECONDS)
                self.stop.wait(SWEEP_SECONDS)
        finally:
            self._stop_workers()

    def _stop_workers(self) -> None:
        for process in self.workers:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()

    def sweep(self, engine: Engine) -> None:
        """Recover expired leases, send unsent Celery tasks, release feedback now due."""
        with write_session(engine) as session:
            queue.recover_expired(session, max_attempts=self.settings["grading"]["max_attempts"])
        if self.celery:
            with Session(engine) as session:
                waiting = queue.undispatched(session,
                                             stale_seconds=self.settings["grading"]["timeout"])
            queue.dispatch_after_commit(self.settings, waiting)
        release_due_feedback(self.settings, engine)


def release_due_feedback(settings: Settings, engine: Engine) -> list[int]:
    """Release the feedback of ``after-deadline`` assignments whose due time has passed.

    Each learner's most recently graded job stands for all their unreleased ones
    (the course's autograded folder holds that grading).

    Returns:
        The jobs whose feedback was released.
    """
    graded = (GradingJob.state.in_((GRADED, TIMED_OUT)), GradingJob.feedback_at.is_(None))
    with Session(engine) as session:
        pairs = session.execute(select(GradingJob.course, GradingJob.assignment)
                                .where(*graded).distinct()).all()
    released = []
    now = utcnow()
    for course, assignment in pairs:
        mode, due = feedback.policy(settings, course, assignment)
        if mode != feedback.AFTER_DEADLINE or due is None or due > now:
            continue
        with Session(engine) as session:
            jobs = session.scalars(select(GradingJob).where(
                *graded, GradingJob.course == course, GradingJob.assignment == assignment)
                .order_by(GradingJob.finished_at)).all()
        latest = {job.student: job for job in jobs}
        for student, job in latest.items():
            try:
                feedback.release(settings, engine, job.submission_id)
            except (CourseError, SubmissionError, OSError) as exc:
                # Tried again at the next sweep; the instructor sees why in the log.
                log.error("feedback of %s/%s for %s not released: %s", course, assignment,
                          student, exc)
                continue
            with write_session(engine) as session:
                session.execute(update(GradingJob).where(
                    *graded, GradingJob.course == course, GradingJob.assignment == assignment,
                    GradingJob.student == student, GradingJob.id <= job.id)
                    .values(feedback_at=now).execution_options(synchronize_session=False))
            released.append(job.id)
    return released
