"""One sandboxed batch over hostile and broken submissions beside honest ones."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import grade
from tests.grader.autograde.conftest import ASSIGNMENT, CORRECT, WRONG, Course, build_course

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NETWORK = """import socket
for host in ('127.0.0.1', '10.255.255.1'):
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect((host, 80)); print(host, 'CONNECTED')
    except OSError as e:
        print(host, 'refused', e.errno)"""


def _set_test(notebook, **changes) -> None:
    """Change the test cell's nbgrader metadata, or its source or type."""
    cell = notebook.cells[2]
    if "source" in changes:
        cell.source = changes.pop("source")
    if changes.pop("markdown", False):
        cell.cell_type = "markdown"
        del cell["outputs"], cell["execution_count"]
    cell.metadata.nbgrader.update(changes)


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, sandbox_users):
    """Build a course with every hostile case, grade it once with qcampus grade."""
    course = build_course(tmp_path_factory.mktemp("hostile"))
    root = course.root
    gradebook = root / "gradebook.db"
    good = course.submit("good", CORRECT)
    course.submit("wrong", WRONG)
    probe = (f"import os\nfor p in ['/etc/shadow', {str(good / 'ps1.ipynb')!r}, "
             f"{str(gradebook)!r}, {str(root / 'source')!r}]:\n"
             "    print('visible' if os.path.exists(p) else 'hidden', p)\n"
             f"try:\n    open({str(gradebook)!r}, 'w').write('x')\n"
             "except OSError as e:\n    print('write refused', e.errno)")
    course.submit("loop", CORRECT, before="while True: pass")
    course.submit("sleep", CORRECT, before="import time\ntime.sleep(10**6)")
    course.submit("membomb", CORRECT, before="x = bytearray(64 * 1024**3)")
    course.submit("forkbomb", CORRECT, before=(
        "import os, time\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            time.sleep(10**6)\nexcept OSError as e:\n    print('blocked', e.errno)"))
    course.submit("setsid", CORRECT, before=(
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(10**6)"))
    course.submit("osexit", CORRECT, before="import os\nos._exit(0)")
    course.submit("sysexit", CORRECT, before="import sys\nsys.exit()")
    course.submit("killppid", CORRECT, before="import os\nos.kill(os.getppid(), 9)")
    course.submit("gigabyte", CORRECT, before="for _ in range(1024):\n    print('x' * (1 << 20))")
    course.submit("image", CORRECT, before=(
        "from IPython.display import display\n"
        "display({'image/png': 'A' * (100 * 1024**2)}, raw=True)"))
    course.submit("hugefile", CORRECT, before=(
        "try:\n    with open('big.bin', 'wb') as f:\n        for _ in range(4096):\n"
        "            f.write(b'x' * (1 << 20))\nexcept OSError as e:\n    print('file refused', e.errno)"))
    course.submit("network", CORRECT, before=NETWORK)
    course.submit("snoop", CORRECT, before=probe)
    course.submit("edit-test", WRONG, edit=lambda nb: _set_test(nb, source="pass"))
    course.submit("points", WRONG, edit=lambda nb: _set_test(nb, points=100))
    course.submit("grade-id", WRONG, edit=lambda nb: _set_test(nb, grade_id="mine"))
    course.submit("markdown-test", WRONG, edit=lambda nb: _set_test(nb, markdown=True))
    course.submit("delete-test", WRONG, edit=lambda nb: nb.cells.pop(2))
    course.submit_raw("not-json", "this is not a notebook {")
    course.submit_raw("empty", "")
    course.submit_raw("future-format", json.dumps(
        {"nbformat": 99, "nbformat_minor": 0, "metadata": {}, "cells": []}))
    course.submit("future-stamp", CORRECT, timestamp="2999-01-01 00:00:00.000000 UTC")
    course.submit("garbage-stamp", CORRECT, timestamp="yesterday, honestly")
    protected = {name: _tree_digest(root / name) for name in ("source", "release", "submitted")}
    result = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(root), "--timeout", "3",
                                        "--workers", "2"])
    rerun = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(root), "--timeout", "3"])
    return course, result, rerun, protected


def row(result, student: str) -> str:
    """Return the summary line of *student*."""
    return next(line for line in result.output.splitlines() if line.split()[:1] == [student])


def test_batch_finishes_and_reports_failures(graded):
    """The batch ends with exit code 1 because some submissions could not be graded."""
    course, result, _, _ = graded
    assert result.exit_code == 1, result.output
    assert "graded" in result.output and "failed" in result.output


def test_honest_scores_are_unaffected(graded):
    """Beside every hostile submission, a correct answer scores 2 and a wrong one 0."""
    scores = graded[0].scores()
    assert scores["good"] == 2.0
    assert scores["wrong"] == 0.0


@pytest.mark.parametrize("student", ["loop", "sleep"])
def test_timeouts_score_zero(graded, student):
    """A notebook stopped by the wall clock is reported as timed out and scores 0."""
    course, result, _, _ = graded
    assert "timed out" in row(result, student)
    assert "time limit exceeded" in row(result, student)
    assert course.scores()[student] == 0.0


@pytest.mark.parametrize("student", ["osexit", "membomb", "sysexit"])
def test_early_stops_score_zero(graded, student):
    """Exiting, flooding output or exhausting memory before the tests scores 0."""
    course, result, _, _ = graded
    assert course.scores()[student] == 0.0
    assert "graded" in row(result, student)


@pytest.mark.parametrize("student", ["forkbomb", "setsid", "killppid", "image", "hugefile",
                                     "network", "snoop"])
def test_contained_attacks_keep_their_own_score(graded, student):
    """Attacks that the sandbox contains leave the submission graded on its (correct) answer."""
    course, result, _, _ = graded
    assert course.scores()[student] == 2.0
    assert "graded" in row(result, student)


def outputs_text(course: Course, student: str) -> str:
    return json.dumps([c.get("outputs") for c in course.autograded(student)["cells"]])


def test_network_fails_for_loopback_and_outside(graded):
    """Both connections fail with 'network unreachable' inside the sandbox."""
    text = outputs_text(graded[0], "network")
    assert "CONNECTED" not in text
    assert "127.0.0.1 refused 101" in text and "10.255.255.1 refused 101" in text


def test_files_outside_are_invisible_and_unwritable(graded):
    """/etc/shadow, another learner's notebook, the gradebook and the answer keys are hidden."""
    text = outputs_text(graded[0], "snoop")
    assert "visible" not in text
    assert text.count("hidden") == 4
    assert "write refused" in text


def test_limits_are_reported_inside(graded):
    """The fork bomb meets EAGAIN and the huge file EFBIG or ENOSPC, inside the sandbox."""
    assert "blocked 11" in outputs_text(graded[0], "forkbomb")
    assert "file refused 27" in outputs_text(graded[0], "hugefile") or \
        "file refused 28" in outputs_text(graded[0], "hugefile")


@pytest.mark.parametrize("student", ["image", "gigabyte"])
def test_huge_outputs_are_not_stored(graded, student):
    """Neither the 100 MB image nor 1 GB of printing reaches the autograded notebook."""
    path = graded[0].root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.stat().st_size < 2 * 1024 * 1024


def test_gigabyte_printer_is_truncated(graded):
    """Printing 1 GB is cut at the byte budget, reported as truncated, and the tests still run."""
    course, result, _, _ = graded
    assert course.scores()["gigabyte"] == 2.0
    assert "output truncated" in row(result, "gigabyte")


@pytest.mark.parametrize("student", ["edit-test", "points", "grade-id", "markdown-test",
                                     "delete-test"])
def test_tampered_tests_never_raise_a_wrong_answer(graded, student):
    """Editing, retyping, renaming, re-pointing or deleting the test cell gives a wrong answer 0."""
    course, result, _, _ = graded
    line = row(result, student)
    if "failed" in line:
        assert len(line.split()) > 2  # a reason is given
    else:
        assert course.scores()[student] == 0.0
    max_scores = {k[1] for k in course.grades() if k[0] == student}
    assert max_scores <= {"test_square"}


def test_deleted_test_cell_is_explained(graded):
    """A submission without its test cell scores 0 and the summary says which cell is missing."""
    course, result, _, _ = graded
    assert course.scores()["delete-test"] == 0.0
    assert "missing from the submission" in row(result, "delete-test")
    assert "test_square" in row(result, "delete-test")


@pytest.mark.parametrize("student,reason", [
    ("not-json", "JSON"), ("empty", "JSON"), ("future-format", "version"),
    ("future-stamp", "in the future"), ("garbage-stamp", "not a date"),
])
def test_broken_submissions_fail_with_a_reason(graded, student, reason):
    """Unreadable notebooks and forged timestamps fail alone, each with a reason."""
    line = row(graded[1], student)
    assert "failed" in line
    assert reason.lower() in line.lower()


def test_host_files_are_unchanged(graded):
    """Sources, releases and submissions are byte-identical after grading."""
    course, _, _, protected = graded
    for name, digest in protected.items():
        assert _tree_digest(course.root / name) == digest


def test_rerun_grades_only_what_is_new_or_failed(graded):
    """A second run leaves graded submissions alone and retries only the failed ones."""
    _, result, rerun, _ = graded
    assert "unchanged" in row(rerun, "good")
    assert "unchanged" in row(rerun, "loop")
    assert "failed" in row(rerun, "not-json")
