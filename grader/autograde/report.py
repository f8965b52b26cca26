"""Progress bar with ETA and the end-of-run summary table of ``qcampus grade``."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from grader.autograde.batch import FAILED, TIMED_OUT, Outcome


class Progress:
    """A one-line progress bar with an ETA, redrawn on *stream* (stderr by default)."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.width = width
        self.done = 0
        self.start = time.monotonic()

    def __call__(self, outcome: Outcome) -> None:
        self.done += 1
        spent = time.monotonic() - self.start
        eta = spent / self.done * (self.total - self.done)
        filled = int(self.width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        end = "\n" if self.done == self.total else ""
        self.stream.write(f"\r[{bar}] {self.done}/{self.total}  "
                          f"elapsed {spent:5.1f} s  ETA {eta:5.1f} s{end}")
        self.stream.flush()


def summary(outcomes: Sequence[Outcome]) -> str:
    """Return the table of every submission, then the counts per status."""
    rows = [("student", "status", "score", "reason")]
    for o in sorted(outcomes, key=lambda o: o.student):
        score = "" if o.score is None else f"{o.score:g}/{o.max_score:g}"
        rows.append((o.student, o.status, score, o.reason))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True))
             + ("  " + row[3] if row[3] else "") for row in rows]
    counts = Counter(o.status for o in outcomes)
    lines.append("")
    lines.append(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to grade")
    if counts[FAILED] or counts[TIMED_OUT]:
        lines.append("Failed submissions have no autograded copy; fix the cause shown and run "
                     "the command again (graded ones are skipped).")
    return "\n".join(lines)
