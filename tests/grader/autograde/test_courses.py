"""Course assignments score the same with qcampus grade as with stock nbgrader autograde.

The first assignment of each track (each track uses its own libraries: Qiskit and
Aer, dimod and dwave-samplers, cryptography, plain Python) is graded by both: its
reference solution, its untouched release and the first :data:`MISTAKES` listed
wrong answers. Which grades a submission gets is the grader's behaviour, the
same on every assignment, so the other assignments are not run through stock
nbgrader (its slow half took seven minutes of the suite); that every assignment's
reference scores full marks, its release nothing and each listed mistake its own
cells is proved with the fast grader by ``tests/courses/test_exercises.py``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from click.testing import CliRunner

from grader.cli import grade
from tests.grader.autograde.conftest import nbgrader_env

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

COURSES = Path(__file__).resolve().parents[3] / "courses"
ASSIGNMENTS = sorted(COURSES.glob("*/source/*/"))
#: The first assignment of each track: graded by both with its release and mistakes.
SAMPLED = sorted({min(folder for folder in ASSIGNMENTS if folder.parents[1] == track)
                  for track in {folder.parents[1] for folder in ASSIGNMENTS}})
#: Listed wrong answers per assignment also graded by stock nbgrader.
MISTAKES = 2
SOLUTION = re.compile(r"[ \t]*### BEGIN SOLUTION\n(.*?)[ \t]*### END SOLUTION\n?", re.S)


def answer_sets(folder: Path) -> list[dict[str, str]]:
    """Return the reference answers, then one set per listed mistake (if any are listed)."""
    track, assignment = folder.parents[1], folder.name
    reference = {}
    for notebook in folder.glob("*.ipynb"):
        for cell in nbformat.read(notebook, 4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("solution"):
                reference[meta["grade_id"]] = SOLUTION.sub(lambda m: m.group(1), cell.source)
    mistakes_file = track / "wrong-answers" / f"{assignment}.yaml"
    mistakes = yaml.safe_load(mistakes_file.read_text()) if mistakes_file.exists() else []
    return [reference] + [{**reference, m["cell"]: m["source"]} for m in mistakes]


def test_every_track_is_sampled():
    assert {folder.parents[1] for folder in SAMPLED} == {folder.parents[1] for folder in ASSIGNMENTS}
    assert len(SAMPLED) >= 5


@pytest.mark.parametrize("folder", SAMPLED, ids=lambda p: f"{p.parents[1].name}/{p.name}")
def test_course_assignment_scores_match_stock(folder, tmp_path, sandbox_users):
    """The reference, the untouched release and wrong answers get stock's grades."""
    assignment = folder.name
    root = tmp_path / "ours"
    shutil.copytree(folder, root / "source" / assignment)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'demo'\n")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment],
                   cwd=root, env=nbgrader_env(), check=True, capture_output=True)
    answers = [{}] + answer_sets(folder)[:1 + MISTAKES]
    for notebook in (root / "release" / assignment).glob("*.ipynb"):
        for i, chosen in enumerate(answers):
            released = nbformat.read(notebook, 4)
            for cell in released.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id in chosen:
                    cell.source = chosen[grade_id]
            target = root / "submitted" / f"learner{i:02d}" / assignment
            target.mkdir(parents=True, exist_ok=True)
            nbformat.write(released, target / notebook.name)
    stock = tmp_path / "stock"
    shutil.copytree(root, stock)
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", assignment], cwd=stock,
                   env=nbgrader_env(), check=True, capture_output=True)
    result = CliRunner().invoke(grade, [assignment, "--course-dir", str(root)])
    assert result.exit_code == 0, result.output

    def grades(course_root: Path) -> dict:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course_root / 'gradebook.db'}", "demo") as gb:
            return {(s.student_id, g.name): g.auto_score
                    for s in gb.assignment_submissions(assignment)
                    for nb in s.notebooks for g in nb.grades}

    ours, theirs = grades(root), grades(stock)
    assert ours == theirs
    assert len({k[0] for k in ours}) == len(answers)
