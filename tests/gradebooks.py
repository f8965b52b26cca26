"""An empty nbgrader gradebook to copy into the courses tests make.

nbgrader creates a new gradebook by running ``alembic heads`` in a new
interpreter (about two seconds, paid by every test course). :func:`empty_gradebook`
lets nbgrader create one once per test session, empties its course table, and
:func:`give_gradebook` copies it into a new course directory: what nbgrader would
have made there before it writes the course's row.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import sqlite3
import tempfile
from pathlib import Path

from qcampus.courses import nbgrader


@functools.cache
def empty_gradebook() -> Path:
    """Return the path of a gradebook nbgrader created, with no rows but its schema version."""
    course = Path(tempfile.mkdtemp(prefix="qcampus-test-gradebook-"))
    atexit.register(shutil.rmtree, course, True)
    (course / "nbgrader_config.py").write_text("c = get_config()\n", encoding="utf-8")
    nbgrader(course, "db", "student", "list")
    path = course / "gradebook.db"
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM course")
        assert db.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    return path


def give_gradebook(course_dir: Path) -> None:
    """Copy the empty gradebook into *course_dir* (which must not have one yet)."""
    target = Path(course_dir) / "gradebook.db"
    assert not target.exists(), target
    shutil.copyfile(empty_gradebook(), target)
