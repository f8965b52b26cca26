"""Bringing attempts to their end on the server: the deadline, Part B's grading, the certificate.

The exam pages (:mod:`exams.web`) close due attempts before any exam page is shown,
and decide an attempt whose Part B is graded when its result is opened. Nobody has
to look, though: the :class:`Sweeper` does the same in the running service every
``exams.close_every_seconds`` (one process of the service at a time), so a result is
decided and the certificate of a pass issued within that time after the last task
is graded, or after the deadline of a candidate who walked away.

Everything here runs in the service's application context: it uses the attempts
database, the bank and catalog, Part B's machinery and the issuance hook the
service's plugins put on the app.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app
from sqlalchemy import Engine, exists, func, select
from sqlalchemy.orm import Session

from exams import attempts, bank, catalog
from exams.bank import Item
from exams.catalog import Exam
from exams.errors import ExamError
from exams.lab import Lab
from exams.models import ACTIVE, SCORED, Answer, Attempt, Event
from exams.part_b import GRACE, PartB, has_tasks
from qcampus.database import write_session


@dataclass
class Delivery:
    """What the pages use: the attempts database, the bank and catalog read once, Part B's parts."""

    engine: Engine
    bank_path: Path | None = None
    catalog_path: Path | None = None
    issue_certificates: bool = True
    settings: Any = None
    lab: Lab | None = None
    _content: tuple[dict[str, Exam], dict[str, Item]] | None = field(default=None, repr=False)
    _names: dict[str, dict[str, str]] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def part_b(self) -> PartB:
        """Return Part B's machinery, with the exchange the service's submissions plugin opened."""
        exchange = current_app.extensions.get("qcampus_exchange")
        if exchange is None:
            abort(503, "Part B needs the exchange of the qcampus service (the submissions package). "
                       "/ Part B には提出機能が必要です。")
        return PartB(self.settings, self.engine, self.lab, exchange.store, exchange.engine)

    def content(self) -> tuple[dict[str, Exam], dict[str, Item]]:
        """Return the exams and the bank's items, read on first use (errors say what to fix)."""
        with self._lock:
            if self._content is None:
                items = bank.require(self.bank_path)
                exams, found = catalog.load(self.catalog_path)
                if found:
                    raise ExamError("\n".join(found))
                self._content = exams, items
            return self._content

    def competency_names(self) -> dict[str, dict[str, str]]:
        """Return each competency's name by language, read from the framework on first use.

        Reading and validating the framework takes about 0.1 s: every result page (each
        reloads while Part B is graded) asked for it once, which at 500 candidates took
        the cores the grading workers needed. Empty if the framework cannot be read.
        """
        from qcampus.errors import QcampusError
        from qcampus.framework import load

        with self._lock:
            if self._names is None:
                try:
                    competencies = load().competencies
                except QcampusError:
                    return {}
                self._names = {lang: {cid: c.name[lang] for cid, c in competencies.items()}
                               for lang in ("en", "ja")}
            return self._names


def delivery() -> Delivery:
    return current_app.extensions["qcampus_exams"]


def now() -> datetime:
    """Return the server's clock: the only one an exam counts."""
    return datetime.now(UTC)


# --- ending attempts -------------------------------------------------------------------


def due_count(moment: datetime) -> int:
    """Return how many active attempts have their deadline at or before *moment*."""
    with Session(delivery().engine) as session:
        return session.scalar(select(func.count()).select_from(Attempt).where(
            Attempt.state == ACTIVE, Attempt.deadline <= moment))


def close_expired(moment: datetime) -> list[int]:
    """Submit and score the attempts whose deadline has passed; issue for those that passed.

    Part B notebooks are collected once more first (counted within the grace period
    after the deadline), then queued for grading.
    """
    exams, items = delivery().content()
    with Session(delivery().engine) as session:
        due = session.scalars(select(Attempt).where(Attempt.state == ACTIVE,
                                                    Attempt.deadline <= moment)).all()
    for attempt in due:
        if has_tasks(exams[attempt.exam]) and moment <= attempt.deadline + GRACE:
            delivery().part_b().collect(attempt, exams[attempt.exam], items, moment)
    with write_session(delivery().engine) as session:
        closed = attempts.close_expired(session, exams, items, moment)
    with Session(delivery().engine) as session:
        closed_exams = dict(session.execute(select(Attempt.id, Attempt.exam)
                                            .where(Attempt.id.in_(closed))).all()) if closed else {}
    for attempt_id in closed:
        if has_tasks(exams[closed_exams[attempt_id]]):
            delivery().part_b().queue(attempt_id, exams[closed_exams[attempt_id]], items, moment)
        certify(attempt_id)
    return closed


def awaits_part_b(attempt: Attempt) -> bool:
    """Tell whether *attempt* is scored and waits for its Part B to be graded."""
    return attempt.state == SCORED and "B" in (attempt.result or {}).get("pending_parts", [])


def decide(attempt: Attempt) -> bool:
    """Decide a scored attempt whose Part B tasks are graded; return whether it is decided now.

    A pass is certified.
    """
    if not awaits_part_b(attempt):
        return False
    exams, items = delivery().content()
    if not delivery().part_b().finish(attempt.id, exams[attempt.exam], items, now()):
        return False
    certify(attempt.id)
    return True


def finish_grading(attempt: Attempt) -> dict[str, dict[str, Any]]:
    """Decide a scored attempt whose Part B was being graded, if it is; return the tasks' progress."""
    if not awaits_part_b(attempt):
        return {}
    decide(attempt)
    return delivery().part_b().progress(attempt.id)


# --- certificates ----------------------------------------------------------------------


def evidence_of(attempt: Attempt, answers: dict[str, Any], env: dict[str, str]) -> tuple[str, str]:
    """Return the credential's evidence for *attempt*: the digest of its record and a name.

    The digest covers the exam, the form's seed, the saved answers, the result and the
    environment, so an examiner can prove the record in the database is the one certified.
    """
    record = {"exam": attempt.exam, "attempt": attempt.id, "form_seed": attempt.seed,
              "answers": answers, "result": attempt.result, "environment": env}
    digest = hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False,
                                       separators=(",", ":")).encode()).hexdigest()
    versions = ", ".join(f"{k} {v}" for k, v in sorted(env.items()))
    return digest, (f"Exam {attempt.exam}, attempt {attempt.id}, form {attempt.seed}, "
                    f"scored with {versions}")


def issued_credential(session: Session, attempt_id: int) -> dict[str, Any] | None:
    """Return the credential recorded for the attempt, if one was issued."""
    event = session.scalar(select(Event).where(Event.attempt_id == attempt_id,
                                               Event.action == "issue").order_by(Event.id.desc()))
    return dict(event.detail) if event else None


def certify(attempt_id: int) -> dict[str, Any] | None:
    """Issue the achievement of a passed attempt (once); return the credential, or None.

    Nothing is issued for an attempt that did not pass, is voided, or when the
    deployment issues by hand (``exams.issue_certificates: false``). The attempt's
    row stays locked while the issuer works, so concurrent submits ask it once; the
    exam result as the credential's source makes a repeat return the same credential.
    """
    service = delivery()
    issue = current_app.extensions.get("qcampus_issue")
    exams, _ = service.content()
    with write_session(service.engine) as session:
        found = session.scalar(select(Attempt).where(Attempt.id == attempt_id).with_for_update())
        if found is None or found.state != SCORED or not found.passed:
            return None
        recorded = issued_credential(session, attempt_id)
        if recorded is not None or not service.issue_certificates or issue is None:
            return recorded
        answers = {a.item: a.answer for a in session.scalars(
            select(Answer).where(Answer.attempt_id == attempt_id).order_by(Answer.item))}
        # The environment of the scoring, as the score event recorded it.
        score_event = session.scalar(select(Event).where(Event.attempt_id == attempt_id,
                                                         Event.action == "score"))
        env = (score_event.detail or {}).get("environment") or attempts.environment()
        exam = exams[found.exam]
        try:
            issued = issue(learner=found.candidate, achievement_id=exam.achievement,
                           source=f"exam:{found.exam}:{found.id}", actor="qcampus-exams",
                           reason=f"passed {found.exam} with {found.scaled}/{exam.scoring['scale']}",
                           evidence=(evidence_of(found, answers, env),), consent_evidence=True,
                           result=f"{found.scaled}/{exam.scoring['scale']}")
        except Exception as exc:  # noqa: BLE001 - the issuer's errors are its package's own
            current_app.logger.error("issuing the certificate of exam attempt %s failed: %s",
                                     attempt_id, exc)
            session.add(Event(attempt_id=attempt_id, at=now(), actor="qcampus",
                              action="issue-failed", detail={"reason": str(exc)[:500]}))
            return None
        detail = {"credential_id": issued["credential_id"], "verify_url": issued["verify_url"]}
        session.add(Event(attempt_id=attempt_id, at=now(), actor="qcampus", action="issue",
                          detail=detail))
        return detail


# --- the sweep -------------------------------------------------------------------------


#: Attempts a sweep certifies at most (passes whose issuing failed before are retried).
SWEEP_BATCH = 100


@dataclass
class Swept:
    """What one sweep did, by attempt id."""

    closed: list[int] = field(default_factory=list)
    decided: list[int] = field(default_factory=list)
    certified: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.closed or self.decided or self.certified)


def sweep(moment: datetime) -> Swept:
    """Close due attempts, decide those whose Part B is graded, issue passes not yet issued.

    What a page would do for one attempt when someone opens it, for every attempt,
    so that nobody has to. Each step is idempotent: a page doing the same at the
    same moment gives one score and one credential.
    """
    swept = Swept()
    if due_count(moment):
        swept.closed = close_expired(moment)
    engine = delivery().engine
    with Session(engine) as session:
        pending = session.scalars(select(Attempt).where(Attempt.state == SCORED,
                                                        Attempt.passed.is_(None))).all()
    exams, items = delivery().content()
    for attempt in filter(awaits_part_b, pending):
        # Queued once; an attempt closed by `qcampus exam close` may not be yet.
        delivery().part_b().queue(attempt.id, exams[attempt.exam], items, moment)
        if decide(attempt):
            swept.decided.append(attempt.id)
    if delivery().issue_certificates and current_app.extensions.get("qcampus_issue"):
        issued = exists().where(Event.attempt_id == Attempt.id, Event.action == "issue")
        with Session(engine) as session:
            unissued = session.scalars(select(Attempt.id).where(
                Attempt.state == SCORED, Attempt.passed.is_(True), ~issued)
                .order_by(Attempt.id).limit(SWEEP_BATCH)).all()
        swept.certified = [attempt_id for attempt_id in unissued if certify(attempt_id)]
    return swept


class Sweeper:
    """Runs :func:`sweep` every *every* seconds in a daemon thread of the service.

    Each of the service's processes has one; a lock file lets one of them sweep at a
    time, and the others skip that round. It starts with the process's first request
    (:meth:`ensure_started`): gunicorn's workers import the app before they fork their
    own threads, and a process that never serves never sweeps.
    """

    def __init__(self, app: Flask, every: float, lock_path: Path):
        self.app, self.every, self.lock_path = app, every, lock_path
        self.thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._stop = threading.Event()

    def ensure_started(self) -> None:
        with self._guard:
            if self.thread is not None:
                return
            self.thread = threading.Thread(target=self._run, name="qcampus-exam-sweep",
                                           daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.once()
            except Exception:  # noqa: BLE001 - the next round tries again; the log says why
                self.app.logger.exception("the exam sweep failed; it runs again in %s s", self.every)

    def once(self) -> Swept | None:
        """Sweep now unless another process is sweeping; return what was done (None: skipped)."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            with self.app.app_context():
                swept = sweep(now())
            if swept:
                self.app.logger.info("exam sweep: closed %s, decided %s, certified %s",
                                     swept.closed, swept.decided, swept.certified)
            return swept
        finally:
            os.close(fd)
