"""The course catalogue: the table `courses validate` prints and the generated list of docs/courses.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcampus import catalogue, framework
from qcampus.courses import Assignment, Objective, Track
from qcampus.errors import CourseError
from tests.conftest import REPO


def assignment(aid: str, minutes: int = 30, level: str = "A2", **fields) -> Assignment:
    """Return an assignment *aid* training concepts.qubits at *level*, with *fields* set."""
    fields.setdefault("objectives", (Objective("concepts.qubits", level),))
    return Assignment(id=aid, title={"en": f"Title of {aid}", "ja": f"{aid} の題"}, level=level,
                      minutes=minutes, **fields)


def track(tid: str, *assignments: Assignment, level: str = "A2", audience: str = "") -> Track:
    """Return a track *tid* with *assignments*."""
    return Track(id=tid, path=Path("/nowhere") / tid, title={"en": f"Track {tid}", "ja": f"{tid} トラック"},
                 level=level, audience=audience, assignments=assignments)


@pytest.fixture(scope="module")
def fw():
    """Return the repository's framework."""
    return framework.load(REPO / "courses" / "framework.yaml")


@pytest.mark.parametrize(("minutes", "text"), [(0, "0 min"), (45, "45 min"), (60, "1 h"),
                                               (405, "6 h 45 min"), (600, "10 h")])
def test_duration(minutes, text):
    """Minutes read as hours and minutes, leaving out a zero part."""
    assert catalogue.duration(minutes) == text


def test_level_range_orders_levels_by_the_framework():
    """The range runs from the lowest to the highest assignment level, not alphabetically."""
    assert catalogue.level_range(track("t", assignment("a", level="B2"), assignment("b", level="A2"),
                                       assignment("c", level="B1"))) == "A2 → B2"
    assert catalogue.level_range(track("t", assignment("a", level="B1"))) == "B1"
    assert catalogue.level_range(track("t", level="C1")) == "C1"


def test_table_lists_each_assignment_and_a_total_per_track():
    """A row per assignment with level, minutes, feedback and id@level; then the track's hours."""
    alpha = track("alpha", assignment("one", 45), assignment(
        "two", 90, level="B1", feedback="on-submit",
        objectives=(Objective("gate.circuits", "B1"), Objective("concepts.qubits", "A2"))))
    beta = track("beta", assignment("three", 20))
    lines = catalogue.table([alpha, beta]).splitlines()
    assert lines[0].split() == ["track", "assignment", "level", "minutes", "feedback", "competencies"]
    assert [line.split() for line in lines[2:]] == [
        ["alpha", "one", "A2", "45", "manual", "concepts.qubits@A2"],
        ["alpha", "two", "B1", "90", "on-submit", "gate.circuits@B1,", "concepts.qubits@A2"],
        ["alpha", "total:", "2", "assignments,", "2", "h", "15", "min", "135"],
        ["beta", "three", "A2", "20", "manual", "concepts.qubits@A2"],
        ["beta", "total:", "1", "assignment,", "20", "min", "20"],
    ]


def test_table_columns_line_up():
    """Minutes end under the end of their header in every row, whatever the width of the ids."""
    lines = catalogue.table([track("a", assignment("short", 10)),
                             track("much-longer-track", assignment("a-much-longer-assignment", 120))]
                            ).splitlines()
    end = lines[0].index("minutes") + len("minutes")
    for line, minutes in zip(lines[2:], ["10", "10", "120", "120"], strict=True):
        assert line[:end].endswith(f" {minutes}"), line


def test_render_shows_each_track_and_assignment(fw):
    """Per track: both titles, audience, starting level by name, time; per assignment every column."""
    alpha = track("alpha", assignment("one", 45), assignment(
        "two", 90, level="B1", prerequisites=("one", "beta/three"),
        objectives=(Objective("gate.circuits", "B1"), Objective("concepts.qubits", "B1"))),
        audience="people who read tables")
    block = catalogue.render([alpha, track("beta", level="B1")], fw)
    lines = block.splitlines()
    assert lines[0] == catalogue.BEGIN and lines[-1] == catalogue.END
    assert "| `alpha` | Track alpha | people who read tables | A2 → B1 | 2 | 2 h 15 min |" in lines
    assert "| `beta` | Track beta | — | B1 | 0 | 0 min |" in lines
    assert "### `alpha`: Track alpha / alpha トラック" in lines
    assert ("For people who read tables. Starts at A2 Literacy. 2 assignments, 135 minutes "
            "(2 h 15 min) in all.") in lines
    assert "| Title of one | `one` | A2 | 45 | concepts.qubits A2 | — |" in lines
    assert ("| Title of two | `two` | B1 | 90 | gate.circuits B1, concepts.qubits B1 "
            "| `one`, `beta/three` |") in lines
    assert "Starts at B1 Utilisation. 0 assignments, 0 minutes (0 min) in all." in lines


def test_render_escapes_table_pipes(fw):
    """A title with a | stays in its cell."""
    one = Assignment(id="one", title={"en": "A | B", "ja": "A | B"}, minutes=10,
                     objectives=(Objective("concepts.qubits", "A2"),))
    assert r"| A \| B | `one` |" in catalogue.render([track("alpha", one)], fw)


def test_replace_keeps_the_prose_around_the_list():
    """Only the text from BEGIN to END changes; what precedes and follows stays as written."""
    text = f"# Title\n\nprose before\n\n{catalogue.BEGIN}\nold rows\n{catalogue.END}\n\nprose after\n"
    block = f"{catalogue.BEGIN}\nnew rows\n{catalogue.END}\n"
    replaced = catalogue.replace(text, block, "doc.md")
    assert replaced == f"# Title\n\nprose before\n\n{block}\nprose after\n"
    assert catalogue.generated(replaced, "doc.md") == block


@pytest.mark.parametrize("text", [
    "no markers at all\n",
    f"{catalogue.BEGIN}\nrows\n",
    f"{catalogue.END}\nrows\n{catalogue.BEGIN}\n",
    f"{catalogue.BEGIN}\n{catalogue.END}\n{catalogue.BEGIN}\n{catalogue.END}\n",
])
def test_misplaced_markers_are_refused(text):
    """Without one BEGIN before one END the document is not touched, and the error says what to add."""
    with pytest.raises(CourseError, match=r"doc\.md needs the lines .* once each and in this order"):
        catalogue.replace(text, "new", "doc.md")
