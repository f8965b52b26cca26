"""The exchange's JSON endpoints in the qcampus service, authenticated by hub tokens.

Users' servers call these with their ``$JUPYTERHUB_API_TOKEN`` (``Authorization:
token …``); the hub says whose token it is and which groups they are in.
Learners of a course are in ``nbgrader-<course>``, its instructors in
``formgrade-<course>`` (hub_config). A learner fetches releases, submits, and
lists and fetches the feedback of their own submissions; an instructor also
releases, collects every submission and releases feedback. Who submitted is the
token's user and when is the service's clock, whatever the request says.

Files travel as base64 in JSON. Every refusal is a JSON error with a message
in English and Japanese that says what to do, and stores nothing.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, abort, current_app, g, jsonify, request
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from qcampus.database import write_session
from submissions.errors import NotFound, RefusedSubmission
from submissions.exchange.models import Submission
from submissions.exchange.store import Store
from web.security import csrf_exempt

bp = Blueprint("exchange", __name__, url_prefix="/exchange/api")

#: Hub groups that make a user a learner or an instructor of a course.
LEARNER_GROUP = "nbgrader-{course}"
INSTRUCTOR_GROUP = "formgrade-{course}"


@dataclass(frozen=True)
class Exchange:
    """What the endpoints use: the store, its database and the grading queue's hook."""

    store: Store
    engine: Engine
    settings: Any = None


@dataclass(frozen=True)
class Caller:
    """The authenticated hub user behind a request and their role in the course."""

    name: str
    role: str  # "learner" or "instructor"

    @property
    def instructor(self) -> bool:
        return self.role == "instructor"


def exchange() -> Exchange:
    return current_app.extensions["qcampus_exchange"]


def _token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() not in ("token", "bearer") or not token.strip():
        abort(401, "Send your JupyterHub API token (Authorization: token …); users' servers have "
                   "it in $JUPYTERHUB_API_TOKEN. / JupyterHub の API トークンが必要です。")
    return token.strip()


def hub_user() -> dict:
    """Return the hub's model of this request's token, or answer 401/403."""
    if "exchange_user" in g:
        return g.exchange_user
    auth = current_app.extensions.get("qcampus_hub_auth")
    if auth is None:
        abort(503, "The exchange needs JupyterHub to identify users; start the service through "
                   "`qcampus up`. / 交換には JupyterHub が必要です。")
    user = auth.user_for_token(_token())
    if not user or user.get("kind", "user") != "user":
        abort(401, "The hub does not know this token; restart your server from the hub's home "
                   "page. / このトークンは無効です。ハブのホームからサーバーを再起動してください。")
    if not auth.check_scopes(auth.access_scopes, user):
        abort(403, "This token may not use the qcampus service. / このトークンでは qcampus "
                   "サービスを利用できません。")
    g.exchange_user = user
    return user


def caller(course: str) -> Caller:
    """Return who is calling and their role in *course*, or answer 403."""
    user = hub_user()
    groups = set(user.get("groups") or ())
    if INSTRUCTOR_GROUP.format(course=course) in groups:
        return Caller(user["name"], "instructor")
    if LEARNER_GROUP.format(course=course) in groups:
        return Caller(user["name"], "learner")
    abort(403, f"You are not enrolled in {course}. Ask your instructor to add you to it. / "
               f"{course} に登録されていません。講師に登録を依頼してください。")


def instructor(course: str) -> Caller:
    who = caller(course)
    if not who.instructor:
        abort(403, f"Only instructors of {course} may do this. / {course} の講師のみ実行できます。")
    return who


def _files_from_request() -> dict[str, bytes]:
    body = request.get_json(silent=True)
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, list) or not all(
            isinstance(f, dict) and isinstance(f.get("name"), str)
            and isinstance(f.get("content"), str) for f in files):
        raise RefusedSubmission('Send JSON {"files": [{"name": ..., "content": <base64>}]}. / '
                                "送信形式が正しくありません。", 400)
    decoded: dict[str, bytes] = {}
    for f in files:
        if f["name"] in decoded:
            raise RefusedSubmission(f"{f['name']} is sent twice. / {f['name']} が重複しています。", 422)
        try:
            decoded[f["name"]] = base64.b64decode(f["content"], validate=True)
        except (binascii.Error, ValueError):
            raise RefusedSubmission(f"{f['name']}: content is not base64. / 内容が base64 では"
                                    f"ありません。", 400) from None
    return decoded


def _encoded(files: dict[str, bytes]) -> list[dict[str, str]]:
    return [{"name": name, "content": base64.b64encode(data).decode("ascii")}
            for name, data in sorted(files.items())]


def _submission(session: Session, submission_id: int) -> tuple[Submission, Caller]:
    submission = session.get(Submission, submission_id)
    if submission is None:
        abort(404, f"There is no submission {submission_id}. / 提出物 {submission_id} は"
                   f"ありません。")
    who = caller(submission.course)
    if not who.instructor and submission.student != who.name:
        # The same answer as for a missing one: ids of others' submissions reveal nothing.
        abort(404, f"There is no submission {submission_id}. / 提出物 {submission_id} は"
                   f"ありません。")
    return submission, who


# --- learners and instructors ----------------------------------------------------------


@bp.get("/courses/<course>/assignments")
@csrf_exempt
def list_released(course: str):
    """List the assignments of *course* that can be fetched."""
    caller(course)
    with Session(exchange().engine) as session:
        return jsonify(assignments=[{
            "course_id": r.course, "assignment_id": r.assignment, "version": r.version,
            "released_at": r.released_at.isoformat(),
            "notebooks": [n[:-len(".ipynb")] for n in r.notebooks]}
            for r in exchange().store.releases(session, course)])


@bp.get("/courses/<course>/assignments/<assignment>/release")
@csrf_exempt
def fetch_release(course: str, assignment: str):
    """Return the released notebooks of *assignment*."""
    caller(course)
    with Session(exchange().engine) as session:
        release = exchange().store.active_release(session, course, assignment)
        if release is None:
            abort(404, f"{assignment} is not released in {course}. / この課題は配布されていません。")
        return jsonify(course_id=course, assignment_id=assignment, version=release.version,
                       files=_encoded(exchange().store.read_release(release)))


@bp.post("/courses/<course>/assignments/<assignment>/submissions")
@csrf_exempt
def submit(course: str, assignment: str):
    """Record the caller's submission of *assignment*, timed by the service's clock."""
    who = caller(course)
    files = _files_from_request()
    ex = exchange()
    with write_session(ex.engine) as session:
        submission = ex.store.submit(session, course, assignment, who.name, files)
        jobs = _enqueue(session, submission)
        answer = submission.describe()
    if jobs:
        from submissions.grading import queue

        queue.dispatch_after_commit(ex.settings, jobs)
    current_app.logger.info("submission %s: %s/%s by %s", answer["id"], course, assignment, who.name)
    return jsonify(submission=answer), 201


def _enqueue(session: Session, submission: Submission) -> list[int]:
    """Queue *submission* for grading in the transaction that records it (if grading runs)."""
    if exchange().settings is None:
        return []
    from submissions.grading import queue

    job = queue.enqueue(session, submission)
    session.flush()
    return [job.id]


@bp.get("/courses/<course>/submissions")
@csrf_exempt
def list_submissions(course: str):
    """List submissions: a learner's own, or every one for an instructor."""
    who = caller(course)
    assignment = request.args.get("assignment") or None
    student = request.args.get("student") or None
    if not who.instructor:
        student = who.name
    with Session(exchange().engine) as session:
        rows = exchange().store.submissions(session, course, assignment=assignment, student=student)
        return jsonify(submissions=[s.describe() for s in rows])


@bp.get("/submissions/<int:submission_id>/files")
@csrf_exempt
def fetch_submission(submission_id: int):
    """Return a submission's notebooks to its learner or the course's instructors."""
    with Session(exchange().engine) as session:
        submission, _ = _submission(session, submission_id)
        return jsonify(submission=submission.describe(),
                       files=_encoded(exchange().store.read_submission(submission)))


@bp.get("/submissions/<int:submission_id>/feedback")
@csrf_exempt
def fetch_feedback(submission_id: int):
    """Return the released feedback pages of a submission."""
    with Session(exchange().engine) as session:
        submission, _ = _submission(session, submission_id)
        pages = {f"{f.notebook}.html": exchange().store.read_feedback(f) for f in submission.feedback}
        return jsonify(submission=submission.describe(), files=_encoded(pages))


# --- instructors ---------------------------------------------------------------------------


@bp.post("/courses/<course>/assignments/<assignment>/release")
@csrf_exempt
def release(course: str, assignment: str):
    """Release (a new version of) *assignment*'s notebooks."""
    who = instructor(course)
    files = _files_from_request()
    with write_session(exchange().engine) as session:
        row = exchange().store.release(session, course, assignment, files, released_by=who.name)
        version = row.version
    return jsonify(course_id=course, assignment_id=assignment, version=version), 201


@bp.delete("/courses/<course>/assignments/<assignment>/release")
@csrf_exempt
def withdraw(course: str, assignment: str):
    """Stop offering *assignment* for fetching (submissions and feedback stay)."""
    instructor(course)
    with write_session(exchange().engine) as session:
        exchange().store.withdraw(session, course, assignment)
    return jsonify(course_id=course, assignment_id=assignment, withdrawn=True)


@bp.post("/submissions/<int:submission_id>/feedback")
@csrf_exempt
def release_feedback(submission_id: int):
    """Release feedback pages (``<notebook>.html``) of a submission to its learner."""
    files = _files_from_request()
    with write_session(exchange().engine) as session:
        submission, who = _submission(session, submission_id)
        if not who.instructor:
            abort(403, "Only instructors release feedback. / フィードバックを返却できるのは講師のみです。")
        pages = {}
        for name, page in files.items():
            if not name.endswith(".html"):
                raise RefusedSubmission(f"{name}: feedback pages end in .html.", 422)
            pages[name[:-len(".html")]] = page
        exchange().store.release_feedback(session, submission, pages, released_by=who.name)
        answer = submission.describe()
    return jsonify(submission=answer), 201


@bp.post("/courses/<course>/assignments/<assignment>/grading")
@csrf_exempt
def request_grading(course: str, assignment: str):
    """Queue the newest submission of one learner (or of every learner) for grading again.

    This is formgrader's *Autograde*: the grading service grades in its sandbox,
    never in the instructor's server.
    """
    instructor(course)
    body = request.get_json(silent=True) or {}
    student = body.get("student") if isinstance(body, dict) else None
    if student is not None and not isinstance(student, str):
        raise RefusedSubmission('"student" must be a learner\'s name.', 400)
    ex = exchange()
    if ex.settings is None:
        abort(503, "No grading service runs with this exchange. / 採点サービスが動いていません。")
    from submissions.grading import queue

    with write_session(ex.engine) as session:
        jobs = [job.id for job in queue.regrade(session, assignment, course=course, student=student)]
    if not jobs:
        abort(404, f"No submission of {assignment} by {student or 'anyone'} to grade. / "
                   f"採点する提出物がありません。")
    queue.dispatch_after_commit(ex.settings, jobs)
    who = student or f"{len(jobs)} learners"
    return jsonify(queued=jobs, message=(
        f"Queued for the grading service: {assignment} of {who}. Scores appear here in a few "
        f"seconds; reload the page. / 採点サービスに登録しました。数秒後に再読み込みしてください。")), 202


# --- wiring -----------------------------------------------------------------------------


@bp.before_request
def _limit_body() -> None:
    store = exchange().store
    # base64 grows by 4/3; the JSON around the files is small.
    request.max_content_length = store.max_files * store.max_notebook_bytes * 4 // 3 + 65536


@bp.errorhandler(RefusedSubmission)
def _refused(exc: RefusedSubmission):
    return jsonify(error="refused", message=exc.message, status=exc.status), exc.status


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound):
    return jsonify(error="not found", message=exc.message, status=404), 404


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    status = exc.code or 500
    message = exc.description or exc.name
    if status == 413:
        message = ("The upload is larger than the exchange accepts. Clear large outputs and submit "
                   "again. / 送信内容が大きすぎます。出力を消去してから再提出してください。")
    return jsonify(error=exc.name, message=message, status=status), status


def init_app(app: Flask) -> None:
    """Add the exchange to the qcampus service *app* (entry point ``qcampus.web``)."""
    from qcampus.settings import for_app

    settings = for_app(app.config)
    engine = app.config.get("SUBMISSIONS_ENGINE")
    if engine is None:
        from submissions.db import open_engine

        engine = open_engine(settings.submissions_database_url)
    grading = settings if app.config.get("SUBMISSIONS_GRADING", True) else None
    app.extensions["qcampus_exchange"] = Exchange(Store.for_deployment(settings), engine, grading)
    app.register_blueprint(bp)
