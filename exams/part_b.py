"""Part B of an attempt: place the tasks, collect the answers, have them graded, finish the result.

1. **Place**: the tasks the form draws are prepared (:func:`exams.tasks.prepare`)
   and written into the candidate's running JupyterLab (:mod:`exams.lab`) as
   ``qcampus-exams/<exam>-<attempt>/<item>.ipynb``, the item's stub to edit.
2. **Collect**: the answer cell of each notebook is read back and saved
   (:func:`exams.attempts.save_task`), while the attempt runs and once more when it
   ends; a collection after the deadline counts only within :data:`GRACE`.
3. **Grade**: when the attempt is submitted, each task's last collected answer (the
   stub if none was) is submitted to the exchange as the candidate's submission of
   the task's assignment in the ``exam-tasks`` course and queued for the grading
   service, which grades it by verdict in the sandbox (tamper-resistant mode).
4. **Finish**: once every task's newest grading job has graded, the tasks' points
   become Part B (:func:`exams.attempts.complete`) and the attempt is decided.

Every step is an event in the attempt's audit log; nothing here runs candidate code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from exams import attempts, forms, tasks
from exams.bank import Item
from exams.catalog import Exam
from exams.errors import ExamError
from exams.lab import Lab, LabError, task_path
from exams.models import SCORED, Answer, Attempt, Event
from qcampus.database import write_session
from qcampus.settings import Settings

#: How long after the deadline the collection at the deadline may take.
GRACE = timedelta(seconds=60)


def task_slots(exam: Exam, items: dict[str, Item], attempt: Attempt) -> list[forms.Slot]:
    """Return the Part B slots of the attempt's form."""
    return [slot for slot in forms.draw(exam, items, attempt.seed) if slot.part == "B"]


def has_tasks(exam: Exam) -> bool:
    return any(part.kind == "tasks" for part in exam.parts)


@dataclass
class PartB:
    """What Part B needs: the deployment, the exams database, the lab client and the exchange."""

    settings: Settings
    engine: Engine
    lab: Lab | None
    store: Any
    submissions_engine: Engine

    def _lab(self) -> Lab:
        if self.lab is None:
            raise LabError("The exam service runs without JupyterHub, so it cannot reach your "
                           "JupyterLab. / ハブなしで動作しているため、JupyterLab に接続できません。")
        return self.lab

    def _event(self, attempt_id: int, action: str, now: datetime, **detail: Any) -> None:
        with write_session(self.engine) as session:
            attempts.record(session, attempt_id, "qcampus", action, now, **detail)

    def place(self, attempt: Attempt, exam: Exam, items: dict[str, Item], now: datetime) -> list[str]:
        """Prepare the attempt's tasks and write them into the candidate's JupyterLab; return paths.

        Raises:
            ExamError: a task cannot be prepared, or the candidate's server cannot be reached
                (recorded as ``place-failed`` with the reason).
        """
        slots = task_slots(exam, items, attempt)
        try:
            tasks.prepare(self.settings, [items[slot.item] for slot in slots])
            paths = []
            for slot in slots:
                item = items[slot.item]
                path = task_path(exam.id, attempt.id, item.id)
                notebook = tasks.placed_notebook(tasks.released_notebook(self.settings, item),
                                                 item, attempt.language)
                self._lab().put_notebook(attempt.candidate, path, notebook)
                paths.append(path)
        except ExamError as exc:
            self._event(attempt.id, "place-failed", now, reason=exc.format_message()[:500])
            raise
        self._event(attempt.id, "place", now, paths=paths)
        return paths

    def collect(self, attempt: Attempt, exam: Exam, items: dict[str, Item],
                now: datetime) -> dict[str, str]:
        """Save each task's answer cell from the candidate's JupyterLab; return problems by task."""
        problems = {}
        for slot in task_slots(exam, items, attempt):
            try:
                notebook = self._lab().get_notebook(attempt.candidate,
                                                    task_path(exam.id, attempt.id, slot.item))
                code = tasks.answer_code(notebook)
                with write_session(self.engine) as session:
                    attempts.save_task(session, attempt.id, exam, items, slot.item, code, now,
                                       grace=GRACE)
            except ExamError as exc:
                problems[slot.item] = exc.format_message()
        if problems:
            self._event(attempt.id, "collect-failed", now,
                        problems={k: v[:300] for k, v in problems.items()})
        return problems

    def queue(self, attempt_id: int, exam: Exam, items: dict[str, Item], now: datetime) -> list[int]:
        """Submit each task's last collected answer for grading (once per attempt); return submissions."""
        from submissions.grading import queue

        with Session(self.engine) as session:
            attempt = session.get(Attempt, attempt_id)
            if attempt.state != SCORED or self.queued(session, attempt_id) is not None:
                return []
            saved = {a.item: a.answer for a in session.scalars(
                select(Answer).where(Answer.attempt_id == attempt_id))}
            slots = task_slots(exam, items, attempt)
        submitted, jobs = {}, []
        tasks.prepare(self.settings, [items[slot.item] for slot in slots])
        with write_session(self.submissions_engine) as session:
            for slot in slots:
                item = items[slot.item]
                code = (saved.get(item.id) or {}).get("code", item.code["stub"])
                released = tasks.released_notebook(self.settings, item)
                notebook = tasks.submission_notebook(released, code)
                submission = self.store.submit(session, tasks.COURSE, item.id, attempt.candidate,
                                               {tasks.notebook_name(item): notebook})
                jobs.append(queue.enqueue(session, submission).id)
                submitted[item.id] = submission.id
        queue.dispatch_after_commit(self.settings, jobs)
        self._event(attempt_id, "grade-queued", now, submissions=submitted)
        return list(submitted.values())

    @staticmethod
    def queued(session: Session, attempt_id: int) -> dict[str, int] | None:
        """Return the submissions queued for the attempt's tasks, by task, or None."""
        event = session.scalar(select(Event).where(Event.attempt_id == attempt_id,
                                                   Event.action == "grade-queued"))
        return dict(event.detail["submissions"]) if event else None

    def progress(self, attempt_id: int) -> dict[str, dict[str, Any]]:
        """Return each task's newest grading job: state, score, maximum, reason."""
        from submissions.grading.models import GradingJob

        with Session(self.engine) as session:
            submitted = self.queued(session, attempt_id) or {}
        found = {}
        with Session(self.submissions_engine) as session:
            for item_id, submission_id in submitted.items():
                job = session.scalar(select(GradingJob)
                                     .where(GradingJob.submission_id == submission_id)
                                     .order_by(GradingJob.generation.desc()).limit(1))
                found[item_id] = ({"state": job.state, "score": job.score, "maximum": job.max_score,
                                   "reason": job.reason} if job else {"state": "missing"})
        return found

    def finish(self, attempt_id: int, exam: Exam, items: dict[str, Item], now: datetime) -> bool:
        """Decide the attempt once every task is graded; return whether it is decided now."""
        from submissions.grading.models import GRADED, TIMED_OUT

        jobs = self.progress(attempt_id)
        if not jobs or any(job["state"] not in (GRADED, TIMED_OUT) for job in jobs.values()):
            return False
        # A task that ran out of time keeps what its cells scored before (nbgrader's rows).
        scores = {item: (float(job["score"] or 0.0),
                         float(job["maximum"] if job["maximum"] is not None else items[item].points))
                  for item, job in jobs.items()}
        with write_session(self.engine) as session:
            attempt = attempts.complete(session, attempt_id, exam, items, scores, now)
        return attempt.passed is not None
