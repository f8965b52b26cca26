"""The exam pages of the qcampus service: candidates sit Part A, examiners watch and act.

Added to the service through the ``qcampus.web`` entry point. Candidates sign in
through the hub (:func:`web.hub.authenticated`); examiners are
the hub group ``examiners``. Everything is decided on the server: the form is
drawn once from the attempt's recorded seed, the deadline is the server's clock
(the page's countdown only shows it), answers are saved one by one as the
candidate answers and scored on the server against keys that never leave it.
An attempt whose time is up is submitted with what was saved by the first
request that notices it, by the service's sweep (:mod:`exams.delivery`) or by
``qcampus exam close``; a pass is certified then, or by the next sweep.

A pass issues the exam's achievement through the service's issuance hook
(``qcampus_issue``); the exam result is the credential's source, so a double
submit, a second tab or twenty submits at once give one credential.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exams import attempts, bank, forms
from exams.bank import Item
from exams.catalog import Exam
from exams.delivery import (
    Delivery,
    Sweeper,
    certify,
    close_expired,
    delivery,
    due_count,
    finish_grading,
    issued_credential,
    now,
)
from exams.errors import ExamError
from exams.lab import Lab, task_path
from exams.models import ACTIVE, SCORED, Answer, Attempt, Event
from exams.part_b import has_tasks, task_slots
from qcampus.database import write_session
from web.hub import authenticated
from web.language import page_language

bp = Blueprint("exams", __name__, url_prefix="/exams", template_folder="templates",
               static_folder="static")

#: The hub group whose members watch attempts, extend time and void attempts.
EXAMINERS_GROUP = "examiners"
PAGE_SIZE = 100

TEXT = {
    "en": {"exams": "Exams", "start": "Start the exam", "language": "Language",
           "minutes": "minutes", "items": "items", "cut": "Pass mark",
           "remaining": "Time left", "submit": "Submit my answers", "saved": "saved",
           "not_open": "Part B places tasks in your JupyterLab, which needs the service to run "
                       "under JupyterHub; this exam cannot be sat here.",
           "part_b": "Part B: tasks in your JupyterLab",
           "part_b_help": "Each task is a notebook in your JupyterLab. Write your answer in its "
                          "answer cell and run it as often as you like. The notebooks are collected "
                          "every two minutes, when you submit and when the time is up.",
           "open_lab": "Open in JupyterLab", "place": "Place my tasks again",
           "collect": "Collect my tasks now", "collected": "collected",
           "not_collected": "not collected yet", "grading": "Part B is being graded",
           "lab_down": "JupyterLab is not running: start it from the hub, then place your tasks.",
           "result": "Result", "passed": "Passed", "failed": "Not passed", "pending": "Pending",
           "part": "Part", "competency": "Competency", "points": "Points",
           "certificate": "Your certificate", "voided": "This attempt was voided by an examiner",
           "evidence": "A certificate you earn records the exam, your form and the library "
                       "versions that scored it; your score is shown only to you.",
           "your_attempts": "Your attempts", "open": "Open", "unit": "Unit",
           "ordering": "Position", "matching": "Partner", "choose": "choose…",
           "issue_again": "Issue my certificate", "ended": "Time is up: your saved answers were scored.",
           "back": "All exams", "score": "Scaled score", "other": "日本語"},
    "ja": {"exams": "検定", "start": "受験を開始する", "language": "言語", "minutes": "分",
           "items": "問", "cut": "合格点", "remaining": "残り時間",
           "submit": "解答を提出する", "saved": "保存済み",
           "not_open": "Part B は JupyterLab に課題を配置するため、サービスが JupyterHub の下で"
                       "動作している必要があります。ここではこの検定を受験できません。",
           "part_b": "Part B：JupyterLab での課題",
           "part_b_help": "各課題は JupyterLab のノートブックです。解答セルに解答を書き、何度でも実行して"
                          "かまいません。ノートブックは 2 分ごと、提出時、時間切れの時点で回収されます。",
           "open_lab": "JupyterLab で開く", "place": "課題をもう一度配置する",
           "collect": "今すぐ回収する", "collected": "回収済み", "not_collected": "未回収",
           "grading": "Part B を採点中です",
           "lab_down": "JupyterLab が起動していません。ハブから起動してから、課題を配置してください。",
           "result": "結果", "passed": "合格", "failed": "不合格", "pending": "採点待ち",
           "part": "パート", "competency": "コンピテンシー", "points": "得点",
           "certificate": "あなたの証明書", "voided": "この受験は試験官により無効とされました",
           "evidence": "合格して発行される証明書には、検定名・あなたのフォーム・採点に使ったライブラリの"
                       "バージョンが記録されます。得点はあなただけに表示されます。",
           "your_attempts": "あなたの受験", "open": "開く", "unit": "単位",
           "ordering": "順位", "matching": "対応", "choose": "選択…",
           "issue_again": "証明書を発行する", "ended": "時間切れです。保存済みの解答で採点しました。",
           "back": "検定の一覧", "score": "換算得点", "other": "English"},
}


# --- guards ----------------------------------------------------------------------------


def examiner(view):
    """Like :func:`web.hub.authenticated`, and refuse everyone outside the examiners group with 403."""
    @wraps(view)
    def checked(user: dict, *args, **kwargs):
        if EXAMINERS_GROUP not in (user.get("groups") or ()):
            abort(403, "This page is for examiners. / このページは試験官専用です。")
        return view(user, *args, **kwargs)

    return authenticated(checked)


@bp.errorhandler(ExamError)
def unusable_content(exc: ExamError):
    """Answer 503 when the bank or catalog cannot be used, and log what to fix."""
    if isinstance(exc, attempts.AttemptError):
        raise exc
    current_app.logger.error("the exam bank or catalog cannot be used:\n%s", exc.format_message())
    abort(503, "The exams are being prepared and cannot be sat now; the platform's staff are told. "
               "/ 検定は準備中のため、現在は受験できません。")


def _attempt_error(exc: attempts.AttemptError):
    abort(exc.status, exc.format_message())


@bp.before_request
def close_due_attempts() -> None:
    """Submit every attempt whose time is up before any exam page is shown or changed."""
    moment = now()
    if due_count(moment):
        close_expired(moment)


# --- candidates ------------------------------------------------------------------------


@bp.get("/")
@authenticated
def index(user: dict):
    """List the exams and the candidate's own attempts."""
    lang = page_language()
    exams, _ = delivery().content()
    with Session(delivery().engine) as session:
        mine = session.scalars(select(Attempt).where(Attempt.candidate == user["name"])
                               .order_by(Attempt.id.desc())).all()
    return render_template("exams/index.html", user=user, lang=lang, text=TEXT[lang],
                           exams=sorted(exams.values(), key=lambda e: (e.level, e.id)),
                           attempts=mine, open_for=open_for_candidates)


def open_for_candidates(exam: Exam) -> bool:
    """Tell whether this service can deliver every part of *exam* (Part B needs the hub)."""
    return not has_tasks(exam) or delivery().lab is not None


@bp.post("/<exam_id>/start")
@authenticated
def start(user: dict, exam_id: str):
    """Start the candidate's attempt, or return to the active one (never a new form)."""
    exams, _ = delivery().content()
    exam = exams.get(exam_id)
    if exam is None:
        abort(404, f"There is no exam {exam_id[:64]!r}. / その検定はありません。")
    if not open_for_candidates(exam):
        abort(409, TEXT["en"]["not_open"] + " / " + TEXT["ja"]["not_open"])
    chosen = request.form.get("language", "")
    try:
        with write_session(delivery().engine) as session:
            attempt = attempts.start(session, exam, user["name"], chosen, now())
            attempt_id, placed = attempt.id, _placed(session, attempt.id)
    except attempts.AttemptError as exc:
        _attempt_error(exc)
    if has_tasks(exam) and not placed:
        place_tasks(attempt_id)
    return redirect(url_for("exams.attempt", attempt_id=attempt_id))


def _placed(session: Session, attempt_id: int) -> bool:
    return session.scalar(select(Event.id).where(Event.attempt_id == attempt_id,
                                                 Event.action == "place").limit(1)) is not None


def place_tasks(attempt_id: int) -> None:
    """Place the attempt's Part B notebooks; a failure is shown on the page, never lost silently."""
    exams, items = delivery().content()
    with Session(delivery().engine) as session:
        found = session.get(Attempt, attempt_id)
    try:
        delivery().part_b().place(found, exams[found.exam], items, now())
    except ExamError as exc:
        flash(exc.format_message())


def read_own(user: dict, attempt_id: int) -> Attempt:
    """Return the candidate's attempt as it is now (see :func:`own_attempt`)."""
    with Session(delivery().engine) as session:
        return own_attempt(session, user, attempt_id)


def own_attempt(session: Session, user: dict, attempt_id: int) -> Attempt:
    """Return the candidate's attempt; someone else's is answered as if it did not exist."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.candidate != user["name"]:
        abort(404, "There is no such attempt of yours. / その受験記録はありません。")
    return attempt


def part_a(exam: Exam, items: dict[str, Item], attempt: Attempt) -> list[dict[str, Any]]:
    """Return the Part A items of the attempt's form as the candidate sees them (no keys)."""
    return [bank.render(items[slot.item], slot.seed, attempt.language)
            for slot in forms.draw(exam, items, attempt.seed) if slot.part == "A"]


@bp.get("/attempts/<int:attempt_id>")
@authenticated
def attempt(user: dict, attempt_id: int):
    """Show the form with what the candidate saved and the time the server still gives."""
    exams, items = delivery().content()
    with Session(delivery().engine) as session:
        found = own_attempt(session, user, attempt_id)
        if found.state != ACTIVE:
            return redirect(url_for("exams.result", attempt_id=attempt_id))
        saved = {a.item: a.answer for a in session.scalars(
            select(Answer).where(Answer.attempt_id == attempt_id))}
    exam = exams[found.exam]
    lang = found.language
    remaining = max(0, int((found.deadline - now()).total_seconds()))
    return render_template("exams/attempt.html", user=user, lang=lang, text=TEXT[lang], exam=exam,
                           attempt=found, shown=part_a(exam, items, found), saved=saved,
                           remaining=remaining, tasks=task_rows(exam, items, found, saved))


def task_rows(exam: Exam, items: dict[str, Item], attempt: Attempt,
              saved: dict[str, Any]) -> list[dict[str, Any]]:
    """Return what the page shows of each Part B task: its title, where it is, when collected."""
    slots = task_slots(exam, items, attempt)
    if not slots:
        return []
    server = None
    if delivery().lab is not None:
        try:
            server = delivery().lab.server_url(attempt.candidate)
        except ExamError:
            server = None
    rows = []
    for slot in slots:
        item = items[slot.item]
        path = task_path(exam.id, attempt.id, item.id)
        first = item.prompt[attempt.language].strip().splitlines()[0]
        rows.append({"id": item.id, "title": first[:160], "path": path,
                     "url": f"{server}lab/tree/{path}" if server else None,
                     "collected": item.id in saved})
    return rows


@bp.post("/attempts/<int:attempt_id>/answers")
@authenticated
def save_answer(user: dict, attempt_id: int):
    """Save one answer (JSON ``{"item": id, "answer": value}``) as the candidate gives it."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("item"), str) or "answer" not in body:
        abort(400, 'Send JSON {"item": "<item id>", "answer": <your answer>}. / '
                   "JSON で item と answer を送ってください。")
    exams, items = delivery().content()
    moment = now()
    try:
        with write_session(delivery().engine) as session:
            found = own_attempt(session, user, attempt_id)
            attempts.save(session, attempt_id, user["name"], exams[found.exam], items,
                          body["item"], clean(body["answer"]), moment)
    except attempts.AttemptError as exc:
        _attempt_error(exc)
    return jsonify(saved=body["item"], at=moment.isoformat())


@bp.post("/attempts/<int:attempt_id>/tasks/place")
@authenticated
def place(user: dict, attempt_id: int):
    """Place the Part B notebooks (again) into the candidate's JupyterLab."""
    if read_own(user, attempt_id).state != ACTIVE:
        return redirect(url_for("exams.result", attempt_id=attempt_id))
    place_tasks(attempt_id)
    return redirect(url_for("exams.attempt", attempt_id=attempt_id))


@bp.post("/attempts/<int:attempt_id>/tasks/collect")
@authenticated
def collect(user: dict, attempt_id: int):
    """Collect the Part B answer cells now (the page does it every two minutes)."""
    exams, items = delivery().content()
    found = read_own(user, attempt_id)
    if found.state != ACTIVE:
        abort(409, "This attempt has ended. / この受験は終了しています。")
    problems = delivery().part_b().collect(found, exams[found.exam], items, now())
    if request.is_json:
        return jsonify(collected=not problems, problems=problems)
    for message in problems.values():
        flash(message)
    return redirect(url_for("exams.attempt", attempt_id=attempt_id))


def clean(answer: Any) -> Any:
    """Return *answer* with empty choices as None (a cleared answer scores nothing)."""
    if answer in ("", [], {}):
        return None
    return answer


def answers_from_form(shown: list[dict[str, Any]]) -> dict[str, Any]:
    """Read the answers the page's form sends (the same the page saves one by one)."""
    form = request.form
    found: dict[str, Any] = {}
    for item in shown:
        name = f"answer-{item['id']}"
        if item["type"] == "multiple":
            value: Any = form.getlist(name)
        elif item["type"] == "ordering":
            value = [form.get(f"{name}-{position}", "") for position in range(len(item["options"]))]
            value = value if all(value) else None
        elif item["type"] == "matching":
            value = {left["id"]: form.get(f"{name}-{left['id']}", "") for left in item["left"]}
            value = value if all(value.values()) else None
        else:
            value = form.get(name, "")
        value = clean(value)
        if value is not None:
            found[item["id"]] = value
    return found


@bp.post("/attempts/<int:attempt_id>/submit")
@authenticated
def submit(user: dict, attempt_id: int):
    """Save what the form holds (while time remains), then end the attempt and score it."""
    exams, items = delivery().content()
    moment = now()
    found = read_own(user, attempt_id)
    exam = exams[found.exam]
    if has_tasks(exam) and found.state == ACTIVE:
        delivery().part_b().collect(found, exam, items, moment)
    try:
        with write_session(delivery().engine) as session:
            found = own_attempt(session, user, attempt_id)
            if found.state == ACTIVE and moment < found.deadline:
                for item_id, answer in answers_from_form(part_a(exam, items, found)).items():
                    attempts.save(session, attempt_id, user["name"], exam, items, item_id, answer,
                                  moment)
            attempts.submit(session, attempt_id, exam, items, moment, by=user["name"])
    except attempts.AttemptError as exc:
        _attempt_error(exc)
    if has_tasks(exam):
        delivery().part_b().queue(attempt_id, exam, items, moment)
    certify(attempt_id)
    return redirect(url_for("exams.result", attempt_id=attempt_id))


@bp.get("/attempts/<int:attempt_id>/result")
@authenticated
def result(user: dict, attempt_id: int):
    """Show the score per part and per competency, and the certificate of a pass."""
    exams, _ = delivery().content()
    found = read_own(user, attempt_id)
    if found.state == ACTIVE:
        return redirect(url_for("exams.attempt", attempt_id=attempt_id))
    progress = finish_grading(found)
    with Session(delivery().engine) as session:
        found = own_attempt(session, user, attempt_id)
        issued = issued_credential(session, attempt_id)
    if issued is None and found.passed and found.state == SCORED:
        # Closed by `qcampus exam close`, or issuing failed before: issue now (once).
        issued = certify(attempt_id)
    lang = page_language() if request.args.get("lang") else found.language
    return render_template("exams/result.html", user=user, lang=lang, text=TEXT[lang],
                           exam=exams[found.exam], attempt=found, issued=issued,
                           names=competency_names(lang), progress=progress)


@bp.post("/attempts/<int:attempt_id>/certificate")
@authenticated
def certificate(user: dict, attempt_id: int):
    """Ask again for the certificate of a pass (when issuing failed the first time)."""
    read_own(user, attempt_id)
    if certify(attempt_id) is None:
        flash("The certificate could not be issued now; the examiners are told. Try again later. / "
              "証明書を発行できませんでした。しばらくしてから再度お試しください。")
    return redirect(url_for("exams.result", attempt_id=attempt_id))


def competency_names(lang: str) -> dict[str, str]:
    """Return each competency's name in *lang* (ids where the framework cannot be read)."""
    return delivery().competency_names().get(lang, {})


# --- examiners -------------------------------------------------------------------------


@bp.get("/examiners/")
@examiner
def examiners(user: dict):
    """Show active attempts live (the page reloads itself) and the latest ended ones."""
    moment = now()
    with Session(delivery().engine) as session:
        running = session.scalars(select(Attempt).where(Attempt.state == ACTIVE)
                                  .order_by(Attempt.deadline)).all()
        answered = dict(session.execute(select(Answer.attempt_id, func.count()).where(
            Answer.attempt_id.in_([a.id for a in running]), Answer.answer.is_not(None))
            .group_by(Answer.attempt_id)).all()) if running else {}
        ended = session.scalars(select(Attempt).where(Attempt.state != ACTIVE)
                                .order_by(Attempt.id.desc()).limit(PAGE_SIZE)).all()
        scored = dict(session.execute(select(Attempt.exam, func.count()).where(
            Attempt.state == SCORED).group_by(Attempt.exam)).all())
    progress = {a.id: finish_grading(a) for a in ended
                if a.state == SCORED and a.passed is None}
    exams, _ = delivery().content()
    return render_template("exams/examiners.html", user=user, running=running, ended=ended,
                           answered=answered, now=moment, exams=sorted(exams), scored=scored,
                           minimum=MIN_ANALYSED, progress=progress)


#: Scored attempts an exam needs before its analysis report means anything.
MIN_ANALYSED = 10


@bp.get("/examiners/analysis/<exam_id>")
@examiner
def analysis_report(user: dict, exam_id: str):
    """Download the quality report of an exam from its scored attempts (``qcampus exam analyze``)."""
    from exams import analysis

    exams, items = delivery().content()
    exam = exams.get(exam_id)
    if exam is None:
        abort(404, f"There is no exam {exam_id[:64]!r}.")
    with Session(delivery().engine) as session:
        rows = attempts.scored(session, exam_id)
    if len(rows) < MIN_ANALYSED:
        abort(409, f"The analysis of {exam_id} needs at least {MIN_ANALYSED} scored attempts; it "
                   f"has {len(rows)}. / 分析には採点済みの受験が {MIN_ANALYSED} 件以上必要です"
                   f"（現在 {len(rows)} 件）。")
    page = analysis.report_html(analysis.analyse(exam, items, rows))
    # Downloaded, not shown here: the report's own styles are inline, which this service's
    # Content-Security-Policy refuses (as it should for every page it serves itself).
    return current_app.response_class(page, mimetype="text/html", headers={
        "Content-Disposition": f'attachment; filename="{exam_id}-analysis.html"',
        "Cache-Control": "no-store"})


@bp.get("/examiners/attempts/<int:attempt_id>")
@examiner
def examiner_attempt(user: dict, attempt_id: int):
    """Show one attempt, its audit log, and the extend and void forms."""
    with Session(delivery().engine) as session:
        found = session.get(Attempt, attempt_id)
        if found is None:
            abort(404, f"There is no attempt {attempt_id}.")
        log = attempts.events(session, attempt_id)
    return render_template("exams/examiner_attempt.html", user=user, attempt=found, events=log,
                           now=now())


def _reason() -> str:
    reason = (request.form.get("reason") or "").strip()
    if len(reason) > 500:
        abort(400, "A reason has at most 500 characters. / 理由は 500 文字までです。")
    return reason


@bp.post("/examiners/attempts/<int:attempt_id>/extend")
@examiner
def extend(user: dict, attempt_id: int):
    """Give an active attempt more time, with the reason in the audit log."""
    try:
        minutes = int(request.form.get("minutes", ""))
    except ValueError:
        abort(400, "Give the extension in whole minutes (1–240). / "
                   "延長は分単位（1〜240）で指定してください。")
    try:
        with write_session(delivery().engine) as session:
            attempts.extend(session, attempt_id, minutes, _reason(), user["name"], now())
    except attempts.AttemptError as exc:
        _attempt_error(exc)
    flash(f"Attempt {attempt_id}: {minutes} minutes more. / {minutes} 分延長しました。")
    return redirect(url_for("exams.examiner_attempt", attempt_id=attempt_id))


@bp.post("/examiners/attempts/<int:attempt_id>/void")
@examiner
def void(user: dict, attempt_id: int):
    """Void an attempt (kept, never certified), with the reason in the audit log."""
    try:
        with write_session(delivery().engine) as session:
            attempts.void(session, attempt_id, _reason(), user["name"], now())
    except attempts.AttemptError as exc:
        _attempt_error(exc)
    flash(f"Attempt {attempt_id} is void. / 受験を無効にしました。")
    return redirect(url_for("exams.examiner_attempt", attempt_id=attempt_id))


# --- wiring ----------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Add the exam pages to the qcampus service *app* (entry point ``qcampus.web``).

    ``EXAMS_ENGINE``, ``EXAMS_BANK``, ``EXAMS_CATALOG`` and ``EXAMS_LAB`` in the app's
    configuration replace the deployment's database, the checkout's bank and catalog and
    the client of candidates' servers (tests). The sweep that ends attempts nobody looks
    at runs in the served app (``BACKGROUND_TASKS``) every ``exams.close_every_seconds``
    once it answers its first request; ``EXAMS_SWEEP_SECONDS`` replaces that (0: none).
    """
    from qcampus.settings import for_app

    settings = for_app(app.config)
    engine = app.config.get("EXAMS_ENGINE")
    if engine is None:
        from exams.db import open_engine

        engine = open_engine(settings.exams_database_url)
    lab = app.config.get("EXAMS_LAB") or Lab.from_environment(settings.hub_url)
    app.extensions["qcampus_exams"] = Delivery(
        engine=engine, bank_path=app.config.get("EXAMS_BANK"),
        catalog_path=app.config.get("EXAMS_CATALOG"),
        issue_certificates=settings["exams"]["issue_certificates"], settings=settings, lab=lab)
    app.extensions.setdefault("qcampus_staff_links", []).append(
        ("exams.examiners", "Exams / 検定"))
    app.register_blueprint(bp)
    every = app.config.get("EXAMS_SWEEP_SECONDS")
    if every is None:
        every = settings["exams"]["close_every_seconds"] if app.config["BACKGROUND_TASKS"] else 0
    if every:
        sweeper = Sweeper(app, float(every), settings.home / "exams-sweep.lock")
        app.extensions["qcampus_exam_sweeper"] = sweeper
        app.before_request(sweeper.ensure_started)
