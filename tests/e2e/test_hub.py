"""The whole learner loop and its refusals against a real hub, proxy and system users."""

from __future__ import annotations

import copy
import json
import os
import pwd
import secrets
import signal
import stat
import time
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from nbgrader.api import Gradebook

from hub_config import launcher
from hub_config.spawner import system_username
from qcampus import roster
from tests.e2e.conftest import HubProcess, HubUser, grading_jobs, remove_system_user, stored_submissions

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def processes_of(uid: int, needle: str) -> list[int]:
    """Return pids owned by *uid* whose command line contains *needle*."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if proc.stat().st_uid == uid and needle.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
    return found


def solved(released: dict, source: dict, solve: set[str]) -> dict:
    """Return the released notebook with the source's solutions of the *solve* cells put in."""
    answers = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in source["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution")}
    notebook = copy.deepcopy(released)
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in solve:
            text = answers[grade_id] if isinstance(answers[grade_id], str) else "".join(answers[grade_id])
            cell["source"] = "\n".join(line for line in text.splitlines() if "### " not in line)
    return notebook


def points(source: dict, grade_ids: set[str]) -> float:
    """Return the points of the test cells that check *grade_ids* (by naming convention)."""
    total = 0.0
    for cell in source["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade") and meta["grade_id"].removeprefix("test-") in grade_ids:
            total += meta["points"]
    return total


def login_and_spawn(dep, name: str) -> tuple[HubUser, str]:
    user = HubUser(dep.url, name)
    password = secrets.token_urlsafe(12)
    response = user.login(password)
    assert response.status_code == 200, response.text[:300]
    user.open_lab()
    return user, password


def test_learner_loop(shared_hub):
    """Enrolled learner logs in, fetches, solves part, submits; autograde scores it; feedback returns."""
    learner_loop(shared_hub.dep)


def learner_loop(dep) -> None:
    """Log a learner in, fetch, solve all parts but one, submit; wait for score and feedback."""
    track = dep.track
    assignment = track.assignments[0].id
    name = dep.people.learner_a
    user, _ = login_and_spawn(dep, name)

    # The server runs as the learner's own system user, in a private home.
    entry = pwd.getpwnam(system_username(name))
    assert entry.pw_uid != 0
    assert processes_of(entry.pw_uid, "jupyterhub-singleuser")
    assert stat.S_IMODE(os.stat(entry.pw_dir).st_mode) == 0o700
    # Course directories (solutions, gradebook) are closed to learners.
    assert stat.S_IMODE(os.stat(dep.course_dir()).st_mode) & 0o007 == 0

    listed = user.server("GET", f"assignments?course_id={track.id}")
    assert listed.status_code == 200
    assert [a["assignment_id"] for a in listed.json()["value"]] == [assignment]
    fetched = user.server("POST", "assignments/fetch",
                          data={"course_id": track.id, "assignment_id": assignment})
    assert fetched.json()["success"], fetched.text
    nb_path = f"{track.id}/{assignment}/{assignment}.ipynb"
    released = user.server("GET", f"api/contents/{nb_path}").json()["content"]
    assert (Path(entry.pw_dir) / nb_path).stat().st_uid == entry.pw_uid

    source = json.loads((track.path / "source" / assignment / f"{assignment}.ipynb").read_text())
    solution_ids = [c["metadata"]["nbgrader"]["grade_id"] for c in source["cells"]
                    if c["metadata"].get("nbgrader", {}).get("solution")]
    solve = set(solution_ids[:-1]) if len(solution_ids) > 1 else set(solution_ids)
    saved = user.server("PUT", f"api/contents/{nb_path}",
                        json={"type": "notebook", "content": solved(released, source, solve)})
    assert saved.status_code == 200, saved.text[:300]
    submitted = user.server("POST", "assignments/submit",
                            data={"course_id": track.id, "assignment_id": assignment})
    assert submitted.json()["success"], submitted.text

    # No instructor acts: the grading service grades the submission and releases its feedback.
    entry_listed = wait_for_feedback(user, track.id, assignment)
    assert entry_listed["student_id"] == name
    course_dir = dep.course_dir()
    gradebook_url = dep.settings.gradebook_url(track.id)
    if gradebook_url.startswith("sqlite:"):
        # What root wrote stays writable by the instructors' group, closed to others.
        gradebook_file = course_dir / "gradebook.db"
        assert stat.S_IMODE(gradebook_file.stat().st_mode) & 0o067 == 0o060
    else:
        # database.url: the gradebook is the course's schema on the server, not a file.
        assert not (course_dir / "gradebook.db").exists()
    with Gradebook(gradebook_url) as gradebook:
        submission = gradebook.find_submission(assignment, name)
        assert submission.score == points(source, solve), grading_jobs(dep)
        assert submission.max_score == points(source, set(solution_ids))

    feedback = user.server("POST", "assignments/fetch_feedback",
                           data={"course_id": track.id, "assignment_id": assignment})
    assert feedback.json()["success"], feedback.text
    feedback_dir = Path(entry.pw_dir) / track.id / assignment / "feedback"
    [page] = list(feedback_dir.rglob(f"{assignment}.html"))
    html = page.read_text()
    assert f"{points(source, solve):g}" in html
    # Hidden tests stay hidden: none of their code reaches the learner's feedback.
    hidden_lines = hidden_test_lines(source)
    assert hidden_lines, "the assignment has hidden tests, or this check would mean nothing"
    for hidden in hidden_lines:
        assert hidden not in html and escape(hidden) not in html, hidden
    # What grading wrote into the course (autograded copy, feedback page) is closed to learners.
    graded = [p for folder in ("autograded", "feedback")
              for p in (course_dir / folder / name).rglob("*")]
    assert [p.name for p in graded if p.suffix == ".html"] == [f"{assignment}.html"]
    assert [str(p) for p in graded if stat.S_IMODE(p.lstat().st_mode) & 0o007] == []


def wait_for_feedback(user: HubUser, course: str, assignment: str, timeout: float = 600) -> dict:
    """Poll the Assignments tab's list until the newest submission has feedback; return its entry."""
    deadline = time.monotonic() + timeout
    while True:
        listed = user.server("GET", f"assignments?course_id={course}").json()["value"]
        submitted = [a for a in listed if a["status"] == "submitted"
                     and a["assignment_id"] == assignment]
        if submitted and submitted[0]["submissions"][-1]["has_exchange_feedback"]:
            return submitted[0]
        assert time.monotonic() < deadline, f"no feedback after {timeout} s: {listed}"
        time.sleep(1)


def hidden_test_lines(source: dict) -> list[str]:
    """Return the distinctive lines between the hidden-test markers of a source notebook."""
    found = []
    for cell in source["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        inside = False
        for line in text.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 12:
                found.append(line.strip())
    return found


def test_refusals(shared_hub):
    """Wrong password, unenrolled name, another learner's server and formgrader are refused."""
    dep = shared_hub.dep
    a_name, b_name = dep.people.learner_a, dep.people.learner_b
    user_a, password_a = login_and_spawn(dep, a_name)
    user_b, _ = login_and_spawn(dep, b_name)

    # A wrong password for an account whose password is set.
    intruder = HubUser(dep.url, a_name)
    response = intruder.login(password_a + "x")
    assert response.status_code == 403
    assert "Invalid username or password" in response.text
    # A name nobody enrolled cannot claim an account by choosing a password.
    stranger = HubUser(dep.url, dep.people.name("x"))
    assert stranger.login(secrets.token_urlsafe(12)).status_code == 403
    # The demo instructor's name is not enrolled in this deployment either.
    assert HubUser(dep.url, "instructor").login(secrets.token_urlsafe(12)).status_code == 403
    # A 10 KB username is refused and never written whole into the log.
    assert HubUser(dep.url, "q" * 10_000).login("x" * 20).status_code == 403
    log = (dep.settings.logs / "jupyterhub.log").read_text(errors="replace")
    assert "q" * 1000 not in log
    # The hub's pages carry the security headers.
    page = HubUser(dep.url, a_name).session.get(f"{dep.url}/hub/login")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    # After login, `next` may only lead back into this hub.
    for evil in ("//evil.example/x", "https://evil.example/x", "/\\evil.example/x"):
        redirector = HubUser(dep.url, a_name)
        redirector.session.get(f"{dep.url}/hub/login")
        response = redirector.session.post(
            f"{dep.url}/hub/login", params={"next": evil}, allow_redirects=False,
            data={"username": a_name, "password": password_a,
                  "_xsrf": redirector.hub_xsrf()})
        assert response.status_code == 302
        location = response.headers["Location"]
        # A path on the hub, or the user's own server on its subdomain; never "//", a raw
        # backslash a browser reads as one, or another host.
        assert "\\" not in location, (evil, location)
        parts = urlsplit(location)
        if parts.netloc:
            assert f"{parts.scheme}://{parts.netloc}" in (dep.url, user_a.origin), (evil, location)
        else:
            assert location.startswith("/") and not location.startswith("//"), (evil, location)
    # A login without the XSRF token is refused.
    bare = HubUser(dep.url, a_name)
    assert bare.session.post(f"{dep.url}/hub/login",
                             data={"username": a_name, "password": password_a}).status_code == 403

    # A login cookie copied before logout is refused after it.
    leaver = HubUser(dep.url, a_name)
    assert leaver.login(password_a).status_code == 200
    stolen = leaver.session.cookies.get("jupyterhub-hub-login", path="/hub/")
    assert leaver.session.get(f"{dep.url}/hub/api/user").status_code == 200
    leaver.session.get(f"{dep.url}/hub/logout")
    replay = HubUser(dep.url, a_name)
    replay.session.cookies.set("jupyterhub-hub-login", stolen, path="/hub/")
    assert replay.session.get(f"{dep.url}/hub/api/user").status_code == 403
    assert "/hub/login" in replay.session.get(f"{dep.url}/hub/home").url
    # Learner B cannot open learner A's running server, by page or by API.
    for path in ("lab", "api/contents", f"api/contents/{dep.track.id}"):
        # On A's own origin, and through the hub's (which sends the browser there).
        for url in (user_a.url(path), f"{dep.url}/user/{a_name}/{path}"):
            response = user_b.session.get(url)
            assert response.status_code in (403, 404), (url, response.status_code)
            assert "jupyterlab" not in response.text.lower() or response.status_code != 200
    # A's token-in-URL trick does not work either (no token is accepted from B's session).
    assert user_b.session.get(user_a.url("api/status"),
                              headers={"Authorization": "token nonsense"}).status_code == 403
    # Cross-site form posts are refused, also when the browser marks them no-cors.
    for headers in ({}, {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "cross-site"}):
        forged = user_b.session.post(
            user_b.url("assignments/submit"), headers=headers,
            data={"course_id": dep.track.id, "assignment_id": dep.track.assignments[0].id})
        assert forged.status_code == 403, headers
        assert bare.session.post(f"{dep.url}/hub/login", headers=headers,
                                 data={"username": a_name, "password": password_a}).status_code == 403
    # Formgrader is not served in learners' servers.
    assert user_b.server("GET", "formgrader").status_code == 404
    assert user_b.server("GET", "formgrader/api/assignments").status_code == 404
    # The hub API refuses a learner reading another user.
    api = user_b.session.get(f"{dep.url}/hub/api/users/{a_name}",
                             headers={"X-XSRFToken": user_b.hub_xsrf()})
    assert api.status_code in (403, 404)
    # Homes are private between learners.
    home_a = Path(pwd.getpwnam(system_username(a_name)).pw_dir)
    assert stat.S_IMODE(home_a.stat().st_mode) == 0o700


def open_formgrader(dep, user: HubUser, track: str) -> requests.Response:
    """Start *user*'s per-track server and wait for its formgrader; return its assignment list."""
    started = user.session.post(f"{dep.url}/hub/api/users/{user.name}/servers/{track}",
                                headers={"X-XSRFToken": user.hub_xsrf()})
    assert started.status_code in (201, 202), started.text
    deadline = time.monotonic() + 120
    while True:
        response = user.session.get(user.url("formgrader/api/assignments", server=track))
        if response.status_code == 200 and response.url.endswith("/formgrader/api/assignments"):
            return response
        assert time.monotonic() < deadline, (response.status_code, response.url)
        time.sleep(0.5)


def test_instructor_reaches_formgrader(shared_hub):
    """An instructor's per-track server runs formgrader on that track's course directory."""
    dep = shared_hub.dep
    user = HubUser(dep.url, dep.people.instructor)
    assert user.login(secrets.token_urlsafe(12)).status_code == 200
    track = dep.track.id
    response = open_formgrader(dep, user, track)
    names = [a["name"] for a in response.json()]
    assert dep.track.assignments[0].id in names
    # A learner cannot start a named (formgrader) server: the spawn fails and nothing runs.
    learner, _ = login_and_spawn(dep, dep.people.learner_b)
    hub_xsrf = {"X-XSRFToken": learner.hub_xsrf()}
    learner.session.post(f"{dep.url}/hub/api/users/{learner.name}/servers/{track}", headers=hub_xsrf)
    deadline = time.monotonic() + 60
    while True:
        model = learner.session.get(f"{dep.url}/hub/api/users/{learner.name}", headers=hub_xsrf).json()
        named = model["servers"].get(track)
        if named is None or not named.get("pending"):
            break
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert named is None or not named.get("ready")
    assert learner.session.get(learner.url("api/status", server=track)).status_code != 200


def without_feedback(submission: dict) -> dict:
    """Return a stored submission's record without the feedback the grading service adds later."""
    return {key: value for key, value in submission.items() if key != "feedback"}


def test_sigkill_and_restart_keep_everything(running_hub):
    """After SIGKILL of the hub, a restart keeps the user, the password, the enrolment and the submission."""
    dep = running_hub.dep
    track = dep.track
    assignment = track.assignments[0].id
    name = dep.people.learner_a
    user, password = login_and_spawn(dep, name)
    user.server("POST", "assignments/fetch", data={"course_id": track.id, "assignment_id": assignment})
    assert user.server("POST", "assignments/submit",
                       data={"course_id": track.id, "assignment_id": assignment}).json()["success"]
    submissions = stored_submissions(dep, name)
    assert [s["student_id"] for s in submissions] == [name]

    os.kill(running_hub.hub_pid(), signal.SIGKILL)
    running_hub.proc.wait(60)
    restarted = HubProcess(dep)
    try:
        # The culler orphaned by the killed hub was stopped before the restart.
        assert launcher.stop_orphaned_services(dep.settings) == []
        again = HubUser(dep.url, name)
        assert again.login(password + "wrong").status_code == 403
        assert again.login(password).status_code == 200
        again.open_lab()
        # The grading service may have attached feedback meanwhile; what was submitted is unchanged.
        assert [without_feedback(s) for s in stored_submissions(dep, name)] == \
            [without_feedback(s) for s in submissions]
        assert name in roster.load(dep.settings.home)
        listed = again.server("GET", f"assignments?course_id={track.id}").json()["value"]
        assert {a["status"] for a in listed} >= {"submitted"}
    finally:
        out = restarted.stop()
    assert "Stopped" in out


def test_ctrl_c_stops_everything(running_hub):
    """Ctrl-C stops the hub, the proxy and the learners' servers; nothing of theirs keeps running."""
    dep = running_hub.dep
    name = dep.people.learner_b
    login_and_spawn(dep, name)
    uid = pwd.getpwnam(system_username(name)).pw_uid
    assert processes_of(uid, "jupyterhub-singleuser")
    out = running_hub.stop()
    assert "Stopped" in out
    assert not processes_of(uid, "jupyterhub-singleuser")
    marker = f"QCAMPUS_HOME={dep.settings.home}".encode()
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _has_env(p, marker)]
    assert not (dep.settings.hub_dir / "proxy.pid").exists() or not _alive(dep.settings.hub_dir / "proxy.pid")


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (ProcessLookupError, ValueError):
        return False
    return True


def _has_env(proc: Path, marker: bytes) -> bool:
    try:
        return marker in (proc / "environ").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False


def test_workshop_mode_gives_temporary_accounts(deployment_ready):
    """In workshop mode a visitor gets a temporary account whose server runs as its own system user."""
    dep = deployment_ready
    dep.environ["QCAMPUS_HUB__AUTHENTICATOR"] = "workshop"
    hub = HubProcess(dep)
    names = []
    try:
        for _ in range(2):
            visitor = HubUser(dep.url, "")
            response = visitor.session.get(f"{dep.url}/hub/tmplogin")
            assert response.status_code == 200
            xsrf = {"X-XSRFToken": visitor.hub_xsrf()}
            visitor.name = visitor.session.get(f"{dep.url}/hub/api/user", headers=xsrf).json()["name"]
            names.append(visitor.name)
            visitor.open_lab()
            entry = pwd.getpwnam(system_username(visitor.name))
            assert entry.pw_uid != 0 and len(entry.pw_name) <= 32
            assert processes_of(entry.pw_uid, "jupyterhub-singleuser")
        assert names[0] != names[1]
    finally:
        hub.stop()
        for name in names:
            remove_system_user(system_username(name))
