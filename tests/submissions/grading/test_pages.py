"""The instructors' grading page: queue length, each job's state and reason, regrades.

Signed in with the certificates service's own test fixtures (the stand-in hub);
the page is one of the service's staff pages.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from qcampus.database import write_session
from submissions.exchange.store import Store
from submissions.grading import queue
from submissions.grading.models import FAILED, GradingJob
from tests.certificates.conftest import (  # noqa: F401  (fixtures)
    app,
    csrf_of,
    database_url,
    deployment,
    hub,
    learner_client,
    staff_client,
)


@pytest.fixture
def jobs(app, notebook):  # noqa: F811
    """Record two submissions (one failed with a reason) through the app's own exchange."""
    exchange = app.extensions["qcampus_exchange"]
    store: Store = exchange.store
    with write_session(exchange.engine) as session:
        store.release(session, "foundations", "hello", {"hello.ipynb": notebook()}, released_by="t")
        for student in ("alice", "bob"):
            submission = store.submit(session, "foundations", "hello", student,
                                      {"hello.ipynb": notebook(student)})
            job = queue.enqueue(session, submission)
            if student == "bob":
                job.state, job.reason = FAILED, "the kernel died 3 times / カーネルが停止"
            else:
                job.environment = {"qiskit": "2.6.2", "dwave-samplers": "1.8.0"}
    return exchange


def test_staff_see_the_queue_states_reasons_and_environment(staff_client, jobs):  # noqa: F811
    """The page lists queue length, each job's state, the failure reason and library versions."""
    page = staff_client.get("/grading/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<strong>1</strong> queued" in text
    assert "the kernel died 3 times" in text and "qiskit 2.6.2" in text
    failed_only = staff_client.get("/grading/?state=failed").get_data(as_text=True)
    assert "bob" in failed_only and "alice" not in failed_only
    assert staff_client.get("/grading/?state=nonsense").status_code == 400


def test_learners_are_kept_out(learner_client, jobs):  # noqa: F811
    """A signed-in learner gets 403 on the grading page and cannot regrade."""
    assert learner_client.get("/grading/").status_code == 403
    token = csrf_of(learner_client, "/")
    answer = learner_client.post("/grading/regrade", data={"csrf_token": token,
                                                           "pair": "foundations/hello"})
    assert answer.status_code == 403


def test_regrade_one_and_all_queue_new_jobs(staff_client, jobs):  # noqa: F811
    """Regrade of one job and of an assignment queue new generations; without the CSRF token nothing."""
    with Session(jobs.engine) as session:
        bob = session.scalar(select(GradingJob).where(GradingJob.student == "bob"))
    assert staff_client.post(f"/grading/jobs/{bob.id}/regrade").status_code == 400  # no CSRF token
    token = csrf_of(staff_client, "/grading/")
    assert staff_client.post(f"/grading/jobs/{bob.id}/regrade",
                             data={"csrf_token": token}).status_code == 302
    assert staff_client.post("/grading/regrade", data={"csrf_token": token,
                                                       "pair": "foundations/hello"}).status_code == 302
    with Session(jobs.engine) as session:
        states = sorted((j.student, j.generation, j.state) for j in session.scalars(select(GradingJob)))
    assert states == [("alice", 0, "queued"), ("bob", 0, "failed"), ("bob", 1, "queued")]
