"""``qcampus grading``: run the service or a Celery worker, see the queue, regrade.

On any machine that should grade with Celery (``grading.broker`` set), one
command starts a worker::

    QCAMPUS_HOME=/srv/qcampus qcampus grading worker

It needs the deployment's settings (the same ``grading.broker`` and
``submissions.database_url``) and the course directories; it runs as root,
since the sandbox switches to its own system users.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
from sqlalchemy.orm import Session

from qcampus import settings as settings_mod
from qcampus.database import write_session
from qcampus.settings import Settings
from submissions.grading import queue


@click.group("grading")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar="QCAMPUS_HOME",
              default="var", show_default=True, help="Deployment directory.")
@click.pass_context
def grading(ctx: click.Context, home: Path) -> None:
    """Grade submissions as a service: workers, queue status, regrades."""
    ctx.obj = settings_mod.load(home)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


@grading.command("serve")
@click.option("--lease-seconds", type=click.FloatRange(min=1), default=queue.LEASE_SECONDS,
              show_default=True, help="How long a claimed job is held without a heartbeat.")
@click.pass_obj
def serve(settings: Settings, lease_seconds: float) -> None:
    """Run the grading service: embedded workers (unless Celery grades) and the sweep."""
    from submissions.grading.service import Service

    _logging()
    Service(settings, lease_seconds=lease_seconds).run()


@grading.command("worker")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once  [default: grading.workers]")
@click.option("--lease-seconds", type=click.FloatRange(min=1), default=queue.LEASE_SECONDS,
              show_default=True, help="How long a claimed job is held without a heartbeat.")
@click.option("--name", default=None, help="Celery node name (default: celery@<host>).")
@click.pass_obj
def worker(settings: Settings, concurrency: int | None, lease_seconds: float,
           name: str | None) -> None:
    """Run a Celery grading worker on this machine (grading.broker must be set)."""
    if not settings["grading"]["broker"]:
        raise click.ClickException(
            "grading.broker is empty, so the grading service grades on this machine itself. "
            "Set grading.broker to a redis:// or amqp:// URL in settings.yaml to add workers.")
    from submissions.grading.celery_app import run_worker

    _logging()
    run_worker(settings, concurrency=concurrency or settings["grading"]["workers"],
               lease_seconds=lease_seconds, name=name)


@grading.command("status")
@click.option("--failed", "show_failed", type=click.IntRange(min=0), default=10, show_default=True,
              help="Show this many of the latest failed or timed-out jobs with their reason.")
@click.pass_obj
def status(settings: Settings, show_failed: int) -> None:
    """Show the queue length, how many jobs are in each state, and recent failures."""
    from sqlalchemy import select

    from submissions.grading.models import FAILED, QUEUED, TIMED_OUT, GradingJob

    engine = queue.engine_for(settings)
    with Session(engine) as session:
        counts = queue.state_counts(session)
        failures = session.scalars(select(GradingJob).where(
            GradingJob.state.in_((FAILED, TIMED_OUT))).order_by(GradingJob.id.desc())
            .limit(show_failed)).all()
    mode = f"Celery ({settings['grading']['broker']})" if settings["grading"]["broker"] else "embedded"
    click.echo(f"queue: {counts[QUEUED]} waiting ({mode})")
    for state, count in counts.items():
        click.echo(f"  {state:<11} {count}")
    for job in failures:
        click.echo(f"job {job.id} {job.course}/{job.assignment} {job.student}: {job.state}: "
                   f"{job.reason}")


@grading.command("regrade")
@click.argument("assignment")
@click.option("--student", default=None, help="Only this learner's newest submission.")
@click.option("--course", default=None, help="Only this course (track id).")
@click.pass_obj
def regrade(settings: Settings, assignment: str, student: str | None, course: str | None) -> None:
    """Grade each learner's newest submission of ASSIGNMENT again."""
    engine = queue.engine_for(settings)
    with write_session(engine) as session:
        jobs = queue.regrade(session, assignment, course=course, student=student)
        ids = [job.id for job in jobs]
    if not ids:
        raise click.ClickException(f"no submissions of {assignment}"
                                   f"{f' by {student}' if student else ''} to regrade.")
    queue.dispatch_after_commit(settings, ids)
    click.echo(f"queued {len(ids)} regrade(s) of {assignment}: jobs {', '.join(map(str, ids))}")
