"""The service brings attempts to their end when nobody opens a page (exams.delivery's sweep).

The real service app of tests/exams/test_web.py: a candidate who walks away at the
deadline is scored and a pass certified by the sweep; a pass whose issuing failed is
issued by the next sweep; the sweeper's thread starts with the first request, sweeps
in the background and leaves a round to whichever process holds the lock.
"""

from __future__ import annotations

import fcntl
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from exams import delivery
from exams.models import Attempt
from tests.certificates.conftest import (  # noqa: F401  (fixtures)
    BOTH_DATABASES,
    database_url,
    deployment,
    hub,
    signed_in,
)
from tests.exams.test_web import (  # noqa: F401  (fixtures)
    credentials,
    events,
    right_answers,
    save,
    service,
    service_config,
    start,
)

LATER = timedelta(hours=1)


def walk_away(service, hub):  # noqa: F811
    """Start an attempt, save every right answer, and never submit; return the attempt id."""
    alice = signed_in(service, hub, "alice")
    attempt_id, token = start(alice)
    for item, answer in right_answers(service, attempt_id).items():
        assert save(alice, token, attempt_id, item, answer).status_code == 200
    return attempt_id


def sweep_at(service, moment):  # noqa: F811
    with service.app_context():
        return delivery.sweep(moment)


@BOTH_DATABASES
def test_the_sweep_scores_a_walked_away_attempt_and_certifies_its_pass_once(service, hub):  # noqa: F811
    attempt_id = walk_away(service, hub)
    assert not sweep_at(service, datetime.now(UTC))               # nothing is due yet
    assert credentials(service) == []
    swept = sweep_at(service, datetime.now(UTC) + LATER)
    assert swept.closed == [attempt_id] and swept.decided == [] and swept.certified == []
    [credential] = credentials(service)
    assert credential.source == f"exam:t-exam:{attempt_id}"
    with Session(service.extensions["qcampus_exams"].engine) as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt.submitted_by == "deadline" and attempt.passed
    again = sweep_at(service, datetime.now(UTC) + 2 * LATER)
    assert not again and len(credentials(service)) == 1
    assert [action for action, _ in events(service, attempt_id)].count("issue") == 1


def test_the_sweep_issues_a_pass_whose_issuing_failed(service, hub):  # noqa: F811
    """The issuer fails at the deadline: the attempt is scored, then the next sweep issues it."""
    attempt_id = walk_away(service, hub)
    issue = service.extensions["qcampus_issue"]

    def broken(**fields):
        raise RuntimeError("the signing key is being rotated")

    service.extensions["qcampus_issue"] = broken
    swept = sweep_at(service, datetime.now(UTC) + LATER)
    assert swept.closed == [attempt_id] and credentials(service) == []
    assert "issue-failed" in [action for action, _ in events(service, attempt_id)]
    service.extensions["qcampus_issue"] = issue
    swept = sweep_at(service, datetime.now(UTC) + LATER)
    assert swept.closed == [] and swept.certified == [attempt_id]
    assert len(credentials(service)) == 1


def test_a_deployment_that_issues_by_hand_gets_no_certificate_from_the_sweep(service, hub):  # noqa: F811
    service.extensions["qcampus_exams"].issue_certificates = False
    attempt_id = walk_away(service, hub)
    swept = sweep_at(service, datetime.now(UTC) + LATER)
    assert swept.closed == [attempt_id] and swept.certified == [] and credentials(service) == []


@pytest.mark.parametrize("service_config", [{"EXAMS_SWEEP_SECONDS": 0.2}])
def test_the_sweeper_starts_with_the_first_request_and_sweeps_alone(service, hub, monkeypatch):  # noqa: F811
    """No thread before a request; then the background sweep scores a walked-away attempt,
    except while another process holds the lock."""
    sweeper = service.extensions["qcampus_exam_sweeper"]
    assert sweeper.thread is None
    monkeypatch.setattr(delivery, "now", lambda: datetime.now(UTC) + LATER)
    held = os.open(sweeper.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)                               # another process sweeps
    try:
        attempt_id = walk_away(service, hub)                       # its requests start the thread
        assert sweeper.thread.is_alive() and sweeper.thread.name == "qcampus-exam-sweep"
        time.sleep(1.0)                                            # five rounds, every one skipped
        assert sweeper.once() is None and credentials(service) == []
    finally:
        os.close(held)
    for _ in range(100):
        if credentials(service):
            break
        time.sleep(0.1)
    [credential] = credentials(service)
    assert credential.source == f"exam:t-exam:{attempt_id}"
    sweeper.stop()
    sweeper.thread.join(5)
    assert not sweeper.thread.is_alive()


def test_only_the_served_app_sweeps_by_default(service):  # noqa: F811
    """An app a test or a command builds has no sweeper; the served one (web.wsgi) sweeps
    every exams.close_every_seconds."""
    assert "qcampus_exam_sweeper" not in service.extensions


@pytest.mark.parametrize("service_config", [{"BACKGROUND_TASKS": True}])
def test_the_served_app_sweeps_at_the_settings_interval(service):  # noqa: F811
    sweeper = service.extensions["qcampus_exam_sweeper"]
    assert sweeper.every == 30 and sweeper.thread is None          # until the first request
    assert sweeper.lock_path.parent == service.extensions["qcampus_exams"].settings.home


def test_result_pages_read_the_framework_once(service, hub, monkeypatch):  # noqa: F811
    """Competency names come from the framework read on first use, not once per page: at 500
    candidates whose result pages reload while Part B is graded, reading it each time took
    the cores the grading workers needed."""
    from qcampus import framework

    name = framework.load().competencies["concepts.qubits"].name["ja"]
    real, calls = framework.load, []
    monkeypatch.setattr(framework, "load", lambda *a, **k: calls.append(1) or real(*a, **k))
    alice = signed_in(service, hub, "alice")
    attempt_id, token = start(alice, language="ja")
    for item, answer in right_answers(service, attempt_id).items():
        save(alice, token, attempt_id, item, answer)
    alice.post(f"/exams/attempts/{attempt_id}/submit", data={"csrf_token": token})
    pages = [alice.get(f"/exams/attempts/{attempt_id}/result").get_data(as_text=True)
             for _ in range(3)]
    assert all(name in page for page in pages) and len(calls) == 1
