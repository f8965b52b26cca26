"""The exchange's endpoints: the hub says who submits, the server's clock says when.

The hub is the stand-in ``FakeHub`` (no hub runs in unit tests); the end-to-end
tests attack the same endpoints on a real hub with real system users.
"""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from qcampus.database import write_session
from submissions.exchange.models import Submission
from tests.certificates.conftest import FakeHub
from tests.submissions.conftest import BOTH_DATABASES

API = "/exchange/api"


def files(**named: bytes) -> dict:
    return {"files": [{"name": name.replace("__", "."), "content": base64.b64encode(data).decode()}
                      for name, data in named.items()]}


@pytest.fixture
def hub() -> FakeHub:
    return FakeHub()


@pytest.fixture
def app(deployment, engine, hub):
    """Return the qcampus service with only the exchange added, on the deployment's database."""
    from web import create_app

    return create_app({
        "TESTING": True, "QCAMPUS_HOME": deployment.home, "HUB_AUTH": hub,
        "DATABASE_URL": f"sqlite:///{deployment.home / 'certificates.sqlite'}",
        "RATELIMIT_STORAGE_URI": "memory://", "TRUSTED_PROXIES": 0, "SERVICE_PREFIX": "/",
        "WEB_PLUGINS": ["exchange"], "QCAMPUS_SETTINGS": deployment,
        "SUBMISSIONS_ENGINE": engine, "SUBMISSIONS_GRADING": False,
    })


@pytest.fixture
def tokens(hub) -> dict[str, str]:
    return {
        "alice": hub.add_user("alice", ("learners", "nbgrader-foundations")),
        "bob": hub.add_user("bob", ("learners", "nbgrader-foundations")),
        "mallory": hub.add_user("mallory", ("learners", "nbgrader-other")),
        "teacher": hub.add_user("teacher", ("instructors", "formgrade-foundations")),
        "scopeless": hub.add_user("eve", ("nbgrader-foundations",), scopes=()),
    }


@pytest.fixture
def call(app, tokens):
    client = app.test_client()

    def send(method: str, path: str, who: str | None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if who:
            headers["Authorization"] = f"token {tokens[who]}"
        return client.open(API + path, method=method, headers=headers, **kwargs)

    return send


@pytest.fixture
def released(call, notebook):
    answer = call("POST", "/courses/foundations/assignments/hello/release", "teacher",
                  json=files(hello__ipynb=notebook("x = 1")))
    assert answer.status_code == 201, answer.json


@BOTH_DATABASES
def test_learner_fetches_submits_and_reads_own_feedback(call, released, notebook, engine):
    """Fetch, submit, list and fetch feedback work for the learner who owns the submission."""
    listed = call("GET", "/courses/foundations/assignments", "alice").json["assignments"]
    assert [(a["assignment_id"], a["notebooks"]) for a in listed] == [("hello", ["hello"])]
    fetched = call("GET", "/courses/foundations/assignments/hello/release", "alice").json
    assert base64.b64decode(fetched["files"][0]["content"]) == notebook("x = 1")

    answer = call("POST", "/courses/foundations/assignments/hello/submissions", "alice",
                  json=files(hello__ipynb=notebook("x = 2")))
    assert answer.status_code == 201
    submission = answer.json["submission"]
    assert submission["student_id"] == "alice"

    page = base64.b64encode(b"<p>feedback</p>").decode()
    released_feedback = call("POST", f"/submissions/{submission['id']}/feedback", "teacher",
                             json={"files": [{"name": "hello.html", "content": page}]})
    assert released_feedback.status_code == 201
    mine = call("GET", "/courses/foundations/submissions", "alice").json["submissions"]
    assert [s["id"] for s in mine] == [submission["id"]] and mine[0]["feedback"]
    feedback = call("GET", f"/submissions/{submission['id']}/feedback", "alice").json["files"]
    assert base64.b64decode(feedback[0]["content"]) == b"<p>feedback</p>"


def test_claimed_name_and_time_in_the_request_are_ignored(call, released, notebook, engine):
    """A submission that names another student and a back-dated time is recorded as its sender's, now."""
    forged = files(hello__ipynb=notebook())
    forged.update(student_id="bob", timestamp="2020-01-01 00:00:00.000000 UTC", student="bob")
    answer = call("POST", "/courses/foundations/assignments/hello/submissions?student=bob", "alice",
                  json=forged, headers={"X-Forwarded-User": "bob"})
    assert answer.status_code == 201
    with Session(engine) as session:
        row = session.scalar(select(Submission))
        assert row.student == "alice"
        assert row.submitted_at.year >= 2026


def test_learners_see_only_their_own_submissions(call, released, notebook):
    """Bob lists only his submissions and gets 404 for Alice's files and feedback."""
    alice = call("POST", "/courses/foundations/assignments/hello/submissions", "alice",
                 json=files(hello__ipynb=notebook())).json["submission"]
    assert call("GET", "/courses/foundations/submissions?student=alice", "bob").json["submissions"] == []
    assert call("GET", f"/submissions/{alice['id']}/files", "bob").status_code == 404
    assert call("GET", f"/submissions/{alice['id']}/feedback", "bob").status_code == 404
    assert call("GET", f"/submissions/{alice['id']}/files", "teacher").status_code == 200


def test_learners_cannot_act_as_instructors(call, released, notebook):
    """A learner can neither release, withdraw, nor release feedback, even on their own submission."""
    own = call("POST", "/courses/foundations/assignments/hello/submissions", "alice",
               json=files(hello__ipynb=notebook())).json["submission"]
    assert call("POST", "/courses/foundations/assignments/hello/release", "alice",
                json=files(hello__ipynb=notebook("evil"))).status_code == 403
    assert call("DELETE", "/courses/foundations/assignments/hello/release", "alice").status_code == 403
    assert call("POST", f"/submissions/{own['id']}/feedback", "alice",
                json={"files": [{"name": "hello.html", "content": ""}]}).status_code == 403


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("scopeless", 403), ("mallory", 403)])
def test_unknown_or_unenrolled_callers_are_refused(call, released, notebook, who, status):
    """No token, a token without the service scope, or a learner of another course: refused."""
    answer = call("POST", "/courses/foundations/assignments/hello/submissions", who,
                  json=files(hello__ipynb=notebook()))
    assert answer.status_code == status
    assert answer.json["message"]


def test_a_forged_token_is_refused(app):
    """A token the hub never issued gets 401 with what to do."""
    answer = app.test_client().get(f"{API}/courses/foundations/assignments",
                                   headers={"Authorization": "token forged"})
    assert answer.status_code == 401
    assert "restart your server" in answer.json["message"]


@pytest.mark.parametrize(("body", "status"), [
    ({"files": "nope"}, 400),
    ({"files": [{"name": "hello.ipynb", "content": "***"}]}, 400),
    ({"files": [{"name": "hello.ipynb", "content": ""}, {"name": "hello.ipynb", "content": ""}]}, 422),
])
def test_malformed_bodies_get_clear_errors(call, released, body, status):
    """Bodies that are not the documented JSON get a 4xx with a message, and nothing is stored."""
    answer = call("POST", "/courses/foundations/assignments/hello/submissions", "alice", json=body)
    assert answer.status_code == status
    assert answer.json["message"]
    assert call("GET", "/courses/foundations/submissions", "alice").json["submissions"] == []


def test_an_oversized_upload_is_refused_before_it_is_read(call, released):
    """A body larger than the files allowed is refused with 413 and a JSON message."""
    huge = b"x" * (5 * 1024 * 1024)
    answer = call("POST", "/courses/foundations/assignments/hello/submissions", "alice",
                  data=huge, content_type="application/json")
    assert answer.status_code == 413
    assert "Clear" in answer.json["message"]


def test_submissions_are_never_overwritten(call, released, notebook, engine):
    """Every submission is kept: three submissions, three records with their own files."""
    for n in range(3):
        assert call("POST", "/courses/foundations/assignments/hello/submissions", "alice",
                    json=files(hello__ipynb=notebook(f"x = {n}"))).status_code == 201
    with write_session(engine) as session:
        rows = session.scalars(select(Submission).order_by(Submission.id)).all()
        assert len({r.directory for r in rows}) == 3


@pytest.fixture
def graded_call(deployment, engine, hub, tokens):
    """Like ``call``, on a service whose submissions are queued for the grading service."""
    from web import create_app

    client = create_app({
        "TESTING": True, "QCAMPUS_HOME": deployment.home, "HUB_AUTH": hub,
        "DATABASE_URL": f"sqlite:///{deployment.home / 'certificates.sqlite'}",
        "RATELIMIT_STORAGE_URI": "memory://", "TRUSTED_PROXIES": 0, "SERVICE_PREFIX": "/",
        "WEB_PLUGINS": ["exchange"], "QCAMPUS_SETTINGS": deployment, "SUBMISSIONS_ENGINE": engine,
    }).test_client()

    def send(method: str, path: str, who: str, **kwargs):
        return client.open(API + path, method=method,
                           headers={"Authorization": f"token {tokens[who]}"}, **kwargs)

    return send


def test_each_submission_is_queued_and_formgrader_autograde_queues_again(graded_call, notebook, engine):
    """A submission is queued for grading with it; an instructor's Autograde queues the newest again."""
    from submissions.grading.models import GradingJob

    assert graded_call("POST", "/courses/foundations/assignments/hello/release", "teacher",
                       json=files(hello__ipynb=notebook())).status_code == 201
    for who in ("alice", "bob"):
        assert graded_call("POST", "/courses/foundations/assignments/hello/submissions", who,
                           json=files(hello__ipynb=notebook())).status_code == 201
    with Session(engine) as session:
        assert sorted(j.student for j in session.scalars(select(GradingJob))) == ["alice", "bob"]

    refused = graded_call("POST", "/courses/foundations/assignments/hello/grading", "alice",
                          json={"student": "alice"})
    assert refused.status_code == 403
    one = graded_call("POST", "/courses/foundations/assignments/hello/grading", "teacher",
                      json={"student": "alice"})
    assert one.status_code == 202 and len(one.json["queued"]) == 1
    everyone = graded_call("POST", "/courses/foundations/assignments/hello/grading", "teacher", json={})
    assert len(everyone.json["queued"]) == 2
    nobody = graded_call("POST", "/courses/foundations/assignments/hello/grading", "teacher",
                         json={"student": "mallory"})
    assert nobody.status_code == 404
