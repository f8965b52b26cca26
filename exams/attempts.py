"""Sitting an exam: start, save answers, submit, the server's deadline, examiners' actions.

Every function takes the server's clock (*now*) and runs in one write
transaction (:func:`qcampus.database.write_session`), locking the attempt's row
on PostgreSQL, so a second tab, a double click or twenty submits at once give
one attempt and one score. A candidate has at most one active attempt per exam
(a unique index says so too); starting again returns it with the same form.
The deadline is the server's: an answer saved after it is refused, and
:func:`close_expired` submits every attempt whose time is up with what was
saved. Everything done to an attempt is an :class:`~exams.models.Event`.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exams import forms, scoring
from exams.bank import Item
from exams.catalog import Exam
from exams.errors import ExamError
from exams.models import ACTIVE, SCORED, VOIDED, Answer, Attempt, Event

LANGUAGES = ("en", "ja")
#: Largest answer (as JSON text) a candidate may save to one item.
MAX_ANSWER_CHARS = 2000


class AttemptError(ExamError):
    """An attempt cannot do what was asked; ``status`` is the HTTP status the service answers."""

    exit_code = 32

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def _event(session: Session, attempt: Attempt, actor: str, action: str, now: datetime,
           **detail: Any) -> None:
    session.add(Event(attempt_id=attempt.id, at=now, actor=actor, action=action, detail=detail))


def _locked(session: Session, attempt_id: int) -> Attempt:
    """Return the attempt, its row locked until the transaction ends (PostgreSQL)."""
    # populate_existing: an attempt this session read before the lock is read again under it.
    attempt = session.scalar(select(Attempt).where(Attempt.id == attempt_id).with_for_update()
                             .execution_options(populate_existing=True))
    if attempt is None:
        raise AttemptError(f"There is no attempt {attempt_id}.", 404)
    return attempt


def active(session: Session, exam: str, candidate: str) -> Attempt | None:
    """Return *candidate*'s active attempt at *exam*, if any."""
    return session.scalar(select(Attempt).where(Attempt.exam == exam,
                                                Attempt.candidate == candidate,
                                                Attempt.state == ACTIVE))


def start(session: Session, exam: Exam, candidate: str, language: str, now: datetime) -> Attempt:
    """Start *candidate*'s attempt at *exam*, or return the active one unchanged.

    A new attempt draws its form's seed here, once; its deadline is *now* plus the
    time of every part. The retake policy is the exam's (``retake`` in the catalog).
    """
    if language not in LANGUAGES:
        raise AttemptError(f"Language {language!r} is not offered; choose en or ja.", 400)
    running = active(session, exam.id, candidate)
    if running is not None:
        return running
    _check_retake(session, exam, candidate, now)
    attempt = Attempt(exam=exam.id, candidate=candidate, language=language,
                      seed=secrets.randbits(31), state=ACTIVE, started_at=now,
                      deadline=now + timedelta(minutes=exam.minutes), submitted_by="",
                      result={}, void_reason="")
    try:
        with session.begin_nested():
            session.add(attempt)
    except IntegrityError:
        # Another request started one at the same moment (PostgreSQL): theirs is the attempt.
        running = active(session, exam.id, candidate)
        if running is None:
            raise
        return running
    _event(session, attempt, candidate, "start", now, seed=attempt.seed, language=language,
           deadline=attempt.deadline.isoformat())
    return attempt


def _check_retake(session: Session, exam: Exam, candidate: str, now: datetime) -> None:
    earlier = session.scalars(select(Attempt).where(
        Attempt.exam == exam.id, Attempt.candidate == candidate, Attempt.state != VOIDED)).all()
    if any(a.passed for a in earlier):
        raise AttemptError(f"You have passed {exam.id} already; its certificate is yours.")
    year = [a for a in earlier if a.started_at > now - timedelta(days=365)]
    if len(year) >= exam.retake["per_year"]:
        raise AttemptError(f"{exam.id} may be sat {exam.retake['per_year']} times in 365 days; "
                           f"your next attempt is possible from "
                           f"{(min(a.started_at for a in year) + timedelta(days=365)):%Y-%m-%d}.")
    ended = [a.submitted_at for a in earlier if a.submitted_at is not None]
    if ended:
        wait = max(ended) + timedelta(days=exam.retake["wait_days"])
        if now < wait:
            raise AttemptError(f"{exam.id} may be sat again from {wait:%Y-%m-%d %H:%M} UTC "
                               f"({exam.retake['wait_days']} days after your last attempt).")


def save(session: Session, attempt_id: int, candidate: str, exam: Exam, items: dict[str, Item],
         item_id: str, answer: Any, now: datetime) -> None:
    """Save *candidate*'s answer to one item of their form (the last save counts)."""
    attempt = _locked(session, attempt_id)
    if attempt.candidate != candidate:
        raise AttemptError(f"There is no attempt {attempt_id}.", 404)  # never say whose it is
    if attempt.state != ACTIVE:
        raise AttemptError("This attempt has ended; answers can no longer change.")
    if now >= attempt.deadline:
        raise AttemptError("The time is up; answers saved before the deadline are scored.")
    on_form = {s.item for s in forms.draw(exam, items, attempt.seed) if s.part == "A"}
    if item_id not in on_form:
        raise AttemptError(f"Item {item_id!r} is not on your form.", 400)
    if len(json.dumps(answer)) > MAX_ANSWER_CHARS:
        raise AttemptError(f"An answer has at most {MAX_ANSWER_CHARS} characters.", 413)
    saved = session.scalar(select(Answer).where(Answer.attempt_id == attempt.id,
                                                Answer.item == item_id))
    if saved is None:
        session.add(Answer(attempt_id=attempt.id, item=item_id, answer=answer, saved_at=now))
    else:
        saved.answer, saved.saved_at = answer, now
    _event(session, attempt, candidate, "save", now, item=item_id)


def submit(session: Session, attempt_id: int, exam: Exam, items: dict[str, Item], now: datetime,
           *, by: str) -> Attempt:
    """End the attempt and score what was saved; an ended attempt is returned as it is.

    *by* is the candidate's name, or ``deadline`` when the time ran out.
    """
    attempt = _locked(session, attempt_id)
    if attempt.state != ACTIVE:
        return attempt
    answers = {a.item: a.answer for a in session.scalars(
        select(Answer).where(Answer.attempt_id == attempt.id))}
    attempt.result = score(exam, items, attempt.seed, answers)
    attempt.scaled = attempt.result["scaled"]
    attempt.passed = attempt.result["passed"]
    attempt.state, attempt.submitted_at = SCORED, min(now, attempt.deadline)
    attempt.submitted_by = "deadline" if by == "deadline" else "candidate"
    _event(session, attempt, by, "submit", now, answered=len(answers))
    _event(session, attempt, "qcampus", "score", now, scaled=attempt.scaled,
           passed=attempt.passed, environment=environment())
    return attempt


#: Libraries whose versions an attempt's score records (and a certificate shows as evidence).
ENVIRONMENT = ("qcampus", "qiskit", "qiskit-aer", "dimod", "dwave-samplers")


def environment() -> dict[str, str]:
    """Return the versions of the installed libraries that draw forms and score them."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ENVIRONMENT:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def score(exam: Exam, items: dict[str, Item], seed: int, answers: dict[str, Any]) -> dict:
    """Return the result of Part A for a form and its answers: scaled score, per competency."""
    slots = [s for s in forms.draw(exam, items, seed) if s.part == "A"]
    points = maximum = 0.0
    by_competency: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for slot in slots:
        item = items[slot.item]
        earned = scoring.points(item, slot.seed, answers.get(slot.item))
        points += earned
        maximum += item.points
        by_competency[item.competency][0] += earned
        by_competency[item.competency][1] += item.points
    parts = {"A": _part(exam, points, maximum)}
    pending = [p.id for p in exam.parts if p.kind == "tasks"]
    result = {"parts": parts, "pending_parts": pending,
              "competencies": {c: {"points": v[0], "maximum": v[1]}
                               for c, v in sorted(by_competency.items())}}
    return _overall(exam, result)


def _part(exam: Exam, points: float, maximum: float) -> dict[str, float]:
    scaled = int(exam.scoring["scale"] * points // maximum) if maximum else 0
    return {"points": points, "maximum": maximum, "scaled": scaled}


def _overall(exam: Exam, result: dict[str, Any]) -> dict[str, Any]:
    """Set the result's scaled score and pass: parts weighted by their time, each at its minimum.

    While a part is still being graded the overall score is Part A's and the pass is
    undecided (None).
    """
    rule, parts = exam.scoring, result["parts"]
    minutes = {part.id: part.minutes for part in exam.parts}
    weight = sum(minutes[p] for p in parts)
    result["scaled"] = int(round(sum(minutes[p] * v["scaled"] for p, v in parts.items()) / weight))
    result["passed"] = None if result["pending_parts"] else bool(
        result["scaled"] >= rule["cut_score"]
        and all(v["scaled"] >= rule["part_minimum"] for v in parts.values()))
    return result


def complete(session: Session, attempt_id: int, exam: Exam, items: dict[str, Item],
             tasks: dict[str, tuple[float, float]], now: datetime) -> Attempt:
    """Add Part B's graded tasks (item id: (points, maximum)) to a scored attempt and decide it.

    Each task's points count toward its competency too. An attempt already decided,
    or voided meanwhile, is returned unchanged.
    """
    attempt = _locked(session, attempt_id)
    if attempt.state != SCORED or "B" not in attempt.result.get("pending_parts", []):
        return attempt
    result = json.loads(json.dumps(attempt.result))
    points = sum(score for score, _ in tasks.values())
    maximum = sum(top for _, top in tasks.values())
    result["parts"]["B"] = _part(exam, points, maximum)
    result["pending_parts"] = [p for p in result["pending_parts"] if p != "B"]
    for item_id, (score, top) in sorted(tasks.items()):
        entry = result["competencies"].setdefault(items[item_id].competency,
                                                  {"points": 0.0, "maximum": 0.0})
        entry["points"] += score
        entry["maximum"] += top
    result["tasks"] = {item_id: {"points": s, "maximum": t} for item_id, (s, t) in tasks.items()}
    attempt.result = _overall(exam, result)
    attempt.scaled, attempt.passed = attempt.result["scaled"], attempt.result["passed"]
    _event(session, attempt, "qcampus", "grade", now, part="B", tasks=result["tasks"],
           scaled=attempt.scaled, passed=attempt.passed, environment=environment())
    return attempt


def save_task(session: Session, attempt_id: int, exam: Exam, items: dict[str, Item], item_id: str,
              code: str, now: datetime, *, grace: timedelta = timedelta(0)) -> None:
    """Save the answer cell collected from a Part B notebook (the last collection counts).

    A collection after the deadline counts only within *grace* (the time the collection
    at the deadline itself takes); later, the candidate could have written after time.
    """
    attempt = _locked(session, attempt_id)
    if attempt.state == VOIDED:
        raise AttemptError("This attempt was voided; nothing is collected.")
    if now > attempt.deadline + grace:
        raise AttemptError("The time is up; the task notebooks collected before it are graded.")
    on_form = {s.item for s in forms.draw(exam, items, attempt.seed) if s.part == "B"}
    if item_id not in on_form:
        raise AttemptError(f"Task {item_id!r} is not on your form.", 400)
    saved = session.scalar(select(Answer).where(Answer.attempt_id == attempt.id,
                                                Answer.item == item_id))
    if saved is None:
        session.add(Answer(attempt_id=attempt.id, item=item_id, answer={"code": code}, saved_at=now))
    elif saved.answer != {"code": code}:
        saved.answer, saved.saved_at = {"code": code}, now
    _event(session, attempt, "qcampus", "collect", now, item=item_id, characters=len(code))


def record(session: Session, attempt_id: int, actor: str, action: str, now: datetime,
           **detail: Any) -> None:
    """Add an event to an attempt's audit log (placing tasks, queueing them for grading, ...)."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        raise AttemptError(f"There is no attempt {attempt_id}.", 404)
    _event(session, attempt, actor, action, now, **detail)


def close_expired(session: Session, exams: dict[str, Exam], items: dict[str, Item],
                  now: datetime) -> list[int]:
    """Submit every active attempt whose deadline has passed; return their ids."""
    due = session.scalars(select(Attempt.id).where(Attempt.state == ACTIVE,
                                                   Attempt.deadline <= now)).all()
    for attempt_id in due:
        attempt = session.get(Attempt, attempt_id)
        submit(session, attempt_id, exams[attempt.exam], items, now, by="deadline")
    return list(due)


def extend(session: Session, attempt_id: int, minutes: int, reason: str, examiner: str,
           now: datetime) -> Attempt:
    """Give an active attempt *minutes* more, with the examiner's reason in the audit log."""
    if not reason.strip():
        raise AttemptError("Say why the time is extended; the reason is kept in the audit log.",
                           400)
    if not 0 < minutes <= 240:
        raise AttemptError("Extend by 1 to 240 minutes.", 400)
    attempt = _locked(session, attempt_id)
    if attempt.state != ACTIVE:
        raise AttemptError("Only an active attempt can be extended.")
    attempt.deadline += timedelta(minutes=minutes)
    _event(session, attempt, examiner, "extend", now, minutes=minutes, reason=reason,
           deadline=attempt.deadline.isoformat())
    return attempt


def void(session: Session, attempt_id: int, reason: str, examiner: str,
         now: datetime) -> Attempt:
    """Void an attempt (kept, never scored or certified), with the examiner's reason."""
    if not reason.strip():
        raise AttemptError("Say why the attempt is voided; the reason is kept in the audit log.",
                           400)
    attempt = _locked(session, attempt_id)
    if attempt.state == VOIDED:
        return attempt
    attempt.state, attempt.void_reason, attempt.passed = VOIDED, reason, None
    _event(session, attempt, examiner, "void", now, reason=reason)
    return attempt


def scored(session: Session, exam: str) -> list[dict[str, Any]]:
    """Return *exam*'s scored attempts as :func:`exams.analysis.read_attempts` reads them.

    Voided attempts are left out; the candidate is the hub name (the report shows no names).
    """
    rows = session.scalars(select(Attempt).where(Attempt.exam == exam, Attempt.state == SCORED)
                           .order_by(Attempt.id)).all()
    answers: dict[int, dict[str, Any]] = defaultdict(dict)
    if rows:
        for answer in session.scalars(select(Answer).where(
                Answer.attempt_id.in_([row.id for row in rows]))):
            if answer.answer is not None:
                answers[answer.attempt_id][answer.item] = answer.answer
    return [{"candidate": row.candidate, "language": row.language, "seed": row.seed,
             "answers": answers[row.id]} for row in rows]


def events(session: Session, attempt_id: int) -> list[Event]:
    """Return the audit log of an attempt, oldest first."""
    return list(session.scalars(select(Event).where(Event.attempt_id == attempt_id)
                                .order_by(Event.id)))
