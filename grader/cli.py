"""``qcampus grade``: autograde an assignment fast, in parallel, each submission sandboxed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from grader.errors import GraderError


@click.command("grade")
@click.argument("assignment")
@click.option("--course-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=".", show_default=True, help="nbgrader course directory.")
@click.option("--student", "students", multiple=True, help="Grade only this student (repeatable).")
@click.option("--workers", type=click.IntRange(min=1), default=os.cpu_count() or 1,
              show_default=True, help="Submissions graded at once.")
@click.option("--timeout", type=click.FloatRange(min=1), default=30, show_default=True,
              help="Wall-clock seconds per cell (the whole notebook gets four times that).")
@click.option("--cpu-seconds", type=click.IntRange(min=1), default=None,
              help="CPU seconds a notebook may use, all its threads together [default: the "
                   "notebook's wall-clock seconds].")
@click.option("--memory-mb", type=click.IntRange(min=64), default=1024, show_default=True,
              help="Memory a submission may use on top of the pre-warmed libraries.")
@click.option("--unsafe-no-sandbox", is_flag=True,
              help="Grade without isolation: learner code can read answer keys and the gradebook.")
def grade(assignment: str, course_dir: Path, students: tuple[str, ...], workers: int,
          timeout: float, cpu_seconds: int | None, memory_mb: int,
          unsafe_no_sandbox: bool) -> None:
    """Autograde ASSIGNMENT like `nbgrader autograde`, sandboxed and in parallel.

    Writes the same autograded notebooks and gradebook rows as nbgrader, so
    formgrader, feedback and export work unchanged. A rerun grades only new or
    changed submissions. A notebook with an answer key in
    COURSE_DIR/keys/ASSIGNMENT/NOTEBOOK.json has its keyed test cells scored
    from exported answers, outside the learner's process (see docs/grader.md).
    """
    from grader.autograde.batch import FAILED, Batch
    from grader.autograde.report import Progress, summary
    from grader.sandbox.limits import Limits, MiB

    if not (course_dir / "source" / assignment).is_dir():
        raise click.ClickException(
            f"{course_dir / 'source' / assignment} does not exist: is {course_dir} an nbgrader "
            "course directory, and has the assignment been generated?")
    if unsafe_no_sandbox:
        click.echo("WARNING: grading without a sandbox; learner code runs with your "
                   "permissions.", err=True)
    else:
        click.echo(_memory_note(), err=True)
    limits = Limits(cell_timeout=timeout, notebook_timeout=4 * timeout,
                    cpu_seconds=cpu_seconds, memory_bytes=memory_mb * MiB)
    batch = Batch(course_dir, assignment, limits=limits, isolate=not unsafe_no_sandbox,
                  workers=workers)
    todo, unchanged = batch.plan(batch.submissions(students))
    if not todo and not unchanged:
        raise click.ClickException(f"no submissions of {assignment} under "
                                   f"{course_dir / 'submitted'}; run nbgrader collect first.")
    try:
        outcomes = batch.run(todo, Progress(len(todo))) if todo else []
    except GraderError as exc:
        raise click.ClickException(f"{exc}") from exc
    click.echo(summary(unchanged + outcomes))
    if any(o.status == FAILED for o in outcomes):
        sys.exit(1)


def _memory_note() -> str:
    """Say what bounds a notebook's memory on this host (see docs/grader.md, cgroups)."""
    from grader.sandbox.cgroups import missing_delegation

    why = missing_delegation()
    if why:
        return (f"note: each notebook's memory is bounded by rlimits and the system-call filter, "
                f"not by a cgroup: {why}.")
    return ("note: cgroup v2 memory and pids control is delegated to this grader, but notebooks "
            "are bounded by rlimits and the system-call filter only.")
