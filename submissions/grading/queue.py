"""The grading queue: enqueue, claim with a lease, heartbeat, finish, recover, regrade.

Every function takes the caller's session and changes rows only by
conditional updates, so the database decides who holds a job: on SQLite the
caller's write transaction is ``BEGIN IMMEDIATE`` (writers take turns), on
PostgreSQL the candidate row is taken ``FOR UPDATE SKIP LOCKED`` (two workers
never wait on, nor both take, the same job). A learner's jobs are graded one at
a time, oldest first, because they share one submitted folder.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import cache

from sqlalchemy import Engine, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from qcampus.database import write_session
from qcampus.settings import Settings
from submissions.db import open_engine, utcnow
from submissions.exchange.models import Submission
from submissions.grading.models import FAILED, GRADING, QUEUED, STATES, SUPERSEDED, GradingJob

log = logging.getLogger(__name__)

#: Seconds a claim lasts without a heartbeat; a worker renews it every third of that.
LEASE_SECONDS = 60.0


@cache
def _engine(url: str, pid: int) -> Engine:
    # One engine per process: a forked child must not share its parent's connections.
    return open_engine(url)


def engine_for(settings: Settings) -> Engine:
    """Return this process's engine on the submissions database of *settings*."""
    import os

    return _engine(settings.submissions_database_url, os.getpid())


def enqueue(session: Session, submission: Submission) -> GradingJob:
    """Queue the first grading of *submission*, in the transaction that records it.

    Queued jobs of the learner's older submissions of the assignment are
    superseded at once: only the newest submission is worth grading.
    """
    job = GradingJob(submission=submission, generation=0, course=submission.course,
                     assignment=submission.assignment, student=submission.student, state=QUEUED)
    session.add(job)
    session.flush()
    session.execute(
        update(GradingJob)
        .where(GradingJob.course == job.course, GradingJob.assignment == job.assignment,
               GradingJob.student == job.student, GradingJob.state == QUEUED,
               GradingJob.submission_id != job.submission_id)
        .values(state=SUPERSEDED, finished_at=utcnow(),
                reason=f"A newer submission arrived (job {job.id}); this one was not graded.")
        .execution_options(synchronize_session=False))
    return job


def claim(session: Session, owner: str, *, lease_seconds: float = LEASE_SECONDS,
          job_id: int | None = None) -> GradingJob | None:
    """Take the oldest queued job (or job *job_id*) for *owner*; None if there is none to take.

    A job whose learner already has a job being graded waits for it.
    """
    busy = aliased(GradingJob)
    learner_busy = exists().where(busy.state == GRADING, busy.course == GradingJob.course,
                                  busy.assignment == GradingJob.assignment,
                                  busy.student == GradingJob.student)
    candidates = (select(GradingJob.id).where(GradingJob.state == QUEUED, ~learner_busy)
                  .order_by(GradingJob.id).limit(1)
                  .with_for_update(skip_locked=True, of=GradingJob))
    if job_id is not None:
        candidates = candidates.where(GradingJob.id == job_id)
    found = session.scalar(candidates)
    if found is None:
        return None
    now = utcnow()
    taken = session.execute(
        update(GradingJob).where(GradingJob.id == found, GradingJob.state == QUEUED)
        .values(state=GRADING, lease_owner=owner,
                lease_expires=now + timedelta(seconds=lease_seconds), started_at=now,
                attempts=GradingJob.attempts + 1, reason="")
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        return None
    return session.get(GradingJob, found, populate_existing=True)


def _held(job_id: int, owner: str):
    """Return the condition "job *job_id* is being graded under *owner*'s lease"."""
    return (GradingJob.id == job_id, GradingJob.state == GRADING, GradingJob.lease_owner == owner)


def heartbeat(session: Session, job_id: int, owner: str, *,
              lease_seconds: float = LEASE_SECONDS) -> bool:
    """Renew *owner*'s lease on the job; False if the lease was lost (the job was recovered)."""
    renewed = session.execute(
        update(GradingJob).where(*_held(job_id, owner))
        .values(lease_expires=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False))
    return renewed.rowcount == 1


def finish(session: Session, job_id: int, owner: str, *, state: str, reason: str = "",
           score: float | None = None, max_score: float | None = None,
           environment: dict | None = None, feedback_released: bool = False) -> bool:
    """Record the outcome of *owner*'s grading; False if its lease had been lost meanwhile."""
    now = utcnow()
    done = session.execute(
        update(GradingJob).where(*_held(job_id, owner))
        .values(state=state, reason=reason, score=score, max_score=max_score,
                environment=environment, finished_at=now, lease_owner=None, lease_expires=None,
                feedback_at=now if feedback_released else None)
        .execution_options(synchronize_session=False))
    return done.rowcount == 1


def give_back(session: Session, job_id: int, owner: str, *, max_attempts: int, reason: str,
              counted: bool = True) -> str | None:
    """Return *owner*'s job to the queue; a counted attempt past *max_attempts* fails it.

    Args:
        counted: False when the job was not at fault (the worker is stopping), so
            the attempt is not held against the submission.

    Returns:
        The job's new state, or None if the lease had been lost meanwhile.
    """
    job = session.scalar(select(GradingJob).where(*_held(job_id, owner)))
    if job is None:
        return None
    _requeue_or_fail(job, max_attempts, reason, counted)
    return job.state


def _requeue_or_fail(job: GradingJob, max_attempts: int, reason: str, counted: bool) -> None:
    job.lease_owner = job.lease_expires = job.dispatched_at = None
    if not counted:
        job.attempts -= 1
    if counted and job.attempts >= max_attempts:
        job.state, job.finished_at = FAILED, utcnow()
        job.reason = (f"Not graded: grading stopped in each of {job.attempts} attempts "
                      f"(grading.max_attempts); the last time: {reason} Look at the "
                      f"submission, then regrade it.")
    else:
        job.state = QUEUED
        job.reason = f"Queued again after attempt {job.attempts}: {reason}" if counted else ""


def recover_expired(session: Session, *, max_attempts: int) -> list[GradingJob]:
    """Put jobs whose lease ran out (their worker died) back in the queue, or fail them.

    Returns:
        The jobs changed, with their new state.
    """
    expired = session.scalars(
        select(GradingJob).where(GradingJob.state == GRADING, GradingJob.lease_expires < utcnow())
        .with_for_update(skip_locked=True)).all()
    for job in expired:
        owner = job.lease_owner
        _requeue_or_fail(job, max_attempts,
                         f"the worker {owner} stopped renewing its lease (killed, crashed or its "
                         f"machine lost).", counted=True)
        log.warning("job %s of %s/%s/%s: lease of %s ran out; now %s", job.id, job.course,
                    job.assignment, job.student, owner, job.state)
    return list(expired)


def regrade(session: Session, target: GradingJob | str, *, course: str | None = None,
            student: str | None = None) -> list[GradingJob]:
    """Queue the grading of a job's submission again, or of each learner's newest of an assignment.

    Args:
        target: A job, or an assignment id.
        course: With an assignment id, only this course.
        student: With an assignment id, only this learner.

    Returns:
        One queued job per submission (an already queued one is reused).
    """
    if isinstance(target, GradingJob):
        chosen = [session.get(Submission, target.submission_id)]
    else:
        query = select(Submission).where(Submission.assignment == target)
        if course is not None:
            query = query.where(Submission.course == course)
        if student is not None:
            query = query.where(Submission.student == student)
        newest: dict[tuple[str, str], Submission] = {}
        for submission in session.scalars(query.order_by(Submission.submitted_at, Submission.id)):
            newest[(submission.course, submission.student)] = submission
        chosen = list(newest.values())
    jobs = []
    for submission in chosen:
        waiting = session.scalar(select(GradingJob).where(
            GradingJob.submission_id == submission.id, GradingJob.state == QUEUED))
        if waiting is None:
            generation = session.scalar(select(func.max(GradingJob.generation)).where(
                GradingJob.submission_id == submission.id))
            waiting = GradingJob(submission=submission,
                                 generation=0 if generation is None else generation + 1,
                                 course=submission.course, assignment=submission.assignment,
                                 student=submission.student, state=QUEUED)
            session.add(waiting)
        jobs.append(waiting)
    session.flush()
    return jobs


def has_queued(session: Session) -> bool:
    """Return whether any job waits in the queue."""
    return bool(session.scalar(select(exists().where(GradingJob.state == QUEUED))))


def state_counts(session: Session) -> dict[str, int]:
    """Return how many jobs are in each state (every state named, zero included)."""
    found = {state: count for state, count in session.execute(
        select(GradingJob.state, func.count()).group_by(GradingJob.state))}
    return {state: found.get(state, 0) for state in STATES}


def undispatched(session: Session, *, stale_seconds: float) -> list[int]:
    """Return queued jobs never sent to the broker, or sent more than *stale_seconds* ago.

    A task lost with the broker (a Redis restarted without persistence) is sent
    again this way; a duplicate is harmless, as only one claim succeeds.
    """
    stale = utcnow() - timedelta(seconds=stale_seconds)
    return list(session.scalars(
        select(GradingJob.id).where(GradingJob.state == QUEUED)
        .where((GradingJob.dispatched_at.is_(None)) | (GradingJob.dispatched_at < stale))
        .order_by(GradingJob.id)))


def dispatch_after_commit(settings: Settings, job_ids: Iterable[int]) -> list[int]:
    """Send one Celery task per job once their rows are committed; nothing in embedded mode.

    A send that fails because the broker is unreachable leaves the job queued and
    unsent: the grading service's sweep sends it again when the broker is back.

    Returns:
        The jobs sent.
    """
    job_ids = list(job_ids)
    if not settings["grading"]["broker"] or not job_ids:
        return []
    from submissions.grading.celery_app import send

    sent = send(settings, job_ids)
    if sent:
        mark_dispatched(engine_for(settings), sent)
    return sent


def mark_dispatched(engine: Engine, job_ids: Sequence[int]) -> None:
    """Record that a task was sent for each of *job_ids*."""
    with write_session(engine) as session:
        session.execute(update(GradingJob).where(GradingJob.id.in_(job_ids))
                        .values(dispatched_at=utcnow())
                        .execution_options(synchronize_session=False))
