"""Sitting an exam in the qcampus service, on both databases, as candidates and examiners would.

The service is the real Flask app (certificates with every web plugin) signed in
through the stand-in hub of the certificates tests; the exam is a two-item Part A
drawn from the small test bank; a pass issues a real signed credential.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certificates.models import Credential
from exams import bank, delivery, forms, web
from exams.db import open_engine
from exams.lab import Lab, LabError
from exams.models import Attempt, Event
from qcampus.database import write_session
from tests.certificates.conftest import (  # noqa: F401  (fixtures)
    BOTH_DATABASES,
    csrf_of,
    database_url,
    deployment,
    hub,
    signed_in,
)
from tests.exams.conftest import SINGLE, exam_data, write_exam
from tests.grader.sandbox.conftest import sandbox_users  # noqa: F401  (a fixture)


@pytest.fixture
def service_config() -> dict:
    """Further configuration of the service (tests parametrize it)."""
    return {}


@pytest.fixture
def service(deployment, hub, small_bank, tmp_path, database_url, service_config):  # noqa: F811
    """Return the qcampus service with a two-item exam and one with a Part B."""
    from web import create_app

    data = exam_data()
    data["parts"][0]["blueprint"][0]["items"] = 2
    write_exam(tmp_path / "catalog", data)
    practical = exam_data(id="t-practical")
    practical["parts"].append({"id": "B", "kind": "tasks", "title": {"en": "Practice", "ja": "実技"},
                               "minutes": 30, "tasks": [{"pool": ["t-code", "t-code-2", "t-code-3"]}]})
    write_exam(tmp_path / "catalog", practical)
    from tests.exams.conftest import CODE, write_item

    exports = [{"answer": "double-3", "expression": "double(3)", "check": "number"},
               {"answer": "double-minus-5", "expression": "double(-5)", "check": "number"}]
    for suffix in ("", "-2", "-3"):
        write_item(small_bank, {**CODE, "id": f"t-code{suffix}",
                                "code": {**CODE["code"], "exports": exports, "points": 2}})
    # PostgreSQL: the exams' tables beside the certificates' (their own version table), as a
    # deployment with database.url has them; SQLite: a file of their own, as by default.
    engine = open_engine(database_url if database_url.startswith("postgresql")
                         else f"sqlite:///{tmp_path / 'exams.sqlite'}")
    app = create_app({"TESTING": True, "QCAMPUS_HOME": deployment.home,
                      "RATELIMIT_STORAGE_URI": "memory://", "HUB_AUTH": hub, "SERVICE_PREFIX": "/",
                      "EXAMS_ENGINE": engine, "EXAMS_BANK": small_bank,
                      "EXAMS_CATALOG": tmp_path / "catalog", **service_config})
    yield app
    if "qcampus_exam_sweeper" in app.extensions:
        app.extensions["qcampus_exam_sweeper"].stop()
    app.extensions["qcampus_engine"].dispose()
    app.extensions["qcampus_web_engine"].dispose()
    engine.dispose()


def start(client, exam="t-exam", language="en"):
    token = csrf_of(client, "/exams/")
    answer = client.post(f"/exams/{exam}/start", data={"csrf_token": token, "language": language})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return int(answer.headers["Location"].rsplit("/", 1)[1]), token


def right_answers(service, attempt_id):
    """Return the keys of the attempt's form, as the page would send them."""
    exams, items = service.extensions["qcampus_exams"].content()
    with Session(service.extensions["qcampus_exams"].engine) as session:
        attempt = session.get(Attempt, attempt_id)
    found = {}
    for slot in forms.draw(exams[attempt.exam], items, attempt.seed):
        key = bank.key_for(items[slot.item], slot.seed)
        found[slot.item] = str(key["value"]) if items[slot.item].type == "numeric" else key
    return found


def save(client, token, attempt_id, item, answer):
    return client.post(f"/exams/attempts/{attempt_id}/answers", json={"item": item, "answer": answer},
                       headers={"X-CSRF-Token": token})


def credentials(service, learner="alice"):
    with Session(service.extensions["qcampus_engine"]) as session:
        return session.scalars(select(Credential).where(Credential.learner == learner)).all()


def events(service, attempt_id):
    with Session(service.extensions["qcampus_exams"].engine) as session:
        return [(e.action, e.detail) for e in session.scalars(
            select(Event).where(Event.attempt_id == attempt_id).order_by(Event.id))]


@BOTH_DATABASES
def test_a_pass_saved_as_answered_is_scored_on_the_server_and_certified_once(service, hub):  # noqa: F811
    """Start, save each answer, reload (same form, answers kept), submit: a pass and one credential."""
    alice = signed_in(service, hub, "alice")
    attempt_id, token = start(alice)
    page = alice.get(f"/exams/attempts/{attempt_id}").get_data(as_text=True)
    again, _ = start(alice)
    assert again == attempt_id                                   # starting again: the same attempt
    answers = right_answers(service, attempt_id)
    for item, answer in answers.items():
        saved = save(alice, token, attempt_id, item, answer)
        assert saved.status_code == 200 and saved.get_json()["saved"] == item
        assert "correct" not in saved.get_data(as_text=True)     # saving says nothing of the key
    reloaded = alice.get(f"/exams/attempts/{attempt_id}").get_data(as_text=True)
    prompts = lambda html: re.findall(r'<p class="prompt">(.*?)</p>', html, re.S)  # noqa: E731
    assert prompts(reloaded) == prompts(page) and len(prompts(page)) == 2     # never a new form
    singles = [item for item in answers if item.startswith("t-single")]
    assert reloaded.count("checked") == len(singles)                           # the saved choices
    numeric = answers.get("t-numeric")
    assert numeric is None or f'value="{numeric}"' in reloaded

    result = alice.post(f"/exams/attempts/{attempt_id}/submit", data={"csrf_token": token})
    assert result.status_code == 302 and result.headers["Location"].endswith("/result")
    shown = alice.get(f"/exams/attempts/{attempt_id}/result").get_data(as_text=True)
    assert 'id="scaled">1000<' in shown and "Passed" in shown
    [credential] = credentials(service)
    assert credential.achievement_id == "foundations-a2"
    assert credential.source == f"exam:t-exam:{attempt_id}"
    assert credential.id in shown                                 # the result page links it
    document = json.loads(credential.document)
    [evidence] = document["evidence"]
    assert f"Exam t-exam, attempt {attempt_id}" in evidence["name"] and "qiskit" in evidence["name"]
    assert alice.get(f"/verify/{credential.id.removeprefix('urn:uuid:')}").status_code == 200
    # A second submit, and asking for the certificate again, change nothing.
    alice.post(f"/exams/attempts/{attempt_id}/submit", data={"csrf_token": token})
    alice.post(f"/exams/attempts/{attempt_id}/certificate", data={"csrf_token": token})
    assert len(credentials(service)) == 1
    actions = [action for action, _ in events(service, attempt_id)]
    assert actions.count("submit") == 1 and actions.count("issue") == 1
    assert actions[0] == "start" and actions.count("save") == 2


def test_the_page_holds_no_key_and_the_submit_form_alone_is_enough(service, hub):  # noqa: F811
    """Without script: the form's own fields are saved at submit. No key or rationale reaches the page."""
    alice = signed_in(service, hub, "alice")
    attempt_id, token = start(alice, language="ja")
    page = alice.get(f"/exams/attempts/{attempt_id}").get_data(as_text=True)
    assert "1 量子ビットの測定結果は何通りですか" in page                # the chosen language
    assert SINGLE["rationale"]["ja"] not in page and SINGLE["rationale"]["en"] not in page
    answers = right_answers(service, attempt_id)
    numeric_key = next(v for k, v in answers.items() if k == "t-numeric") if "t-numeric" in answers else None
    if numeric_key is not None:
        assert numeric_key not in re.sub(r"<p class=\"prompt\">.*?</p>", "", page, flags=re.S)
    form = {"csrf_token": token, **{f"answer-{k}": v for k, v in answers.items()}}
    alice.post(f"/exams/attempts/{attempt_id}/submit", data=form)
    with Session(service.extensions["qcampus_exams"].engine) as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt.passed and attempt.scaled == 1000 and attempt.submitted_by == "candidate"


def test_a_fail_issues_nothing_and_shows_each_competency(service, hub):  # noqa: F811
    """Wrong answers: not passed, the result per part and competency, no credential."""
    alice = signed_in(service, hub, "alice")
    attempt_id, token = start(alice)
    for item in right_answers(service, attempt_id):
        save(alice, token, attempt_id, item, "a" if item.startswith("t-single") else "0.987")
    alice.post(f"/exams/attempts/{attempt_id}/submit", data={"csrf_token": token})
    shown = alice.get(f"/exams/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "Not passed" in shown and 'id="scaled">0<' in shown and "concepts.qubits" in shown
    assert credentials(service) == []


def test_other_candidates_attempts_do_not_exist_for_you(service, hub):  # noqa: F811
    """Bob cannot see, answer or submit Alice's attempt; the answers say 404, not whose it is."""
    alice = signed_in(service, hub, "alice")
    attempt_id, _ = start(alice)
    bob = signed_in(service, hub, "bob")
    token = csrf_of(bob, "/exams/")
    item = next(iter(right_answers(service, attempt_id)))
    assert bob.get(f"/exams/attempts/{attempt_id}").status_code == 404
    assert bob.get(f"/exams/attempts/{attempt_id}/result").status_code == 404
    assert save(bob, token, attempt_id, item, "b").status_code == 404
    assert bob.post(f"/exams/attempts/{attempt_id}/submit", data={"csrf_token": token}).status_code == 404
    assert [a for a, _ in events(service, attempt_id)] == ["start"]


@pytest.mark.parametrize("body, status", [
    ({"item": "t-unknown", "answer": "a"}, 400),            # not on the form
    ({"answer": "a"}, 400),                                  # no item
    ("just text", 400),                                      # not an object
    ({"item": "t-single", "answer": "x" * 5000}, 413),       # larger than an answer may be
])
def test_bad_answers_are_refused_with_a_message_and_store_nothing(service, hub, body, status):  # noqa: F811
    alice = signed_in(service, hub, "alice")
    attempt_id, token = start(alice)
    if isinstance(body, dict) and body.get("item") == "t-single":
        body["item"] = next(k for k in right_answers(service, attempt_id) if k.startswith("t-single"))
    answer = alice.post(f"/exams/attempts/{attempt_id}/answers", json=body,
                        headers={"X-CSRF-Token": token})
    assert answer.status_code == status and answer.get_json()["message"]
    assert alice.post(f"/exams/attempts/{attempt_id}/answers",
                      json={"item": "t-single", "answer": "b"}).status_code == 400   # no CSRF token
    assert [a for a, _ in events(service, attempt_id)] == ["start"]


def test_the_servers_deadline_ends_the_attempt_with_what_was_saved(service, hub, monkeypatch):  # noqa: F811
    """After the deadline a save is refused and any page scores the answers saved in time."""
    alice = signed_in(service, hub, "alice")
    attempt_id, token = start(alice)
    answers = right_answers(service, attempt_id)
    first = sorted(answers)[0]
    save(alice, token, attempt_id, first, answers[first])
    real_now = web.now
    monkeypatch.setattr(web, "now", lambda: real_now() + timedelta(minutes=11))
    late = save(alice, token, attempt_id, sorted(answers)[1], answers[sorted(answers)[1]])
    assert late.status_code == 409
    page = alice.get(f"/exams/attempts/{attempt_id}")
    assert page.status_code == 302 and page.headers["Location"].endswith("/result")
    with Session(service.extensions["qcampus_exams"].engine) as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt.submitted_by == "deadline" and attempt.result["parts"]["A"]["points"] == 1


@BOTH_DATABASES
def test_twenty_simultaneous_submits_make_one_score_and_one_certificate(service, hub):  # noqa: F811
    """Twenty tabs submit at once: one submit and score event, one credential."""
    alice = signed_in(service, hub, "alice")
    attempt_id, token = start(alice)
    for item, answer in right_answers(service, attempt_id).items():
        save(alice, token, attempt_id, item, answer)
    tabs = []
    for _ in range(20):
        tab = signed_in(service, hub, "alice")
        tabs.append((tab, csrf_of(tab, "/exams/")))
    barrier, codes = threading.Barrier(20), []

    def submit(tab, tab_token):
        barrier.wait()
        codes.append(tab.post(f"/exams/attempts/{attempt_id}/submit",
                              data={"csrf_token": tab_token}).status_code)

    threads = [threading.Thread(target=submit, args=tab) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [302] * 20
    actions = [action for action, _ in events(service, attempt_id)]
    assert actions.count("submit") == 1 and actions.count("score") == 1 and actions.count("issue") == 1
    assert len(credentials(service)) == 1


def test_examiners_watch_extend_and_void_with_reasons_and_learners_cannot(service, hub):  # noqa: F811
    alice = signed_in(service, hub, "alice")
    attempt_id, _ = start(alice)
    assert alice.get("/exams/examiners/").status_code == 403
    instructor = signed_in(service, hub, "ian", ("instructors",))
    assert instructor.get("/exams/examiners/").status_code == 403   # instructors are not examiners
    eve = signed_in(service, hub, "eve", ("examiners",))
    live = eve.get("/exams/examiners/").get_data(as_text=True)
    assert "alice" in live and 'http-equiv="refresh"' in live
    token = csrf_of(eve, "/exams/examiners/")
    with Session(service.extensions["qcampus_exams"].engine) as session:
        before = session.get(Attempt, attempt_id).deadline
    assert eve.post(f"/exams/examiners/attempts/{attempt_id}/extend",
                    data={"csrf_token": token, "minutes": "15", "reason": " "}).status_code == 400
    assert eve.post(f"/exams/examiners/attempts/{attempt_id}/extend",
                    data={"csrf_token": token, "minutes": "lots", "reason": "x"}).status_code == 400
    assert eve.post(f"/exams/examiners/attempts/{attempt_id}/extend",
                    data={"csrf_token": token, "minutes": "15",
                          "reason": "fire alarm at 10:20 / 火災報知器"}).status_code == 302
    with Session(service.extensions["qcampus_exams"].engine) as session:
        assert session.get(Attempt, attempt_id).deadline == before + timedelta(minutes=15)
    token_alice = csrf_of(alice, "/exams/")
    assert alice.post(f"/exams/examiners/attempts/{attempt_id}/void",
                      data={"csrf_token": token_alice, "reason": "mine"}).status_code == 403
    assert eve.post(f"/exams/examiners/attempts/{attempt_id}/void",
                    data={"csrf_token": token,
                          "reason": "notes on the desk / メモの持ち込み"}).status_code == 302
    audit = eve.get(f"/exams/examiners/attempts/{attempt_id}").get_data(as_text=True)
    assert "fire alarm at 10:20" in audit and "notes on the desk" in audit and "voided" in audit
    shown = alice.get(f"/exams/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "voided" in shown and credentials(service) == []
    actions = [action for action, _ in events(service, attempt_id)]
    assert actions == ["start", "extend", "void"]


def test_an_exam_with_a_part_b_cannot_be_started_without_the_hub(service, hub):  # noqa: F811
    alice = signed_in(service, hub, "alice")
    listing = alice.get("/exams/").get_data(as_text=True)
    assert "10 minutes, 2 items" in " ".join(listing.split()) and "Pass mark: 600 / 1000" in listing
    assert "built-in method" not in listing
    assert "Part B places tasks in your JupyterLab, which needs the service to run under JupyterHub" \
        in listing
    token = csrf_of(alice, "/exams/")
    answer = alice.post("/exams/t-practical/start", data={"csrf_token": token, "language": "en"})
    assert answer.status_code == 409
    with Session(service.extensions["qcampus_exams"].engine) as session:
        assert session.scalar(select(func.count()).select_from(Attempt)) == 0
    assert alice.post("/exams/nonsense/start", data={"csrf_token": token}).status_code == 404


def test_a_pass_closed_outside_the_service_is_certified_when_its_result_is_opened(service, hub):  # noqa: F811
    """`qcampus exam close` scores without issuing; the result page issues the credential, once."""
    from datetime import UTC, datetime

    from exams import attempts

    alice = signed_in(service, hub, "alice")
    attempt_id, token = start(alice)
    for item, answer in right_answers(service, attempt_id).items():
        save(alice, token, attempt_id, item, answer)
    exams, items = service.extensions["qcampus_exams"].content()
    with write_session(service.extensions["qcampus_exams"].engine) as session:
        closed = attempts.close_expired(session, exams, items, datetime.now(UTC) + timedelta(hours=1))
    assert closed == [attempt_id] and credentials(service) == []
    shown = alice.get(f"/exams/attempts/{attempt_id}/result").get_data(as_text=True)
    [credential] = credentials(service)
    assert credential.id in shown
    alice.get(f"/exams/attempts/{attempt_id}/result")
    assert len(credentials(service)) == 1


def test_examiners_download_the_analysis_once_enough_attempts_are_scored(service, hub):  # noqa: F811
    """Fewer than ten scored attempts: a 409 that says so; then the report, as a download."""
    import random
    from datetime import UTC, datetime

    from exams import attempts

    exams, items = service.extensions["qcampus_exams"].content()
    engine = service.extensions["qcampus_exams"].engine
    rng = random.Random(5)
    eve = signed_in(service, hub, "eve", ("examiners",))
    for index in range(web.MIN_ANALYSED):
        if index == web.MIN_ANALYSED - 1:
            early = eve.get("/exams/examiners/analysis/t-exam")
            assert early.status_code == 409
            assert "at least 10 scored attempts" in early.get_data(as_text=True)
        moment = datetime.now(UTC)
        with write_session(engine) as session:
            attempt = attempts.start(session, exams["t-exam"], f"candidate{index}",
                                     rng.choice(["en", "ja"]), moment)
            for slot in forms.draw(exams["t-exam"], items, attempt.seed):
                key = bank.key_for(items[slot.item], slot.seed)
                right = key["value"] if items[slot.item].type == "numeric" else key
                wrong = 0.987 if items[slot.item].type == "numeric" else "a"
                attempts.save(session, attempt.id, attempt.candidate, exams["t-exam"], items,
                              slot.item, right if rng.random() < 0.6 else wrong, moment)
            attempts.submit(session, attempt.id, exams["t-exam"], items, moment,
                            by=attempt.candidate)
    assert signed_in(service, hub, "alice").get("/exams/examiners/analysis/t-exam").status_code == 403
    listing = eve.get("/exams/examiners/").get_data(as_text=True)
    assert "/exams/examiners/analysis/t-exam" in listing
    report = eve.get("/exams/examiners/analysis/t-exam")
    assert report.status_code == 200
    assert report.headers["Content-Disposition"] == 'attachment; filename="t-exam-analysis.html"'
    text = report.get_data(as_text=True)
    assert "exam analysis" in text and "t-single" in text and "data:image/png;base64," in text
    assert eve.get("/exams/examiners/analysis/nonsense").status_code == 404


class MemoryLab(Lab):
    """Candidates' servers as dictionaries: the orchestration is tested here, the real
    JupyterLab by tests/e2e/test_exam_browser.py."""

    def __init__(self):
        super().__init__("http://hub.test/hub/api", "token", "http://hub.test")
        object.__setattr__(self, "files", {})
        object.__setattr__(self, "running", {"alice"})

    def server_url(self, user):
        if user not in self.running:
            raise LabError("JupyterLab is not running")
        return f"http://{user}.hub.test/user/{user}/"

    def put_notebook(self, user, path, notebook):
        self.server_url(user)
        self.files[user, path] = json.loads(json.dumps(notebook))

    def get_notebook(self, user, path):
        self.server_url(user)
        return self.files[user, path]


@pytest.fixture
def lab_service(service):
    """The service with candidates' servers in memory and every code item graded by exports."""
    lab = MemoryLab()
    service.extensions["qcampus_exams"].lab = lab
    return service, lab


def grade_queued(service):
    """Do what the grading service does with every queued job: claim, grade in the sandbox, finish."""
    from submissions.grading import pipeline, queue

    exchange = service.extensions["qcampus_exchange"]
    settings = service.extensions["qcampus_exams"].settings
    while True:
        with write_session(exchange.engine) as session:
            job = queue.claim(session, "test")
        if job is None:
            return
        outcome = pipeline.grade(settings, job)
        with write_session(exchange.engine) as session:
            queue.finish(session, job.id, "test", **outcome.as_record())


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.usefixtures("sandbox_users")
def test_part_b_is_placed_collected_graded_by_verdict_and_decides_the_pass(lab_service, hub):  # noqa: F811
    """Start: the drawn task is in the candidate's lab; their edit is collected at submit, graded
    by the grading service by verdict, and Part B decides the pass with Part A (at the service's
    sweep, with no page open)."""
    service, lab = lab_service
    alice = signed_in(service, hub, "alice")
    attempt_id, token = start(alice, exam="t-practical")
    [(user, path)] = lab.files
    assert user == "alice" and path.startswith(f"qcampus-exams/t-practical-{attempt_id}/t-code")
    page = alice.get(f"/exams/attempts/{attempt_id}").get_data(as_text=True)
    assert f"http://alice.hub.test/user/alice/lab/tree/{path}" in page and "not collected yet" in page
    placed = lab.files[user, path]
    assert "double(3)" not in json.dumps(placed) and "return 2 * x" not in json.dumps(placed)
    answer_cell = next(c for c in placed["cells"]
                       if c["metadata"].get("nbgrader", {}).get("grade_id") == "answer-task")
    answer_cell["source"] = "def double(x):\n    return x * 2\n"          # the candidate's work
    for item, answer in right_answers(service, attempt_id).items():
        if not item.startswith("t-code"):
            save(alice, token, attempt_id, item, answer)
    submitted = alice.post(f"/exams/attempts/{attempt_id}/submit", data={"csrf_token": token})
    assert submitted.status_code == 302
    pending = alice.get(f"/exams/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "Part B is being graded" in pending and 'http-equiv="refresh"' in pending
    assert credentials(service) == []
    grade_queued(service)
    with service.app_context():                     # nobody opens a page: the service's sweep
        swept = delivery.sweep(delivery.now())
    assert swept.decided == [attempt_id] and swept.certified == []
    [credential] = credentials(service)
    shown = alice.get(f"/exams/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "Passed" in shown and 'id="scaled">1000<' in shown
    actions = [action for action, _ in events(service, attempt_id)]
    assert actions[:2] == ["start", "place"] and "collect" in actions and "grade-queued" in actions
    assert actions.count("grade") == 1 and actions.count("issue") == 1
    grade = next(detail for action, detail in events(service, attempt_id) if action == "grade")
    assert list(grade["tasks"].values()) == [{"points": 2.0, "maximum": 2.0}]
    assert credential.source == f"exam:t-practical:{attempt_id}"


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.usefixtures("sandbox_users")
def test_an_untouched_task_fails_part_b_even_with_part_a_right(lab_service, hub):  # noqa: F811
    """The stub scores 0 by verdict: Part B under its minimum, not passed, no certificate."""
    service, lab = lab_service
    alice = signed_in(service, hub, "alice")
    attempt_id, token = start(alice, exam="t-practical")
    for item, answer in right_answers(service, attempt_id).items():
        if not item.startswith("t-code"):
            save(alice, token, attempt_id, item, answer)
    alice.post(f"/exams/attempts/{attempt_id}/submit", data={"csrf_token": token})
    grade_queued(service)
    shown = alice.get(f"/exams/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "Not passed" in shown and credentials(service) == []


def test_a_candidate_without_a_running_lab_is_told_and_can_place_again(lab_service, hub):  # noqa: F811
    service, lab = lab_service
    lab.running.clear()
    alice = signed_in(service, hub, "alice")
    attempt_id, token = start(alice, exam="t-practical")
    page = alice.get(f"/exams/attempts/{attempt_id}").get_data(as_text=True)
    assert "JupyterLab is not running" in page and lab.files == {}
    lab.running.add("alice")
    again = alice.post(f"/exams/attempts/{attempt_id}/tasks/place", data={"csrf_token": token})
    assert again.status_code == 302 and len(lab.files) == 1
    actions = [action for action, _ in events(service, attempt_id)]
    assert actions == ["start", "place-failed", "place"]
