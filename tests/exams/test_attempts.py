"""Sitting an exam on both databases: one attempt, the server's deadline, one score, an audit log."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exams import attempts, bank, catalog, forms
from exams.attempts import AttemptError
from exams.db import open_engine
from exams.models import SCORED, VOIDED, Attempt, Event
from qcampus import framework
from qcampus.database import write_session
from tests.databases import postgres_schema
from tests.exams.conftest import COURSES, exam_data, write_exam

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = open_engine(f"sqlite:///{tmp_path / 'exams.sqlite'}")
        yield engine
        engine.dispose()
        return
    with postgres_schema("e") as url:
        engine = open_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def sitting(small_bank, tmp_path):
    """Return an exam of 2 items (one single, one numeric) and its bank."""
    data = exam_data()
    data["parts"][0]["blueprint"][0]["items"] = 2
    write_exam(tmp_path / "catalog", data)
    exam = catalog.load(tmp_path / "catalog")[0]["t-exam"]
    items, found = bank.load(small_bank, framework.load(COURSES / "framework.yaml"))
    assert found == []
    return exam, items


def _start(engine, exam, who="ada", now=NOW, language="en"):
    with write_session(engine) as session:
        return attempts.start(session, exam, who, language, now)


def _right_answers(exam, items, attempt):
    return {s.item: (bank.key_for(items[s.item], s.seed)["value"]
                     if items[s.item].type == "numeric" else bank.key_for(items[s.item], s.seed))
            for s in forms.draw(exam, items, attempt.seed)}


def _save_all(engine, exam, items, attempt, answers, now=NOW):
    for item_id, answer in answers.items():
        with write_session(engine) as session:
            attempts.save(session, attempt.id, attempt.candidate, exam, items, item_id, answer, now)


def test_starting_again_returns_the_same_attempt_and_form(engine, sitting):
    exam, items = sitting
    first = _start(engine, exam)
    again = _start(engine, exam, now=NOW + timedelta(minutes=3), language="ja")
    assert (again.id, again.seed, again.language) == (first.id, first.seed, "en")
    assert first.deadline == NOW + timedelta(minutes=exam.minutes)
    with pytest.raises(AttemptError, match="not offered"):
        _start(engine, exam, who="bob", language="fr")


def test_right_answers_pass_wrong_ones_fail_and_a_second_submit_changes_nothing(engine, sitting):
    exam, items = sitting
    ada, bob = _start(engine, exam, "ada"), _start(engine, exam, "bob")
    _save_all(engine, exam, items, ada, _right_answers(exam, items, ada))
    _save_all(engine, exam, items, bob, {i: "z" for i in _right_answers(exam, items, bob)})
    for attempt, scaled, passed in ((ada, 1000, True), (bob, 0, False)):
        with write_session(engine) as session:
            done = attempts.submit(session, attempt.id, exam, items, NOW + timedelta(minutes=2),
                                   by=attempt.candidate)
        assert (done.state, done.scaled, done.passed) == (SCORED, scaled, passed)
        assert done.result["competencies"]["concepts.qubits"]["maximum"] == 2
    with write_session(engine) as session:
        again = attempts.submit(session, ada.id, exam, items, NOW + timedelta(minutes=5), by="ada")
        assert again.submitted_at == NOW + timedelta(minutes=2)
        assert [e.action for e in attempts.events(session, ada.id)] == [
            "start", "save", "save", "submit", "score"]


@pytest.mark.parametrize(("who", "item", "when", "status", "message"), [
    ("ada", "not-on-form", 1, 400, "not on your form"),
    ("mallory", None, 1, 404, "There is no attempt"),
    ("ada", None, 11, 409, "The time is up"),
])
def test_saves_that_must_not_count_are_refused_and_change_nothing(engine, sitting, who, item, when,
                                                                   status, message):
    exam, items = sitting
    ada = _start(engine, exam)
    on_form = forms.draw(exam, items, ada.seed)[0].item
    with pytest.raises(AttemptError, match=message) as refused, write_session(engine) as session:
        attempts.save(session, ada.id, who, exam, items, item or on_form, "b",
                      NOW + timedelta(minutes=when))
    assert refused.value.status == status
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Event)
                              .where(Event.action == "save")) == 0


def test_an_oversized_answer_is_refused(engine, sitting):
    exam, items = sitting
    ada = _start(engine, exam)
    on_form = forms.draw(exam, items, ada.seed)[0].item
    with pytest.raises(AttemptError, match="at most") as refused, write_session(engine) as session:
        attempts.save(session, ada.id, "ada", exam, items, on_form, "x" * 5000, NOW)
    assert refused.value.status == 413


def test_the_deadline_submits_what_was_saved_and_locks_the_answers(engine, sitting):
    exam, items = sitting
    ada = _start(engine, exam)
    right = _right_answers(exam, items, ada)
    first = sorted(right)[0]
    _save_all(engine, exam, items, ada, {first: right[first]})
    later = NOW + timedelta(minutes=exam.minutes, seconds=1)
    with write_session(engine) as session:
        assert attempts.close_expired(session, {exam.id: exam}, items, later) == [ada.id]
    with Session(engine) as session:
        done = session.get(Attempt, ada.id)
        assert (done.state, done.submitted_by, done.scaled) == (SCORED, "deadline", 500)
        assert done.submitted_at == ada.deadline
    with pytest.raises(AttemptError, match="has ended"), write_session(engine) as session:
        attempts.save(session, ada.id, "ada", exam, items, first, right[first], NOW)


def test_twenty_simultaneous_submits_and_starts_make_one_attempt_and_one_score(engine, sitting):
    exam, items = sitting
    ada = _start(engine, exam)
    _save_all(engine, exam, items, ada, _right_answers(exam, items, ada))
    barrier, errors = threading.Barrier(20), []

    def submit_and_start() -> None:
        try:
            barrier.wait()
            with write_session(engine) as session:
                attempts.submit(session, ada.id, exam, items, NOW + timedelta(minutes=1), by="ada")
            barrier.wait()
            with write_session(engine) as session:
                attempts.start(session, exam, "bob", "ja", NOW)
        except Exception as exc:  # noqa: BLE001 - collected and shown
            errors.append(exc)

    threads = [threading.Thread(target=submit_and_start) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Session(engine) as session:
        actions = [e.action for e in attempts.events(session, ada.id)]
        assert actions.count("submit") == 1 and actions.count("score") == 1
        assert session.scalar(select(func.count()).select_from(Attempt)
                              .where(Attempt.candidate == "bob")) == 1


def test_examiners_extend_and_void_with_a_reason_in_the_audit_log(engine, sitting):
    exam, items = sitting
    ada = _start(engine, exam)
    with pytest.raises(AttemptError, match="Say why"), write_session(engine) as session:
        attempts.extend(session, ada.id, 10, " ", "eve", NOW)
    with write_session(engine) as session:
        longer = attempts.extend(session, ada.id, 10, "fire alarm", "eve", NOW)
    assert longer.deadline == ada.deadline + timedelta(minutes=10)
    with write_session(engine) as session:
        voided = attempts.void(session, ada.id, "notes on the desk", "eve", NOW)
        assert voided.state == VOIDED and voided.passed is None
        log = [(e.actor, e.action, e.detail.get("reason")) for e in attempts.events(session, ada.id)]
    assert log[1:] == [("eve", "extend", "fire alarm"), ("eve", "void", "notes on the desk")]
    # A voided attempt does not count for the retake policy: a new one starts.
    assert _start(engine, exam, now=NOW + timedelta(hours=1)).id != ada.id


def test_the_retake_policy_is_the_exams(engine, sitting):
    exam, items = sitting
    ada = _start(engine, exam)
    with write_session(engine) as session:
        attempts.submit(session, ada.id, exam, items, NOW + timedelta(minutes=1), by="ada")
    with pytest.raises(AttemptError, match="may be sat again from 2026-12-15"):
        _start(engine, exam, now=NOW + timedelta(days=3))
    assert _start(engine, exam, now=NOW + timedelta(days=15)).id != ada.id


def test_a_candidate_who_passed_is_not_examined_again(engine, sitting):
    exam, items = sitting
    ada = _start(engine, exam)
    _save_all(engine, exam, items, ada, _right_answers(exam, items, ada))
    with write_session(engine) as session:
        assert attempts.submit(session, ada.id, exam, items, NOW, by="ada").passed
    with pytest.raises(AttemptError, match="passed t-exam already"):
        _start(engine, exam, now=NOW + timedelta(days=30))


def test_the_migration_creates_what_the_models_describe(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from exams.db import VERSION_TABLE, Base

    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # Alembic's own version table is not a model.
    assert [d for d in diff if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)] == []


def test_looking_for_attempts_due_reads_only_active_attempts_through_their_index(engine):
    """Every exam page counts the active attempts whose deadline has passed: the partial unique
    index on active attempts serves that query, so it never reads the finished ones."""
    from sqlalchemy import func, select

    from exams.models import ACTIVE, Attempt

    query = select(func.count()).select_from(Attempt).where(Attempt.state == ACTIVE,
                                                             Attempt.deadline <= NOW)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}"))
        else:  # with no rows PostgreSQL would scan: ask what it can use, not what it prefers
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
    assert "uq_exam_attempts_one_active" in plan, plan
