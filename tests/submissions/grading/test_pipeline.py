"""The pipeline: a submission placed as collect would, graded in the sandbox, feedback released."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest
from sqlalchemy.orm import Session

from qcampus.database import write_session
from submissions.errors import GradingError
from submissions.exchange.models import Submission
from submissions.grading import pipeline, queue
from submissions.grading.models import GRADED, SUPERSEDED, TIMED_OUT
from tests.submissions.grading.conftest import answer, with_settings


def _submission(engine, job) -> Submission:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(Submission, job.submission_id)


def test_place_copies_regular_files_with_the_servers_timestamp(engine, store, submit, job, tmp_path):
    """The folder holds the stored notebook and timestamp.txt, closed to other users."""
    job_id = submit("alice", {"ps1.ipynb": answer()})
    submission = _submission(engine, job(job_id))
    course = tmp_path / "course"
    (course / "submitted" / "alice" / "ps1").mkdir(parents=True)
    (course / "submitted" / "alice" / "ps1" / "stale.ipynb").write_text("{}")
    folder = pipeline.place(store.path_of(submission), submission, course)
    assert sorted(p.name for p in folder.iterdir()) == ["ps1.ipynb", "timestamp.txt"]
    assert (folder / "timestamp.txt").read_text().strip() == submission.timestamp
    assert (folder / "ps1.ipynb").read_bytes() == answer()
    assert stat.S_IMODE(folder.stat().st_mode) & 0o007 == 0
    assert stat.S_IMODE((folder / "ps1.ipynb").stat().st_mode) == 0o640
    assert [p.name for p in folder.parent.iterdir()] == ["ps1"]


@pytest.mark.parametrize("tamper", ["symlink", "changed", "missing"])
def test_place_refuses_a_stored_file_that_is_not_what_was_submitted(engine, store, submit, job,
                                                                     tmp_path, tamper):
    """A link, a changed or a missing notebook in the store refuses the submission."""
    job_id = submit("alice", {"ps1.ipynb": answer()})
    submission = _submission(engine, job(job_id))
    stored = store.path_of(submission) / "ps1.ipynb"
    secret = tmp_path / "secret"
    secret.write_bytes(answer())
    if tamper == "symlink":
        stored.unlink()
        stored.symlink_to(secret)
    elif tamper == "changed":
        stored.write_bytes(answer("return 0"))
    else:
        stored.unlink()
    with pytest.raises(GradingError):
        pipeline.place(store.path_of(submission), submission, tmp_path / "course")
    assert not (tmp_path / "course" / "submitted" / "alice" / "ps1").exists()


def test_place_replaces_a_planted_link_instead_of_writing_through_it(engine, store, submit, job,
                                                                      tmp_path):
    """A symbolic link where the folder belongs is replaced; its target is untouched."""
    job_id = submit("alice", {"ps1.ipynb": answer()})
    submission = _submission(engine, job(job_id))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").write_text("keep")
    (tmp_path / "course" / "submitted" / "alice").mkdir(parents=True)
    os.symlink(elsewhere, tmp_path / "course" / "submitted" / "alice" / "ps1")
    folder = pipeline.place(store.path_of(submission), submission, tmp_path / "course")
    assert not folder.is_symlink() and (folder / "ps1.ipynb").is_file()
    assert [p.name for p in elsewhere.iterdir()] == ["keep"]


def test_an_older_submission_is_superseded_without_grading(engine, submit, job, deployment):
    """Grading a job whose learner submitted again since records superseded, naming the newer one."""
    old = submit("alice", {"ps1.ipynb": answer("return x")})
    with write_session(engine) as session:
        [regrade] = queue.regrade(session, job(old))
    submit("alice", {"ps1.ipynb": answer()})
    outcome = pipeline.grade(deployment, job(regrade.id))
    assert outcome.state == SUPERSEDED and "submitted again" in outcome.reason
    assert not (deployment.courses_root / "demo" / "submitted").exists()


def _gradebook_rows(course) -> list[tuple]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "demo") as gb:
        return [(s.student_id, nb.name, g.name, g.auto_score)
                for s in gb.assignment_submissions("ps1") for nb in s.notebooks for g in nb.grades]


@pytest.mark.slow
@pytest.mark.sandbox
def test_grading_twice_leaves_one_set_of_gradebook_rows(engine, submit, job, deployment,
                                                        demo_course):
    """A job and its regrade score in the sandbox; the gradebook keeps one row per grade cell."""
    job_id = submit("alice", {"ps1.ipynb": answer()})
    first = pipeline.grade(deployment, job(job_id))
    assert (first.state, first.score, first.max_score) == (GRADED, 2.0, 2.0), first.reason
    assert first.environment["qiskit"] and first.environment["nbgrader"]
    assert not first.feedback_released  # the demo course has no track: manual feedback
    with write_session(engine) as session:
        [again] = queue.regrade(session, job(job_id))
    second = pipeline.grade(deployment, job(again.id))
    assert (second.state, second.score) == (GRADED, 2.0), second.reason
    assert _gradebook_rows(demo_course) == [("alice", "ps1", "test_square", 2.0)]
    digest = hashlib.sha256(answer()).hexdigest()
    placed = demo_course / "submitted" / "alice" / "ps1" / "ps1.ipynb"
    assert hashlib.sha256(placed.read_bytes()).hexdigest() == digest


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_wrong_answer_scores_zero_from_the_hidden_test(engine, submit, job, deployment,
                                                         demo_course):
    """The hidden test, restored from the gradebook, fails an answer that fools the visible one."""
    job_id = submit("bob", {"ps1.ipynb": answer("return 9 if x == 3 else 0")})
    outcome = pipeline.grade(deployment, job(job_id))
    assert (outcome.state, outcome.score, outcome.max_score) == (GRADED, 0.0, 2.0)


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_submission_that_runs_past_the_timeout_is_timed_out_with_the_reason(
        engine, submit, job, deployment, demo_course):
    """An endless loop is stopped by grading.timeout and recorded as timed out, saying where."""
    settings = with_settings(deployment, grading={"timeout": 3})
    job_id = submit("carol", {"ps1.ipynb": answer(before="while True: pass")})
    outcome = pipeline.grade(settings, job(job_id))
    assert outcome.state == TIMED_OUT and "ps1" in outcome.reason, outcome


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_full_grading_disk_fails_the_job_with_the_reason_and_keeps_the_submission(
        engine, store, submit, job, deployment, demo_course):
    """With no space where graded copies go, grading fails saying so; freed, a regrade scores."""
    import subprocess

    autograded = demo_course / "autograded"
    autograded.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(autograded)], check=True)
    try:
        fd = os.open(autograded / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            with pytest.raises(OSError, match="No space left"):
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
        job_id = submit("dora", {"ps1.ipynb": answer()})
        # Raised, so the worker counts an attempt and keeps the reason (failed after the last).
        with pytest.raises(GradingError, match="No space left on the grading disk.*regrade"):
            pipeline.grade(deployment, job(job_id))
    finally:
        subprocess.run(["umount", "-l", str(autograded)], check=True)
    submission = _submission(engine, job(job_id))
    stored = store.path_of(submission) / "ps1.ipynb"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == hashlib.sha256(answer()).hexdigest()
    with write_session(engine) as session:
        [again] = queue.regrade(session, job(job_id))
    regraded = pipeline.grade(deployment, job(again.id))
    assert (regraded.state, regraded.score) == (GRADED, 2.0), regraded.reason
