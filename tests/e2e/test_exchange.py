"""The exchange on a running deployment, attacked by a learner with their own server's token.

Each attack of the shared-directory exchange has its test here: a submission
under another learner's name or with a forged time, a notebook that is a link
to a file only root may read, reading another learner's work, acting as an
instructor; and formgrader's *Autograde*, which must grade in the grading
service's sandbox, never in the instructor's server where answer keys are.
"""

from __future__ import annotations

import base64
import json
import pwd
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
import requests

from hub_config.spawner import system_username
from tests.e2e.conftest import grading_jobs, stored_submissions
from tests.e2e.test_hub import login_and_spawn, open_formgrader, processes_of
from tests.e2e.test_permissions import run_as

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def server_token(name: str) -> str:
    """Return the API token of *name*'s running server, as learner code reads it from its environment."""
    uid = pwd.getpwnam(system_username(name)).pw_uid
    for pid in processes_of(uid, "jupyterhub-singleuser"):
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        for entry in environ:
            if entry.startswith(b"JUPYTERHUB_API_TOKEN="):
                return entry.split(b"=", 1)[1].decode()
    raise AssertionError(f"no server of {name} with a token")


def api(dep, token: str, method: str, path: str, **kwargs) -> requests.Response:
    """Call the exchange as users' servers do: its loopback URL and a hub token."""
    return requests.request(method, f"{dep.settings.exchange_url}/api{path}", timeout=60,
                            headers={"Authorization": f"token {token}"}, **kwargs)


def _notebook_payload(notebook: dict, name: str) -> dict:
    return {"files": [{"name": name,
                       "content": base64.b64encode(json.dumps(notebook).encode()).decode()}]}


def test_forged_names_times_links_and_roles_change_nothing(shared_hub):
    """A learner's token submits only as that learner, now; reads only their own; acts as no instructor."""
    dep = shared_hub.dep
    course, assignment = dep.track.id, dep.track.assignments[0].id
    a_name, b_name = dep.people.learner_a, dep.people.learner_b
    user_a, _ = login_and_spawn(dep, a_name)
    login_and_spawn(dep, b_name)
    token_a, token_b = server_token(a_name), server_token(b_name)
    # The shared directory of nbgrader's exchange is gone: nothing to rename or write into.
    assert not dep.settings.exchange.exists()

    released = api(dep, token_a, "GET", f"/courses/{course}/assignments/{assignment}/release")
    assert released.status_code == 200, released.text
    [item] = released.json()["files"]
    notebook = json.loads(base64.b64decode(item["content"]))

    forged = _notebook_payload(notebook, item["name"])
    forged.update(student_id=b_name, student=b_name, timestamp="2020-01-01 00:00:00.000000 UTC")
    answer = api(dep, token_a, "POST", f"/courses/{course}/assignments/{assignment}/submissions",
                 json=forged, params={"student": b_name})
    assert answer.status_code == 201, answer.text
    mine = answer.json()["submission"]
    assert mine["student_id"] == a_name and not mine["timestamp"].startswith("2020")
    assert stored_submissions(dep, b_name) == []

    # B neither lists nor downloads A's work; A cannot release, withdraw, or grade.
    assert api(dep, token_b, "GET", f"/courses/{course}/submissions",
               params={"student": a_name}).json()["submissions"] == []
    assert api(dep, token_b, "GET", f"/submissions/{mine['id']}/files").status_code == 404
    assert api(dep, token_a, "POST", f"/courses/{course}/assignments/{assignment}/release",
               json=forged).status_code == 403
    assert api(dep, token_a, "POST", f"/submissions/{mine['id']}/feedback",
               json={"files": []}).status_code == 403
    assert api(dep, token_a, "POST", f"/courses/{course}/assignments/{assignment}/grading",
               json={}).status_code == 403
    assert api(dep, "forged-token", "GET", f"/courses/{course}/assignments").status_code == 401

    # A notebook replaced by a link to a file only root reads is never sent, and nothing is stored.
    fetched = user_a.server("POST", "assignments/fetch",
                            data={"course_id": course, "assignment_id": assignment})
    assert fetched.json()["success"], fetched.text
    system_a = system_username(a_name)
    work = Path(pwd.getpwnam(system_a).pw_dir) / course / assignment / item["name"]
    linked = run_as(system_a, "ln", "-sf", "/etc/shadow", str(work))
    assert linked.returncode == 0, linked.stderr
    before = stored_submissions(dep, a_name)
    refused = user_a.server("POST", "assignments/submit",
                            data={"course_id": course, "assignment_id": assignment}).json()
    assert not refused["success"] and "symbolic link" in json.dumps(refused)
    assert stored_submissions(dep, a_name) == before


def test_formgrader_autograde_grades_in_the_sandbox(shared_hub):
    """Autograde pressed in formgrader grades in the grading service: learner code finds no course files."""
    dep = shared_hub.dep
    course, assignment = dep.track.id, dep.track.assignments[0].id
    a_name, instructor = dep.people.learner_a, dep.people.instructor
    course_dir = dep.course_dir()
    # The source notebook (solutions, hidden tests): the instructor's uid can read it, so stock
    # Autograde, which runs the learner's code as the instructor, would hand it over.
    secret = course_dir / "source" / assignment / f"{assignment}.ipynb"
    teacher_uid = system_username(instructor)

    user_a, _ = login_and_spawn(dep, a_name)
    token_a = server_token(a_name)
    [item] = api(dep, token_a, "GET",
                 f"/courses/{course}/assignments/{assignment}/release").json()["files"]
    notebook = json.loads(base64.b64decode(item["content"]))
    probe = (f"import os\nfound = [os.path.join(d, f) for d, _, fs in os.walk({str(course_dir)!r})"
             f" for f in fs]\nprint('PROBE', len(found), any('BEGIN SOLUTION' in "
             f"open(p, errors='replace').read() for p in found if p.endswith('.ipynb')))")
    notebook["cells"].insert(0, {"cell_type": "code", "execution_count": None, "id": "probe",
                                 "metadata": {}, "outputs": [], "source": probe})
    first = api(dep, token_a, "POST", f"/courses/{course}/assignments/{assignment}/submissions",
                json=_notebook_payload(notebook, item["name"]))
    assert first.status_code == 201, first.text
    _wait_graded(dep, generations=1, student=a_name)

    teacher, _ = login_and_spawn(dep, instructor)
    open_formgrader(dep, teacher, course)
    pressed = teacher.session.post(
        teacher.url(f"formgrader/api/submission/{assignment}/{a_name}/autograde", server=course),
        headers={"X-XSRFToken": _server_xsrf(teacher, f"/user/{instructor}/{course}/")})
    assert pressed.status_code == 200, pressed.text[:300]
    assert pressed.json()["success"], pressed.json()
    assert "grading service" in pressed.json()["log"]
    _wait_graded(dep, generations=2, student=a_name)

    graded = nbformat.read(course_dir / "autograded" / a_name / assignment / item["name"], 4)
    output = "".join(o.get("text", "") for o in graded.cells[0].outputs)
    assert "PROBE 0 False" in output, output
    # Control: the instructor's uid, with its groups, reads the solutions: the probe would find them.
    entry = pwd.getpwnam(teacher_uid)
    control = subprocess.run(["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                              "--init-groups", "cat", str(secret)],
                             capture_output=True, text=True, check=False, timeout=60)
    assert "BEGIN SOLUTION" in control.stdout, control.stderr


def _server_xsrf(user, path: str) -> str:
    """Return the XSRF cookie a (named) server set for its own *path*."""
    values = [c.value for c in user.session.cookies if c.name == "_xsrf" and c.path == path]
    values += [c.value for c in user.session.cookies
               if c.name == "_xsrf" and c.path.startswith(f"/user/{user.name}/")]
    assert values, [(c.name, c.path) for c in user.session.cookies]
    return values[0]


def _wait_graded(dep, generations: int, student: str, timeout: float = 600) -> None:
    """Wait until *generations* of *student*'s grading jobs have ended; all must have graded."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = [job for job in grading_jobs(dep) if job["student"] == student]
        if len([j for j in jobs if j["state"] in ("graded", "failed", "timed_out")]) >= generations:
            assert all(j["state"] == "graded" for j in jobs if j["state"] != "queued"), jobs
            return
        assert time.monotonic() < deadline, jobs
        time.sleep(1)


def _service_master(dep) -> int:
    """Return the pid of the qcampus web service's gunicorn master (the hub's child)."""
    hub = int((dep.settings.hub_dir / "jupyterhub.pid").read_text())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
        if ppid == hub and b"gunicorn" in argv and b"web.wsgi:app" in argv:
            return int(proc.name)
    raise AssertionError("the qcampus service's gunicorn master is not running under the hub")


def test_submissions_while_the_service_is_killed_are_kept_or_refused_never_half(running_hub):
    """A learner keeps submitting while the qcampus service is SIGKILLed and the hub restarts it.

    Every submission the service acknowledged is stored, byte for byte, with its grading job;
    one in flight at the kill may be stored without an answer; none is stored in part.
    """
    import hashlib
    import os
    import signal
    import threading

    dep = running_hub.dep
    course, assignment = dep.track.id, dep.track.assignments[0].id
    name = dep.people.learner_a
    login_and_spawn(dep, name)
    token = server_token(name)
    [item] = api(dep, token, "GET", f"/courses/{course}/assignments/{assignment}/release").json()["files"]
    notebook = json.loads(base64.b64decode(item["content"]))
    before = {s["id"] for s in stored_submissions(dep, name)}

    acknowledged: dict[int, str] = {}
    refused: list[str] = []
    stop = threading.Event()

    def keep_submitting() -> None:
        count = 0
        while not stop.is_set():
            count += 1
            notebook["metadata"]["qcampus_try"] = count  # every submission's bytes differ
            payload = _notebook_payload(notebook, item["name"])
            content = base64.b64decode(payload["files"][0]["content"])
            try:
                answer = api(dep, token, "POST",
                             f"/courses/{course}/assignments/{assignment}/submissions",
                             json=payload)
            except requests.RequestException as exc:
                refused.append(type(exc).__name__)
                time.sleep(0.2)
                continue
            if answer.status_code == 201:
                acknowledged[answer.json()["submission"]["id"]] = hashlib.sha256(content).hexdigest()
            else:
                refused.append(str(answer.status_code))
                time.sleep(0.2)

    poster = threading.Thread(target=keep_submitting)
    poster.start()
    try:
        deadline = time.monotonic() + 120
        while len(acknowledged) < 3:
            assert time.monotonic() < deadline and poster.is_alive(), refused
            time.sleep(0.1)
        os.kill(_service_master(dep), signal.SIGKILL)
        # The hub notices the exit at its next poll and starts the service again.
        while not refused:
            assert time.monotonic() < deadline + 120, "the service kept answering after SIGKILL"
            time.sleep(0.1)
        seen = len(acknowledged)
        deadline = time.monotonic() + 300
        while len(acknowledged) < seen + 3:
            assert time.monotonic() < deadline, f"the service did not come back: {refused[-5:]}"
            time.sleep(0.5)
    finally:
        stop.set()
        poster.join(120)

    stored = {s["id"]: s for s in stored_submissions(dep, name) if s["id"] not in before}
    assert set(acknowledged) <= set(stored)
    assert len(set(stored) - set(acknowledged)) <= 1, "more than the one in flight was kept unanswered"
    from sqlalchemy.orm import Session

    from submissions.db import open_engine
    from submissions.exchange.models import Submission
    from submissions.exchange.store import Store

    engine = open_engine(dep.settings.submissions_database_url)
    try:
        with Session(engine) as session:
            store = Store.for_deployment(dep.settings)
            for submission_id, digest in acknowledged.items():
                record = session.get(Submission, submission_id)
                [entry] = record.files
                stored_bytes = (store.path_of(record) / entry["name"]).read_bytes()
                assert entry["sha256"] == digest == hashlib.sha256(stored_bytes).hexdigest()
            for submission_id in set(stored) - set(acknowledged):
                record = session.get(Submission, submission_id)
                for entry in record.files:
                    data = (store.path_of(record) / entry["name"]).read_bytes()
                    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    finally:
        engine.dispose()
    queued = {j["submission_id"] for j in grading_jobs(dep)}
    assert set(stored) <= queued, "a stored submission has no grading job"
