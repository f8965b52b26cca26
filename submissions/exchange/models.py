"""Records of the exchange: releases, submissions and the feedback on them.

The files themselves live in the store (:mod:`submissions.exchange.store`),
root-only; these rows say who, what and when. ``Submission.student`` is the
authenticated hub user and ``Submission.submitted_at`` the service's clock:
nothing a client sends decides either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from submissions.db import Base, UTCDateTime, utcnow


class Release(Base):
    """One version of an assignment's released notebooks; the newest is what learners fetch."""

    __tablename__ = "exchange_releases"
    __table_args__ = (UniqueConstraint("course", "assignment", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course: Mapped[str] = mapped_column(String(64), index=True)
    assignment: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_by: Mapped[str] = mapped_column(String(255))
    # Notebook file names (``<id>.ipynb``): the only names a submission may hold.
    notebooks: Mapped[list[str]] = mapped_column(JSON)
    # Directory of the files, relative to the store's root.
    directory: Mapped[str] = mapped_column(String(512))
    withdrawn: Mapped[bool] = mapped_column(default=False)


class Submission(Base):
    """One submission of one learner: kept for ever, never overwritten."""

    __tablename__ = "exchange_submissions"
    __table_args__ = (UniqueConstraint("course", "assignment", "student", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course: Mapped[str] = mapped_column(String(64), index=True)
    assignment: Mapped[str] = mapped_column(String(128), index=True)
    student: Mapped[str] = mapped_column(String(255), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # nbgrader's timestamp text of submitted_at (what timestamp.txt and the gradebook hold).
    timestamp: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[int] = mapped_column(ForeignKey("exchange_releases.id"))
    directory: Mapped[str] = mapped_column(String(512))
    # [{"name": ..., "size": ..., "sha256": ...}] of the stored notebooks.
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    feedback: Mapped[list[Feedback]] = relationship(back_populates="submission",
                                                    order_by="Feedback.notebook")

    def describe(self) -> dict[str, Any]:
        """Return the JSON the exchange answers with for this submission."""
        return {"id": self.id, "course_id": self.course, "assignment_id": self.assignment,
                "student_id": self.student, "timestamp": self.timestamp,
                "submitted_at": self.submitted_at.isoformat(),
                "notebooks": [f["name"][:-len(".ipynb")] for f in self.files],
                "feedback": {f.notebook: f.sha256 for f in self.feedback}}


class Feedback(Base):
    """The feedback page of one notebook of one submission, as released to its learner."""

    __tablename__ = "exchange_feedback"
    __table_args__ = (UniqueConstraint("submission_id", "notebook"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("exchange_submissions.id"), index=True)
    # Notebook id (file name without .ipynb).
    notebook: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_by: Mapped[str] = mapped_column(String(255))

    submission: Mapped[Submission] = relationship(back_populates="feedback")
