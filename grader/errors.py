"""Errors of the grader package.

Every error the grader raises derives from :class:`GraderError`. A learner's
answer that does not pass a check raises :class:`CheckFailed`, which is also an
:class:`AssertionError`, so plain nbgrader test cells treat it as a failed
test and pytest reports it as an assertion.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.feedback import Feedback


class GraderError(Exception):
    """Root of every error the grader raises."""


class CheckFailed(GraderError, AssertionError):  # noqa: N818 - reads as a verdict
    """A learner's answer did not pass a check.

    Args:
        feedback: What was expected, what was found and a hint, in every
            language the grader speaks.
        score: The fraction of credit the answer still earns, in ``[0, 1]``
            (resource checks give partial credit bands).
    """

    def __init__(self, feedback: Feedback, score: float = 0.0) -> None:
        self.feedback = feedback
        self.score = score
        super().__init__(feedback.text())

    def __str__(self) -> str:
        return self.feedback.text()


class InvalidCheckError(GraderError, ValueError):
    """An instructor called a check with arguments it cannot use."""


@contextmanager
def instructor_value(what: str, what_ja: str) -> Iterator[None]:
    """Turn a failure to read the instructor's ``what`` into :class:`InvalidCheckError`.

    Checks read a learner's answer and the instructor's reference with the same
    code; what is the learner's failure for the one is the instructor's mistake
    for the other, reported in both languages with the same detail.
    """
    try:
        yield
    except CheckFailed as failure:
        raise InvalidCheckError(
            f"The instructor's {what} is not usable: {failure.feedback.text('en')}\n"
            f"指導者が与えた{what_ja}は使えません：{failure.feedback.text('ja')}") from None


class UnitError(GraderError, ValueError):
    """A quantity's unit is unknown or of the wrong kind."""


class ExportError(GraderError, ValueError):
    """An answer cannot be exported: wrong type or over the size cap."""


class AnswerFormatError(GraderError, ValueError):
    """An exported answer is malformed, oversized or of an unexpected type."""


class SandboxUnavailableError(GraderError):
    """Isolation for learner code cannot be set up on this machine."""


class SandboxProtocolError(GraderError):
    """The sandboxed process sent something that is not a well-formed result."""
