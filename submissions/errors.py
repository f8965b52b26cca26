"""Errors of the submissions package: one root, a subclass per concern."""

from __future__ import annotations

from qcampus.errors import QcampusError


class SubmissionError(QcampusError):
    """Root of every error raised by the exchange and the grading service."""

    exit_code = 12


class RefusedSubmission(SubmissionError):
    """A submission, release or feedback upload was refused; nothing was stored.

    Attributes:
        status: The HTTP status the exchange answers with.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class NotFound(SubmissionError):
    """The course, assignment, submission or feedback asked for does not exist."""


class GradingError(SubmissionError):
    """A submission could not be queued or graded."""
