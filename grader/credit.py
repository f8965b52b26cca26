"""Partial credit that nbgrader records, shown together with feedback.

nbgrader 0.9.6 (``nbgrader.utils.determine_grade``) scores an autograded test
cell from its outputs, in order: an ``error`` output or any ``stderr`` stream
gives 0; otherwise the first ``execute_result`` whose ``text/plain`` is a
single number in ``[0, points]`` is the score (above ``points`` aborts the
autograde); otherwise the cell gets full points. ``print`` output (``stdout``)
and ``display`` outputs do not count. So a cell cannot both raise (to show
what went wrong) and earn partial credit.

A :class:`Rubric` runs the cell's checks without letting a failure escape,
prints each check's feedback to ``stdout``, and ends the cell with a
:class:`Points` value, whose ``text/plain`` is the score::

    rubric = Rubric(points=3)
    with rubric.part(2):
        assert_circuit_equivalent(circuit, reference)
    with rubric.part(1):
        score_resources(circuit, {"two_qubit_gates": [(2, 1.0), (4, 0.5)]})
    rubric.score()  # last line of the cell

Anything else the cell writes to ``stderr`` (a warning, say) makes nbgrader
give 0, so checks never warn, and a warning raised by the learner's code
inside a part is printed with that part's feedback on ``stdout``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from grader.errors import CheckFailed, InvalidCheckError
from grader.feedback import Feedback, Message, language

_PASSED = Message("✓ Passed ({earned:g}/{weight:g}).", "✓ 合格（{earned:g}/{weight:g}）。")
_FAILED = Message("✗ {earned:g}/{weight:g}: {text}", "✗ {earned:g}/{weight:g}：{text}")
_RAISED = Message(
    "Your code raised {error}: {detail}",
    "あなたのコードで {error} が発生しました：{detail}",
)
#: Distinct warnings shown per part; a loop that warns on every step says it once.
_MOST_WARNINGS = 5
_WARNED = Message("  ⚠ {category}: {message}", "  ⚠ {category}：{message}")
_TOTAL = Message("Score: {score:g} / {points:g}", "得点：{score:g} / {points:g}")


class Points(float):
    """A score whose plain-text form is the bare number nbgrader reads."""

    def __repr__(self) -> str:
        return repr(float(self))


@dataclass
class Rubric:
    """Weighted parts of one test cell, each earning a fraction of its weight.

    Attributes:
        points: The cell's ``points`` in nbgrader; part weights must sum to it.
        lines: Feedback collected so far, one line per part.
        earned: Points earned so far.
    """

    points: float
    lines: list[str] = field(default_factory=list)
    earned: float = 0.0
    _weights: float = field(default=0.0, init=False, repr=False)

    @contextmanager
    def part(self, weight: float) -> Iterator[None]:
        """Run one part's checks; a failure earns its ``score`` share of ``weight``.

        A :class:`~grader.errors.CheckFailed` earns ``weight × score`` and
        records its feedback. A plain ``AssertionError`` (an instructor's own
        ``assert``) or any other exception raised by the learner's code earns 0
        and records the error, so one broken part never hides the others.

        Raises:
            InvalidCheckError: The weights exceed the cell's points.
        """
        self._weights += weight
        if self._weights > self.points + 1e-9:
            raise InvalidCheckError(f"part weights exceed the cell's {self.points} points")
        lang = language()
        caught: list[warnings.WarningMessage] = []
        try:
            # A warning from the learner's code inside a part would reach
            # stderr and cost the whole cell; it becomes part of the feedback.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")
                yield
        except CheckFailed as failure:
            earned = weight * min(max(failure.score, 0.0), 1.0)
            self._record(_FAILED, earned, weight, failure.feedback.text(lang), lang)
        except Exception as error:  # noqa: BLE001 - scored 0 and reported, never hidden
            detail = Feedback(_RAISED, values={"error": type(error).__name__,
                                               "detail": error}).text(lang)
            self._record(_FAILED, 0.0, weight, detail, lang)
        else:
            self._record(_PASSED, weight, weight, "", lang)
        finally:
            shown = {(w.category.__name__, str(w.message)): w for w in caught}
            for warning in list(shown.values())[:_MOST_WARNINGS]:
                self.lines.append(_WARNED.render(lang, {
                    "category": warning.category.__name__, "message": warning.message}))

    def _record(self, message: Message, earned: float, weight: float, text: str,
                lang: str) -> None:
        self.earned += earned
        self.lines.append(message.render(lang, {"earned": earned, "weight": weight,
                                                "text": text}))

    def score(self) -> Points:
        """Print the feedback to ``stdout`` and return the points for nbgrader.

        Returns:
            The points earned, at most :attr:`points`; make it the value of
            the cell's last line.
        """
        lang = language()
        total = min(self.earned, self.points)
        for line in self.lines:
            print(line, file=sys.stdout)
        print(_TOTAL.render(lang, {"score": total, "points": self.points}), file=sys.stdout)
        return Points(total)
