"""track.yaml: its schema, prerequisites, objectives, `qcampus courses validate` and `courses docs`."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from qcampus import catalogue, curriculum, framework
from qcampus.cli import cli
from qcampus.courses import load_track, load_tracks
from qcampus.errors import CourseError
from tests.conftest import REPO


def lesson(aid: str, **fields) -> dict:
    """Return a valid assignment entry *aid*, with *fields* replacing or adding keys."""
    entry = {"id": aid, "title": {"en": aid, "ja": aid}, "level": "A2", "minutes": 30,
             "objectives": [{"competency": "concepts.qubits", "level": "A2"}]}
    return {**entry, **fields}


@pytest.fixture
def courses(tmp_path):
    """Return a courses directory with the repository's framework and glossary and a writer of tracks."""
    root = tmp_path / "courses"
    root.mkdir()
    for name in ("framework.yaml", "glossary.yaml"):
        shutil.copy(REPO / "courses" / name, root / name)

    def write(track: str, *assignments: dict, notebooks: bool = True, **top) -> None:
        (root / track).mkdir(exist_ok=True)
        data = {"title": {"en": track, "ja": track}, "level": "A2", **top,
                "assignments": list(assignments)}
        (root / track / "track.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
        for entry in assignments if notebooks else ():
            (root / track / "source" / entry["id"]).mkdir(parents=True, exist_ok=True)
            (root / track / "source" / entry["id"] / f"{entry['id']}.ipynb").write_text("{}")

    write.root = root
    return write


def problem(courses, match: str) -> None:
    """Assert that loading the tracks fails with a message matching *match*."""
    with pytest.raises(CourseError, match=match):
        load_tracks(courses.root)


def test_assignment_fields_are_read(courses):
    """Level, minutes, prerequisites, feedback, due and objectives reach the Assignment."""
    courses("alpha", lesson("one"), lesson(
        "two", level="B1", minutes=90, prerequisites=["one"], feedback="on-submit",
        due="2026-12-31T23:59:00+09:00",
        objectives=[{"competency": "gate.circuits", "level": "B1"},
                    {"competency": "concepts.qubits", "level": "B1"}]))
    two = load_track(courses.root / "alpha").assignment("two")
    assert (two.level, two.minutes, two.prerequisites, two.feedback) == ("B1", 90, ("one",), "on-submit")
    assert two.due == datetime(2026, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=9)))
    assert two.competencies == ("gate.circuits", "concepts.qubits")


def test_defaults(courses):
    """Feedback defaults to manual, prerequisites to none and due to no deadline."""
    courses("alpha", lesson("one"))
    one = load_track(courses.root / "alpha").assignment("one")
    assert (one.feedback, one.prerequisites, one.due) == ("manual", (), None)


def test_unknown_key_is_named(courses):
    """The old `competencies` list is an unknown key, named with its file and path."""
    courses("alpha", lesson("one", competencies=["concepts.qubits"]))
    problem(courses, r"alpha/track.yaml: assignments\[0\]: unknown key\(s\) 'competencies'")


def test_bad_feedback_value(courses):
    """Feedback is one of on-submit, after-deadline and manual."""
    courses("alpha", lesson("one", feedback="instant"))
    problem(courses, r"assignments\[0\]\.feedback: 'instant' is not one of on-submit, after-deadline, manual")


@pytest.mark.parametrize("minutes", [5, 181])
def test_minutes_out_of_range(courses, minutes):
    """An estimated time outside 10 … 180 minutes is refused."""
    courses("alpha", lesson("one", minutes=minutes))
    problem(courses, r"assignments\[0\]\.minutes")


@pytest.mark.parametrize("due", ["2026-12-31", "2026-12-31T23:59:00", "2026-13-01T00:00:00+09:00"])
def test_due_needs_a_real_date_with_offset(courses, due):
    """A deadline without time, without UTC offset, or with month 13 is refused."""
    courses("alpha", lesson("one", due=due))
    problem(courses, r"assignments\[0\]\.due")


def test_dangling_objective(courses):
    """An objective naming a competency the framework lacks is refused with its field."""
    courses("alpha", lesson("one", objectives=[{"competency": "gate.no-such", "level": "A2"}]))
    problem(courses, r"assignments\[0\]\.objectives\[0\] refers to unknown competency 'gate.no-such'")


def test_level_mismatched_objective(courses):
    """An objective at a level its competency has no descriptor for is refused."""
    courses("alpha", lesson("one", objectives=[{"competency": "sensing.principles", "level": "B2"}]))
    problem(courses, r"objectives\[0\] refers to sensing.principles at B2, but .* only at A1, A2, B1")


def test_missing_objectives(courses):
    """An assignment trains at least one competency descriptor."""
    courses("alpha", lesson("one", objectives=[]))
    problem(courses, r"assignments\[0\]\.objectives")


def test_dangling_prerequisite(courses):
    """A prerequisite that is no assignment of the track is refused."""
    courses("alpha", lesson("one", prerequisites=["zero"]))
    problem(courses, r"prerequisites: 'zero' is not an assignment of track 'alpha'")


def test_prerequisite_in_another_track(courses):
    """<track>/<assignment> points into another track; a missing track is refused."""
    courses("alpha", lesson("one"))
    courses("beta", lesson("two", prerequisites=["alpha/one"]))
    assert load_tracks(courses.root)[1].assignment("two").prerequisites == ("alpha/one",)
    courses("beta", lesson("two", prerequisites=["gamma/one"]))
    problem(courses, "'gamma/one' names no track")


def test_prerequisite_cycle_in_a_track(courses):
    """Assignments that need each other are refused, naming the cycle."""
    courses("alpha", lesson("one", prerequisites=["two"]), lesson("two", prerequisites=["one"]))
    problem(courses, "cycle: alpha/one -> alpha/two -> alpha/one")


def test_prerequisite_cycle_across_tracks(courses):
    """A cycle through two tracks is found when the curriculum is loaded whole."""
    courses("alpha", lesson("one", prerequisites=["beta/two"]))
    courses("beta", lesson("two", prerequisites=["alpha/one"]))
    problem(courses, "cycle: alpha/one -> beta/two -> alpha/one")


def test_repeated_assignment_id(courses):
    """Two assignments with one id are refused."""
    courses("alpha", lesson("one"), lesson("one"))
    problem(courses, "the id 'one' is used twice")


def test_track_without_assignments_needs_no_framework(tmp_path):
    """A track with no assignments loads even where no framework.yaml lies beside it."""
    (tmp_path / "alpha").mkdir()
    (tmp_path / "alpha" / "track.yaml").write_text("title: {en: t, ja: t}\nlevel: A1\n")
    assert load_tracks(tmp_path)[0].assignments == ()


def test_repository_curriculum_is_valid():
    """The repository's framework, glossary, tracks and sources pass every check."""
    found, tracks = curriculum.problems(REPO / "courses")
    assert found == []
    assert {"foundations"} <= {t.id for t in tracks}


def test_validate_command_passes_on_the_repository():
    """`qcampus courses validate` exits 0 on the repository, lists every assignment and its track's time."""
    result = CliRunner().invoke(cli, ["courses", "validate", "--source", str(REPO / "courses")])
    assert result.exit_code == 0, result.output
    assert "are valid" in result.output
    rows = [line.split()[:4] for line in result.stdout.splitlines()]
    for track in load_tracks(REPO / "courses"):
        for a in track.assignments:
            assert [track.id, a.id, a.level, str(a.minutes)] in rows
        assert [track.id, "total:", str(len(track.assignments)), "assignments,"] in rows
        assert f"{catalogue.duration(sum(a.minutes for a in track.assignments))}" in result.stdout


def test_validate_command_prints_the_tracks(courses):
    """On success each assignment is a row (level, minutes, feedback, id@level), each track has a total."""
    courses("alpha", lesson("one", minutes=45, feedback="on-submit"),
            lesson("two", level="B1", minutes=90, prerequisites=["one"],
                   objectives=[{"competency": "gate.circuits", "level": "B1"},
                               {"competency": "concepts.qubits", "level": "B1"}]))
    courses("beta", lesson("three", feedback="after-deadline"))
    result = CliRunner().invoke(cli, ["courses", "validate", "--source", str(courses.root)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["track", "assignment", "level", "minutes", "feedback", "competencies"]
    assert [line.split() for line in lines[2:7]] == [
        ["alpha", "one", "A2", "45", "on-submit", "concepts.qubits@A2"],
        ["alpha", "two", "B1", "90", "manual", "gate.circuits@B1,", "concepts.qubits@B1"],
        ["alpha", "total:", "2", "assignments,", "2", "h", "15", "min", "135"],
        ["beta", "three", "A2", "30", "after-deadline", "concepts.qubits@A2"],
        ["beta", "total:", "1", "assignment,", "30", "min", "30"],
    ]
    assert lines[-1].endswith("2 track(s) and 3 assignment(s) are valid.")


def test_validate_command_prints_no_table_when_something_is_wrong(courses):
    """With a problem only the problems and the summary are printed: no table of a broken curriculum."""
    courses("alpha", lesson("one", minutes=45), lesson("two", prerequisites=["zero"]))
    result = CliRunner().invoke(cli, ["courses", "validate", "--source", str(courses.root)])
    assert result.exit_code == CourseError.exit_code
    assert "'zero' is not an assignment of track 'alpha'" in result.stderr
    assert result.stdout == ""


def test_validate_command_lists_every_problem(courses):
    """Each problem is printed with its file and field, and the exit code is the course error's."""
    courses("alpha", lesson("one", feedback="soon"), lesson("two"), notebooks=False)
    courses("beta", lesson("three", objectives=[{"competency": "gate.circuits", "level": "C2"}]))
    glossary = yaml.safe_load((courses.root / "glossary.yaml").read_text(encoding="utf-8"))
    glossary["terms"][0]["competencies"] = ["concepts.gone"]
    (courses.root / "glossary.yaml").write_text(yaml.safe_dump(glossary, allow_unicode=True))
    result = CliRunner().invoke(cli, ["courses", "validate", "--source", str(courses.root)])
    assert result.exit_code == CourseError.exit_code
    root = str(courses.root)
    assert f"{root}/alpha/track.yaml: assignments[0].feedback: 'soon' is not one of" in result.output
    assert f"{root}/beta/track.yaml: assignments[0].objectives[0] refers to gate.circuits at C2" \
        in result.output
    assert f"{root}/glossary.yaml: terms[0].competencies[0] refers to unknown competency" in result.output
    assert "3 problem(s)" in result.output


def test_validate_command_finds_a_missing_notebook(courses):
    """A listed assignment without source/<id>/*.ipynb is a problem."""
    courses("alpha", lesson("one"), notebooks=False)
    result = CliRunner().invoke(cli, ["courses", "validate", "--source", str(courses.root)])
    assert result.exit_code == CourseError.exit_code
    assert "assignments[0].id: 'one' has no notebook under source/one/" in result.output


def document(tmp_path, middle: str = f"{catalogue.BEGIN}\n| old | rows |\n{catalogue.END}\n") -> Path:
    """Write a document with prose around *middle* and return its path."""
    path = tmp_path / "courses.md"
    path.write_text(f"# Courses\n\nHand-written prose.\n\n{middle}\nMore prose.\n", encoding="utf-8")
    return path


def test_docs_command_prints_the_list(courses):
    """Without --write the generated list of the courses directory is printed, markers included."""
    courses("alpha", lesson("one", minutes=45), audience="testers")
    result = CliRunner().invoke(cli, ["courses", "docs", "--source", str(courses.root)])
    assert result.exit_code == 0, result.output
    assert result.stdout == catalogue.render(load_tracks(courses.root),
                                             framework.load(courses.root / "framework.yaml"))
    assert "| one | `one` | A2 | 45 | concepts.qubits A2 | — |" in result.stdout.splitlines()


def test_docs_command_rewrites_only_the_list(courses, tmp_path):
    """--write replaces the list between the markers, keeps the prose, and a second run changes nothing."""
    courses("alpha", lesson("one", minutes=45))
    path = document(tmp_path)
    args = ["courses", "docs", "--source", str(courses.root), "--write", "--file", str(path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "now shows 1 track(s) and 1 assignment(s)" in result.stdout
    block = catalogue.render(load_tracks(courses.root), framework.load(courses.root / "framework.yaml"))
    assert path.read_text(encoding="utf-8") == f"# Courses\n\nHand-written prose.\n\n{block}\nMore prose.\n"
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert "the track list is up to date" in again.stdout
    assert path.read_text(encoding="utf-8") == f"# Courses\n\nHand-written prose.\n\n{block}\nMore prose.\n"


def test_docs_command_refuses_a_broken_curriculum(courses, tmp_path):
    """With a problem in the course files the document is left as it was and the exit code is 4."""
    courses("alpha", lesson("one", feedback="soon"))
    path = document(tmp_path)
    before = path.read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["courses", "docs", "--source", str(courses.root), "--write",
                                      "--file", str(path)])
    assert result.exit_code == CourseError.exit_code
    assert "assignments[0].feedback: 'soon' is not one of" in result.stderr
    assert path.read_text(encoding="utf-8") == before


def test_docs_command_needs_the_markers(courses, tmp_path):
    """A document without the markers is not touched; the error names them."""
    courses("alpha", lesson("one"))
    path = document(tmp_path, middle="| old | rows |\n")
    before = path.read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["courses", "docs", "--source", str(courses.root), "--write",
                                      "--file", str(path)])
    assert result.exit_code == CourseError.exit_code
    assert catalogue.BEGIN in result.stderr and catalogue.END in result.stderr
    assert path.read_text(encoding="utf-8") == before
