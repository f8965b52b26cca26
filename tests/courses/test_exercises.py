"""Every course exercise scores its reference solution full marks and a wrong answer less.

Each assignment is graded by real nbgrader: the source is generated into a
temporary course, three kinds of submission are autograded (the reference
solution, the untouched release, and every mistake listed in
``courses/<track>/wrong-answers/<assignment>.yaml``), and the gradebook is read.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from qcampus.courses import environment_path_first
from tests.courses.conftest import COURSES, all_assignments

pytestmark = pytest.mark.slow


def _nbgrader(course: Path, *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                            env=environment_path_first(), capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _replace_solution(nb, grade_id: str, source: str):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            assert cell.metadata["nbgrader"].get("solution"), f"{grade_id} is not a solution cell"
            cell.source = source
            return nb
    raise AssertionError(f"no cell {grade_id}")


def _wrong_answers(track: str, assignment: str) -> list[dict]:
    path = COURSES / track / "wrong-answers" / f"{assignment}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else []


def _scores(course: Path, assignment: str, student: str) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(assignment, student)
        return {g.name: (g.score, g.max_score) for nb in submission.notebooks for g in nb.grades}


@pytest.mark.parametrize(("track", "assignment"), all_assignments())
def test_reference_full_marks_and_mistakes_lose_points(track, assignment, tmp_path):
    """The reference scores full marks; the blank release and each listed mistake do not."""
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = {track!r}\n"
        f"c.Exchange.root = {str(tmp_path / 'exchange')!r}\n", encoding="utf-8")
    shutil.copytree(COURSES / track / "source" / assignment, course / "source" / assignment)
    _nbgrader(course, "generate_assignment", assignment, "--force")

    released = sorted((course / "release" / assignment).glob("*.ipynb"))
    assert released
    wrong = _wrong_answers(track, assignment)
    solution_cells = {
        c["metadata"]["nbgrader"]["grade_id"]
        for p in released for c in json.loads(p.read_text())["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    assert solution_cells <= {w["cell"] for w in wrong}, (
        f"every exercise needs at least one listed mistake; missing: "
        f"{sorted(solution_cells - {w['cell'] for w in wrong})}"
    )

    def submit(student: str, notebooks: dict[str, nbformat.NotebookNode]) -> None:
        dest = course / "submitted" / student / assignment
        dest.mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, dest / name)

    submit("reference", {p.name: nbformat.read(course / "source" / assignment / p.name, 4)
                         for p in released})
    submit("blank", {p.name: nbformat.read(p, 4) for p in released})
    for index, mistake in enumerate(wrong):
        notebooks = {}
        for p in released:
            nb = nbformat.read(p, 4)
            ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
            if mistake["cell"] in ids:
                # Start from the reference so only the named exercise is wrong.
                nb = nbformat.read(course / "source" / assignment / p.name, 4)
                _replace_solution(nb, mistake["cell"], mistake["source"])
            else:
                nb = nbformat.read(course / "source" / assignment / p.name, 4)
            notebooks[p.name] = nb
        submit(f"wrong-{index}", notebooks)

    _nbgrader(course, "autograde", assignment, "--force")

    reference = _scores(course, assignment, "reference")
    assert reference and all(score == top for score, top in reference.values()), reference
    blank = _scores(course, assignment, "blank")
    assert sum(s for s, _ in blank.values()) < sum(t for _, t in blank.values())
    for index, mistake in enumerate(wrong):
        scores = _scores(course, assignment, f"wrong-{index}")
        for grade_id, (score, top) in scores.items():
            if grade_id in mistake["fails"]:
                assert score == 0, f"{mistake['mistake']}: {grade_id} kept {score}/{top}"
            else:
                assert score == top, f"{mistake['mistake']}: {grade_id} lost points"
