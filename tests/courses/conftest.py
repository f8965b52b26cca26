"""Fixtures for course content tests.

- ``assignments``: every (track, assignment) pair listed by a ``track.yaml`` in ``courses/``.
- ``sandbox_users``: re-exported from the sandbox tests (the fast grader's users).
"""

from __future__ import annotations

from pathlib import Path

from qcampus.courses import load_tracks
from tests.grader.sandbox.conftest import sandbox_users  # noqa: F401  (a fixture)

COURSES = Path(__file__).resolve().parents[2] / "courses"


def all_assignments() -> list[tuple[str, str]]:
    """Return (track id, assignment id) for every assignment in the repository."""
    return [(t.id, a.id) for t in load_tracks(COURSES) for a in t.assignments]
