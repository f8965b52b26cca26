"""Every track is well formed and points only at competencies that exist."""

from __future__ import annotations

import json

import pytest

from qcampus import catalogue, framework
from qcampus.courses import load_tracks
from tests.courses.conftest import COURSES, all_assignments

LEVELS = framework.LEVELS


@pytest.mark.parametrize("track", load_tracks(COURSES), ids=lambda t: t.id)
def test_track_references_resolve(track):
    """A track's level and every objective of its assignments exist in the framework at its level."""
    fw = framework.load(COURSES / "framework.yaml")
    assert track.level in LEVELS
    assert track.title.get("en") and track.title.get("ja")
    for assignment in track.assignments:
        assert assignment.objectives, f"{track.id}/{assignment.id} lists no objective"
        assert assignment.competencies == tuple(dict.fromkeys(o.competency for o in assignment.objectives))
        for objective in assignment.objectives:
            fw.check_reference(objective.competency, objective.level, where=f"{track.id}/{assignment.id}")


@pytest.mark.parametrize(("track_id", "assignment_id"), all_assignments())
def test_assignment_has_nbgrader_source(track_id, assignment_id):
    """Each listed assignment has source notebooks with unique grade ids and graded tests."""
    src = COURSES / track_id / "source" / assignment_id
    notebooks = sorted(src.glob("*.ipynb"))
    assert notebooks, f"{src} has no notebook"
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        grade_ids = [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"]
                     if "nbgrader" in c.get("metadata", {})]
        assert len(grade_ids) == len(set(grade_ids)), f"{path.name} repeats a grade_id"
        graded = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
        assert graded and all(c["metadata"]["nbgrader"].get("points", 0) > 0 for c in graded)


def test_dangling_competency_is_rejected():
    """A reference to a competency the framework lacks is an error naming the referrer."""
    fw = framework.load(COURSES / "framework.yaml")
    with pytest.raises(framework.FrameworkError, match="foundations/x.*no.such"):
        fw.check_reference("no.such", "A2", where="foundations/x")
    with pytest.raises(framework.FrameworkError, match="unknown level"):
        fw.check_reference("gate.circuits", "D9", where="foundations/x")


def test_docs_list_is_generated_from_the_tracks():
    """The track list in docs/courses.md is what `qcampus courses docs` renders from the files now."""
    path = COURSES.parent / "docs" / "courses.md"
    written = catalogue.generated(path.read_text(encoding="utf-8"), str(path))
    rendered = catalogue.render(load_tracks(COURSES), framework.load(COURSES / "framework.yaml"))
    assert written == rendered, \
        f"the track list in docs/courses.md is out of date: run `{catalogue.COMMAND}` and commit it"
