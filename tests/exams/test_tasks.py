"""Part B tasks as assignments of the exam-tasks course, graded by the grading service by verdict."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from exams import bank, tasks
from qcampus import framework
from qcampus.database import write_session
from submissions.exchange.store import Store
from tests.exams.conftest import CODE, COURSES, write_item
from tests.grader.sandbox.conftest import sandbox_users  # noqa: F401  (a fixture)
from tests.submissions.conftest import deployment, engine, submissions_url  # noqa: F401  (fixtures)

EXPORTS = [{"answer": "double-3", "expression": "double(3)", "check": "number"},
           {"answer": "double-minus-5", "expression": "double(-5)", "check": "number"}]


@pytest.fixture
def task(tmp_path):
    write_item(tmp_path / "bank", {**CODE, "code": {**CODE["code"], "exports": EXPORTS, "points": 2}})
    items, found = bank.load(tmp_path / "bank", framework.load(COURSES / "framework.yaml"))
    assert found == []
    return items["t-code"]


def test_prepare_makes_the_assignment_its_key_and_its_release_once(deployment, engine, task):  # noqa: F811
    """Source with hidden exports, a release without them, the key beside it, an exchange release."""
    assert tasks.prepare(deployment, [task]) == ["t-code"]
    course = tasks.course_dir(deployment)
    source = json.loads((course / "source" / "t-code" / "t-code.ipynb").read_text())
    release_text = (course / "release" / "t-code" / "t-code.ipynb").read_text()
    assert "double(-5)" in json.dumps(source) and "double(-5)" not in release_text
    assert "return 2 * x" not in release_text                      # the reference stays home
    key = json.loads((course / "keys" / "t-code" / "t-code.json").read_text())
    assert [(k["answer"], k["points"], k["cell"]) for k in key["items"]] == [
        ("double-3", 1.0, "test-task"), ("double-minus-5", 1.0, "test-task")]
    with Session(engine) as session:
        assert Store.for_deployment(deployment).active_release(session, tasks.COURSE, "t-code")
    assert tasks.prepare(deployment, [task]) == []                 # already made
    placed = tasks.placed_notebook(tasks.released_notebook(deployment, task), task, "ja")
    assert placed["cells"][0]["source"].startswith("double(x) を書いてください")
    assert tasks.answer_code(placed) == CODE["code"]["stub"]
    # Made under any umask (this process has 022), the task's files are closed to learners.
    opened = [f"{p} {stat.S_IMODE(p.stat().st_mode):o}" for p in course.rglob("*")
              if stat.S_IMODE(p.stat().st_mode) & 0o007]
    assert opened == []


def test_an_item_without_exports_is_refused_with_what_to_do(deployment, tmp_path):  # noqa: F811
    write_item(tmp_path / "bank", CODE)
    items, _ = bank.load(tmp_path / "bank")
    with pytest.raises(tasks.ExamError, match="has no code.exports"):
        tasks.prepare(deployment, items.values())


@pytest.mark.parametrize("notebook, message", [
    ("not a notebook", "not a notebook any more"),
    ({"cells": []}, "answer cell of the task was deleted"),
])
def test_a_collected_notebook_without_its_answer_cell_says_what_to_do(notebook, message):
    with pytest.raises(tasks.ExamError, match=message):
        tasks.answer_code(notebook)


ANSWERS = {
    "right": ("def double(x):\n    return x + x\n", 2.0),
    "half": ("def double(x):\n    return 2 * x if x > 0 else 0\n", 1.0),
    "stub": (CODE["code"]["stub"], 0.0),
    # Attacks on the kernel: replace the exporter, fake a score, return an always-equal object.
    "patched": ("import grader.export as _e\n_e.export_answer = lambda *a, **k: print('score 2/2')\n"
                "def double(x):\n    return 0\n", 0.0),
    "always-equal": ("class _Yes(float):\n    def __eq__(self, other):\n        return True\n"
                     "def double(x):\n    return _Yes(7)\n", 0.0),
}


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.usefixtures("sandbox_users")
def test_the_grading_service_scores_a_task_by_verdict_whatever_the_kernel_does(deployment, engine,  # noqa: F811
                                                                              task):
    """Right, half right, untouched and hostile answers, each graded in the sandbox by the key."""
    from submissions.grading import pipeline, queue

    tasks.prepare(deployment, [task])
    released = tasks.released_notebook(deployment, task)
    store = Store.for_deployment(deployment)
    jobs = {}
    for name, (code, _) in ANSWERS.items():
        with write_session(engine) as session:
            submission = store.submit(session, tasks.COURSE, "t-code", name,
                                      {"t-code.ipynb": tasks.submission_notebook(released, code)})
            jobs[name] = queue.enqueue(session, submission)
    for name, (_, expected) in ANSWERS.items():
        outcome = pipeline.grade(deployment, jobs[name])
        assert (outcome.state, outcome.score, outcome.max_score) == ("graded", expected, 2.0), name


def _bank_code_items():
    items = bank.require()
    return sorted((i for i in items.values() if i.type == "code"), key=lambda i: i.id)


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.usefixtures("sandbox_users")
def test_every_bank_task_scores_its_reference_full_and_its_stub_nothing(deployment, engine,  # noqa: F811
                                                                        tmp_path):
    """Each code item of the real bank, graded by the grading service (two workers) as a candidate's task."""
    from submissions.grading import queue
    from submissions.grading.models import FINAL, GradingJob

    code = _bank_code_items()
    tasks.prepare(deployment, code)
    store = Store.for_deployment(deployment)
    expected = {}
    for item in code:
        released = tasks.released_notebook(deployment, item)
        for student, answer, points in (("reference", item.code["solution"], float(item.points)),
                                        ("stub", item.code["stub"], 0.0)):
            with write_session(engine) as session:
                notebook = tasks.submission_notebook(released, answer)
                submission = store.submit(session, tasks.COURSE, item.id, student,
                                          {tasks.notebook_name(item): notebook})
                expected[queue.enqueue(session, submission).id] = (item.id, student, points)
    log = tmp_path / "grading.log"
    with open(log, "wb") as output:
        service = subprocess.Popen([sys.executable, "-m", "submissions.grading"], stdout=output,
                                   stderr=subprocess.STDOUT,
                                   env={**os.environ, "QCAMPUS_HOME": str(deployment.home),
                                        "QCAMPUS_GRADING__WORKERS": "2"})
    try:
        deadline = time.monotonic() + 20 * len(expected)
        while True:
            with Session(engine) as session:
                jobs = {job.id: job for job in session.scalars(select(GradingJob))}
            if all(job.state in FINAL for job in jobs.values()):
                break
            assert service.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, {i: j.state for i, j in jobs.items()}
            time.sleep(0.5)
    finally:
        service.terminate()
        service.wait(60)
    wrong = [f"{item} {student}: {job.state} {job.score} {(job.reason or '')[:300]}"
             for job_id, (item, student, points) in expected.items()
             if ((job := jobs[job_id]).state, job.score) != ("graded", points)]
    assert wrong == []
