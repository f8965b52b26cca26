"""A grading worker: a learner's gradebook row made by another grading at the same moment."""

from __future__ import annotations

from nbgrader.api import Gradebook, InvalidEntry

from grader.autograde.batch import GRADED, Batch
from grader.sandbox.limits import Limits
from tests.grader.autograde.conftest import ASSIGNMENT


def test_a_student_row_inserted_by_a_concurrent_grading_is_used_not_fatal(make_course,
                                                                          monkeypatch):
    """Two tasks of one candidate graded at once: one grading's insert of the student row
    loses to the other's. The loser grades on (it failed with a UNIQUE constraint before)."""
    course = make_course()
    course.submit("ada")
    db_url = f"sqlite:///{course.root / 'gradebook.db'}"
    original = Gradebook.add_student
    lost: list[str] = []

    def lose_the_race(self, student_id, **kwargs):
        if not lost:  # the other grading inserts first, then this insert fails as it would
            lost.append(student_id)
            with Gradebook(db_url, "demo") as other:
                original(other, student_id, **kwargs)
            raise InvalidEntry("(sqlite3.IntegrityError) UNIQUE constraint failed: student.id")
        return original(self, student_id, **kwargs)

    monkeypatch.setattr(Gradebook, "add_student", lose_the_race)
    [outcome] = Batch(course.root, ASSIGNMENT, limits=Limits(), isolate=False).run(["ada"])
    assert outcome.status == GRADED, outcome.reason
    assert course.scores() == {"ada": 2.0}
