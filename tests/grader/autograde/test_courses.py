"""Every course assignment's reference solution scores full marks with stock nbgrader autograde.

Stock nbgrader grades the reference solution of every assignment (one course per
track, graded by one ``nbgrader autograde`` with nbgrader's assignment id ``*``; two
tracks at a time: each autograde uses one core); the first
assignment of each track (each track uses its own libraries: Qiskit and Aer,
dimod and dwave-samplers, cryptography, plain Python) is also graded by
``qcampus grade`` with its untouched release and the first :data:`MISTAKES`
listed wrong answers, and both graders must give every notebook the same
grades. Which grades a submission gets is the grader's behaviour, the same on
every assignment, so running ``qcampus grade`` beside stock on the other
assignments would prove nothing new; that every assignment's reference scores
full marks, its release nothing and each listed mistake its own cells with the
fast grader is proved by ``tests/courses/test_exercises.py``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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


def _grades(course_root: Path, assignment: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_root / 'gradebook.db'}", "demo") as gb:
        return {(s.student_id, g.name): (g.auto_score, g.max_score)
                for s in gb.assignment_submissions(assignment)
                for nb in s.notebooks for g in nb.grades}


@dataclass
class Course:
    """One track's assignments generated and submitted, then autograded by stock nbgrader in a copy."""

    ours: Path
    stock: Path
    submissions: dict[str, int]
    autograde: subprocess.CompletedProcess


def _submit(folder: Path, root: Path) -> int:
    """Submit *folder*'s answer sets into the course at *root*; return how many learners submitted."""
    assignment = folder.name
    answers = [{}] + answer_sets(folder)[:1 + MISTAKES] if folder in SAMPLED \
        else answer_sets(folder)[:1]
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
    return len(answers)


def _prepare_and_autograde(track: Path, where: Path) -> Course:
    """Generate every assignment of *track* in one course, submit its answer sets, and autograde
    a copy with stock nbgrader: one ``generate_assignment`` and one ``autograde`` for the whole
    track (nbgrader's assignment id ``*``), each notebook still in a kernel of its own."""
    folders = [folder for folder in ASSIGNMENTS if folder.parents[1] == track]
    root = where / "ours"
    for folder in folders:
        shutil.copytree(folder, root / "source" / folder.name)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'demo'\n")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "*"],
                   cwd=root, env=nbgrader_env(), check=True, capture_output=True)
    submissions = {folder.name: _submit(folder, root) for folder in folders}
    stock = where / "stock"
    shutil.copytree(root, stock)
    autograde = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "*"],
                               cwd=stock, env=nbgrader_env(), capture_output=True, text=True,
                               check=False)
    return Course(root, stock, submissions, autograde)


@pytest.fixture(scope="module")
def stock_courses(tmp_path_factory) -> dict[Path, Course]:
    """Every track autograded by stock nbgrader, two tracks at a time (it uses one core each)."""
    where = tmp_path_factory.mktemp("stock-courses")
    tracks = sorted({folder.parents[1] for folder in ASSIGNMENTS},
                    key=lambda track: -len([f for f in ASSIGNMENTS if f.parents[1] == track]))
    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(tracks, pool.map(lambda track: _prepare_and_autograde(
            track, where / track.name), tracks), strict=True))
    return {folder: done[folder.parents[1]] for folder in ASSIGNMENTS}


@pytest.mark.parametrize("folder", ASSIGNMENTS, ids=lambda p: f"{p.parents[1].name}/{p.name}")
def test_course_assignment_scores_match_stock(folder, stock_courses, sandbox_users):
    """Stock gives the reference full marks; sampled: the release and wrong answers too, as ours."""
    assignment = folder.name
    sampled = folder in SAMPLED
    course = stock_courses[folder]
    assert course.autograde.returncode == 0, course.autograde.stdout + course.autograde.stderr
    theirs = _grades(course.stock, assignment)
    reference = "learner01" if sampled else "learner00"
    lost = {name: score for (student, name), score in theirs.items()
            if student == reference and score[0] != score[1]}
    assert not lost and any(student == reference for student, _ in theirs), lost
    assert len({student for student, _ in theirs}) == course.submissions[assignment]
    if not sampled:
        return
    result = CliRunner().invoke(grade, [assignment, "--course-dir", str(course.ours)])
    assert result.exit_code == 0, result.output
    assert _grades(course.ours, assignment) == theirs
