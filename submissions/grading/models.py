"""Records of the grading queue: one job per submission, and one more per explicit regrade.

The row is the source of truth in both queue modes: a Celery message only
says "look at job N", and whoever claims the row grades it. A claim is a lease
(owner and expiry) the grading worker renews while it works; a lease that ran
out means the worker died, and the job goes back to the queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from submissions.db import Base, UTCDateTime, utcnow
from submissions.exchange.models import Submission

QUEUED = "queued"
GRADING = "grading"
GRADED = "graded"
FAILED = "failed"
TIMED_OUT = "timed_out"
SUPERSEDED = "superseded"
#: Every state, in the order an instructor's view lists them.
STATES = (QUEUED, GRADING, GRADED, FAILED, TIMED_OUT, SUPERSEDED)
#: States a job never leaves.
FINAL = (GRADED, FAILED, TIMED_OUT, SUPERSEDED)


class GradingJob(Base):
    """One grading of one submission: generation 0 when it arrived, 1, 2, ... per regrade."""

    __tablename__ = "grading_jobs"
    __table_args__ = (
        UniqueConstraint("submission_id", "generation"),
        Index("ix_grading_jobs_state_id", "state", "id"),
        Index("ix_grading_jobs_learner", "course", "assignment", "student"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("exchange_submissions.id"), index=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    course: Mapped[str] = mapped_column(String(64))
    assignment: Mapped[str] = mapped_column(String(128))
    student: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    # Times grading started; a lease that ran out was one of them.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # "<host>:<pid>" of the worker holding the job, and when its lease runs out.
    lease_owner: Mapped[str | None] = mapped_column(String(255), default=None)
    lease_expires: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # What instructors read beside the state: why it failed, timed out or was superseded.
    reason: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float, default=None)
    max_score: Mapped[float | None] = mapped_column(Float, default=None)
    # Versions of the libraries the score was computed with ({"qiskit": "2.6.2", ...}).
    environment: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Celery mode: when a task was last sent for this job; None = not sent (broker down).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # When this grading's feedback was handed to the exchange; None = not released.
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    submission: Mapped[Submission] = relationship()

    def describe(self) -> dict[str, Any]:
        """Return the JSON an instructor's view shows for this job."""
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"id": self.id, "submission_id": self.submission_id, "generation": self.generation,
                "course": self.course, "assignment": self.assignment, "student": self.student,
                "state": self.state, "attempts": self.attempts, "reason": self.reason,
                "score": self.score, "max_score": self.max_score,
                "environment": self.environment, "created_at": when(self.created_at),
                "started_at": when(self.started_at), "finished_at": when(self.finished_at),
                "feedback_at": when(self.feedback_at)}
