"""One grading worker: nbgrader's Autograde converter, one student at a time, in a forked process.

Everything is imported at module level so the parent imports it once, before forking.
"""

from __future__ import annotations

import glob
import os
import time
from multiprocessing.queues import SimpleQueue
from pathlib import Path

from nbgrader.api import Gradebook, InvalidEntry, MissingEntry
from nbgrader.apps import AutogradeApp
from nbgrader.converters import Autograde, NbGraderException
from sqlalchemy.exc import SQLAlchemyError

from grader.autograde import autograde_preprocessors, sanitize_preprocessors
from grader.autograde.batch import (
    ATTEMPTS,
    FAILED,
    captured_errors,
    check_timestamp,
    course_env,
    linked_entries,
    status_of,
)
from grader.autograde.compat import cached_metadata_schema, shared_engines
from grader.autograde.execute import SandboxedExecute
from grader.autograde.trusted import AnswerKeyError, TrustedVerdict, check_keys
from grader.errors import SandboxUnavailableError
from grader.sandbox.limits import Limits, MiB


def work(slot: int, settings: dict, tasks: SimpleQueue, results: SimpleQueue) -> None:
    """Grade students taken from *tasks* until None; put one outcome dict per student."""
    os.environ.update(course_env())
    os.chdir(settings["course_dir"])
    # What the worker writes (autograded copies, the gradebook) is the course's owner's and
    # group's (the instructors'), as qcampus.courses.nbgrader writes it, never everyone's.
    os.umask(0o007)
    limits = Limits(**settings["limits"])
    app = AutogradeApp()
    app.initialize([settings["assignment"], "--log-level=WARN"])
    config = app.config
    config.Autograde.sanitize_preprocessors = sanitize_preprocessors()
    config.Autograde.autograde_preprocessors = autograde_preprocessors()
    if "permissions" not in config.Autograde and not app.coursedir.groupshared:
        # nbgrader's default makes autograded files readable by every local user (444);
        # a course's files are its owner's and the course group's only.
        config.Autograde.permissions = 440
    config.SandboxedExecute.update(
        timeout=int(limits.cell_timeout), notebook_timeout=int(limits.notebook_timeout),
        cpu_seconds=None if limits.cpu_seconds is None else int(limits.cpu_seconds),
        memory_mb=limits.memory_bytes // MiB, processes=limits.processes,
        file_mb=limits.file_bytes // MiB, scratch_mb=limits.scratch_bytes // MiB,
        output_bytes=limits.output_bytes, isolate=settings["isolate"], slot=slot,
        preload=settings["preload"])
    app.update_config(config)
    app.coursedir.assignment_id = settings["assignment"]
    try:
        check_keys(app.coursedir.root, TrustedVerdict(parent=app).keys_directory,
                   settings["assignment"], app.coursedir.db_url)
        SandboxedExecute(parent=app).sandbox()
    except (SandboxUnavailableError, AnswerKeyError) as exc:
        results.put({"fatal": str(exc)})
        return
    with shared_engines(), cached_metadata_schema():
        while (student := tasks.get()) is not None:
            results.put(grade_one(app, Path(settings["course_dir"]), settings["assignment"],
                                  student))


def grade_one(app, course_dir: Path, assignment: str, student: str) -> dict:
    """Autograde one student's submission with nbgrader's converter; return its outcome."""
    start = time.monotonic()
    outcome = {"student": student, "status": FAILED, "reason": "", "score": None,
               "max_score": None}
    refused, links = linked_entries(course_dir, student, assignment)
    distrust = refused or check_timestamp(course_dir / "submitted" / student / assignment)
    if distrust:
        outcome.update(reason=distrust, seconds=time.monotonic() - start)
        return outcome
    SandboxedExecute.outcomes.clear()
    app.coursedir.student_id = student
    ensure_student(app.coursedir.db_url, app.coursedir.course_id, student)
    ignore = list(app.coursedir.ignore)
    # nbgrader's converter copies every file it does not ignore with shutil.copy, which
    # follows links; an exact, escaped path ignores just that entry of this submission.
    folder = app.coursedir.format_path(app.coursedir.submitted_directory, student, assignment)
    app.coursedir.ignore = ignore + [glob.escape(os.path.join(folder, rel)) for rel in links]
    try:
        for _attempt in range(ATTEMPTS):
            with captured_errors(app.log) as errors:
                try:
                    Autograde(coursedir=app.coursedir, parent=app).start()
                    break
                except NbGraderException:
                    if not any("database" in e for e in errors):
                        break
                except SystemExit:  # nbgrader's CourseDirectory.fail() exits on bad input
                    break
    finally:
        app.coursedir.ignore = ignore
    if not errors:
        status, reason = status_of(SandboxedExecute.outcomes, student)
        outcome.update(status=status, reason=reason)
        with Gradebook(app.coursedir.db_url, app.coursedir.course_id) as gb:
            try:
                submission = gb.find_submission(assignment, student)
                outcome.update(score=submission.score, max_score=submission.max_score)
                missing = [g.name for nb in submission.notebooks for g in nb.grades
                           if g.auto_score is None and g.cell.cell_type == "code"]
                if missing and not outcome["reason"]:
                    outcome["reason"] = (
                        f"test cells missing from the submission, scored 0: {', '.join(missing)}"
                        " (OverwriteCells.add_missing_cells = True restores them)")
            except MissingEntry:
                outcome.update(status=FAILED, reason="no gradebook row was written")
    else:
        outcome["reason"] = reason_from(errors)
    outcome["seconds"] = time.monotonic() - start
    return outcome


def ensure_student(db_url: str, course_id: str, student: str) -> None:
    """Make the student's gradebook row before nbgrader's Autograde looks for it.

    Two gradings of one learner in one course at the same moment (the two Part B
    tasks of an exam attempt, on two grading workers) would both find no row and
    both insert one; the second insert failed its whole grading ("UNIQUE constraint
    failed: student.id"). Made here, a concurrent insert only means the row exists,
    and Autograde then updates it. A database that is briefly busy is left to
    Autograde's own attempts.
    """
    try:
        with Gradebook(db_url, course_id) as gradebook:
            try:
                gradebook.find_student(student)
                return
            except MissingEntry:
                pass
            try:
                gradebook.add_student(student)
            except InvalidEntry:
                gradebook.find_student(student)  # another grading made it a moment ago
    except (MissingEntry, SQLAlchemyError):
        pass  # Autograde creates the row itself and retries on a busy database


def reason_from(errors: list[str]) -> str:
    """Pick the line of nbgrader's error log that says what was wrong with the submission."""
    for message in errors:
        lines = [line for line in message.strip().splitlines() if line.strip()]
        if lines and message.lstrip().startswith("Traceback"):
            return lines[-1][:300]
    generic = ("There was an error processing", "Please see")
    specific = [e for e in errors if not e.startswith(generic)]
    return (specific or errors)[0].strip().splitlines()[0][:300]
