"""Celery mode: one task, ``grade(job_id)``, for grading workers on any machine.

The message only names a job; the database row stays the source of truth.
The task claims the row before grading, so a redelivered or duplicated
message (a worker killed before it acknowledged, the sweep sending again)
grades nothing twice. Tasks are acknowledged late and requeued when a worker
process is lost, and a worker takes one message at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache

from celery import Celery
from kombu.exceptions import OperationalError

from qcampus.database import write_session
from qcampus.settings import Settings
from submissions.grading import queue
from submissions.grading.models import QUEUED, GradingJob
from submissions.grading.worker import owner_name, run_job

log = logging.getLogger(__name__)

TASK = "qcampus.grading.grade"
QUEUE = "qcampus-grading"
#: Seconds a send waits for an unreachable broker before the job is left for the sweep.
SEND_TIMEOUT = 3.0

#: The deployment this worker process grades for (set by ``qcampus grading worker``).
_worker_settings: dict[str, object] = {}


@cache
def app_for(broker: str) -> Celery:
    """Return the Celery application that sends to and consumes from *broker*."""
    app = Celery("qcampus-grading", broker=broker, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE, task_acks_late=True, task_reject_on_worker_lost=True,
        task_ignore_result=True, worker_prefetch_multiplier=1,
        broker_connection_timeout=SEND_TIMEOUT, broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False, worker_send_task_events=False)
    app.task(name=TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(grade)
    return app


def grade(job_id: int) -> str:
    """Claim job *job_id* and grade it, unless another worker has it or it is done."""
    settings: Settings = _worker_settings["settings"]
    lease_seconds = _worker_settings.get("lease_seconds", queue.LEASE_SECONDS)
    engine = queue.engine_for(settings)
    owner = owner_name()
    with write_session(engine) as session:
        job = queue.claim(session, owner, lease_seconds=lease_seconds, job_id=job_id)
        if job is None:
            waiting = session.get(GradingJob, job_id)
            if waiting is not None and waiting.state == QUEUED:
                # The learner's previous job is still being graded: the sweep sends this again.
                waiting.dispatched_at = None
                return "waiting"
            return waiting.state if waiting is not None else "unknown"
    return run_job(settings, engine, job, owner, lease_seconds=lease_seconds)


def send(settings: Settings, job_ids: Sequence[int]) -> list[int]:
    """Send one task per job; return those sent (the rest wait for the broker and the sweep)."""
    app = app_for(settings["grading"]["broker"])
    sent = []
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=SEND_TIMEOUT)
            for job_id in job_ids:
                app.send_task(TASK, args=[job_id], connection=connection, retry=False)
                sent.append(job_id)
    except (OperationalError, OSError) as exc:
        log.warning("broker %s unreachable (%s): %d grading jobs stay queued until it is back",
                    settings["grading"]["broker"], exc, len(job_ids) - len(sent))
    return sent


def run_worker(settings: Settings, *, concurrency: int, lease_seconds: float,
               name: str | None = None) -> None:
    """Run a Celery worker consuming grading tasks until it is stopped (SIGTERM: warm shutdown)."""
    from submissions.grading.service import prewarm

    _worker_settings.update(settings=settings, lease_seconds=lease_seconds)
    prewarm()
    app = app_for(settings["grading"]["broker"])
    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--pool=prefork",
            f"--queues={QUEUE}", "--without-gossip", "--without-mingle"]
    if name:
        argv.append(f"--hostname={name}")
    app.worker_main(argv)
