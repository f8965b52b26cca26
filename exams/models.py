"""Exam attempts, the answers saved during them, and the audit log of everything done to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from exams.db import Base
from qcampus.database import UTCDateTime

#: States of an attempt: answering; submitted (by the candidate or the deadline) and
#: scored; voided by an examiner (kept, never scored or certified).
ACTIVE, SCORED, VOIDED = "active", "scored", "voided"


class Attempt(Base):
    """One candidate's sitting of one exam: the form's seed, the server's deadline, the result."""

    __tablename__ = "exam_attempts"
    __table_args__ = (
        # One active attempt per candidate and exam, enforced by the database itself.
        Index("uq_exam_attempts_one_active", "exam", "candidate", unique=True,
              sqlite_where=text("state = 'active'"), postgresql_where=text("state = 'active'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exam: Mapped[str] = mapped_column(String(64), index=True)
    candidate: Mapped[str] = mapped_column(String(255), index=True)
    language: Mapped[str] = mapped_column(String(8))
    seed: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    submitted_by: Mapped[str] = mapped_column(String(32), default="")
    scaled: Mapped[int | None] = mapped_column(Integer, nullable=True)
    passed: Mapped[bool | None] = mapped_column(nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    void_reason: Mapped[str] = mapped_column(Text, default="")


class Answer(Base):
    """The last answer a candidate saved to one item of their form."""

    __tablename__ = "exam_answers"
    __table_args__ = (Index("uq_exam_answers_attempt_item", "attempt_id", "item", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id"), index=True)
    item: Mapped[str] = mapped_column(String(128))
    answer: Mapped[Any] = mapped_column(JSON, nullable=True)  # null: the answer was cleared
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Event(Base):
    """An audit record: who did what to an attempt, when (server clock), and why."""

    __tablename__ = "exam_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
