"""The instructors' view of grading in the qcampus service: the queue, each job, regrades.

Added to the service through the ``qcampus.web`` entry point; staff sign in
through the hub as for every staff page (:func:`web.hub.staff_required`). Each
job shows its state (queued, grading, graded, failed with the reason, timed out,
superseded), its score and the library versions it was computed with. Regrading one submission or every
newest submission of an assignment is a POST with the form's CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from qcampus.database import write_session
from submissions.grading import queue
from submissions.grading.models import STATES, GradingJob
from web.hub import staff_required

bp = Blueprint("grading", __name__, url_prefix="/grading", template_folder="templates")

PAGE_SIZE = 100


def _exchange():
    return current_app.extensions["qcampus_exchange"]


def _checked(name: str, value: str | None, allowed=None) -> str | None:
    if not value:
        return None
    if len(value) > 128 or (allowed is not None and value not in allowed):
        abort(400, f"Unknown {name} {value[:40]!r}.")
    return value


@bp.get("/")
@staff_required
def index(user: dict):
    """Show the queue's length, the jobs (filtered) and the regrade forms."""
    state = _checked("state", request.args.get("state"), STATES)
    course = _checked("course", request.args.get("course"))
    assignment = _checked("assignment", request.args.get("assignment"))
    query = select(GradingJob).order_by(GradingJob.id.desc()).limit(PAGE_SIZE)
    if state:
        query = query.where(GradingJob.state == state)
    if course:
        query = query.where(GradingJob.course == course)
    if assignment:
        query = query.where(GradingJob.assignment == assignment)
    with Session(_exchange().engine) as session:
        counts = queue.state_counts(session)
        jobs = [job.describe() for job in session.scalars(query)]
        assignments = sorted(set(session.execute(
            select(GradingJob.course, GradingJob.assignment).distinct()).all()))
    return render_template("grading/index.html", user=user, counts=counts, jobs=jobs,
                           states=STATES, state=state, course=course, assignment=assignment,
                           assignments=assignments)


@bp.post("/jobs/<int:job_id>/regrade")
@staff_required
def regrade_one(user: dict, job_id: int):
    """Queue one job's submission for grading again."""
    ex = _exchange()
    with write_session(ex.engine) as session:
        job = session.get(GradingJob, job_id)
        if job is None:
            abort(404, f"There is no grading job {job_id}.")
        queued = [j.id for j in queue.regrade(session, job)]
    queue.dispatch_after_commit(ex.settings, queued)
    current_app.logger.info("regrade of job %s by %s", job_id, user["name"])
    flash(f"Queued again: job {job_id}. / 再採点を登録しました。")
    return redirect(url_for("grading.index"))


@bp.post("/regrade")
@staff_required
def regrade_assignment(user: dict):
    """Queue every learner's newest submission of one assignment for grading again."""
    course, _, assignment = request.form.get("pair", "").partition("/")
    course, assignment = _checked("course", course), _checked("assignment", assignment)
    if not course or not assignment:
        abort(400, "Choose the course and assignment to regrade. / コースと課題を選んでください。")
    ex = _exchange()
    with write_session(ex.engine) as session:
        queued = [j.id for j in queue.regrade(session, assignment, course=course)]
    queue.dispatch_after_commit(ex.settings, queued)
    current_app.logger.info("regrade of %s/%s (%d) by %s", course, assignment, len(queued),
                            user["name"])
    flash(f"Queued again: {len(queued)} submissions of {course}/{assignment}. / "
          f"{len(queued)} 件の再採点を登録しました。")
    return redirect(url_for("grading.index", course=course, assignment=assignment))


def init_app(app: Flask) -> None:
    """Add the grading pages to the qcampus service (entry point ``qcampus.web``)."""
    if "qcampus_exchange" not in app.extensions:
        from submissions.exchange.api import init_app as init_exchange

        init_exchange(app)
    app.register_blueprint(bp)
    app.extensions.setdefault("qcampus_staff_links", []).append(("grading.index", "Grading / 採点"))
