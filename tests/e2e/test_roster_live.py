"""Roster changes reach a running hub through its REST API (real hub, proxy and system users).

``qcampus roster add`` and ``qcampus roster remove`` write ``roster.yaml`` and
then bring the running hub to it with the deployment's roster token: a learner
enrolled now logs in without a restart; a learner removed now is logged out,
their servers stop and they cannot log in, while their submissions stay.
"""

from __future__ import annotations

import pwd
import re
import secrets
import subprocess

import pytest
import requests

from hub_config.spawner import system_username
from tests.e2e.conftest import VENV, HubUser, remove_system_user, stored_submissions
from tests.e2e.test_hub import processes_of

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Scopes the roster token may hold once JupyterHub expands them (filtered group scopes apart).
ROSTER_SCOPES = {"admin:users", "admin:auth_state", "users", "read:users", "list:users",
                 "users:activity", "read:users:name", "read:users:groups", "read:users:activity",
                 "read:roles:users", "delete:users", "read:servers", "delete:servers"}


CODE = re.compile(r"^  (\S+)\t\w+\t([A-Z0-9-]{19})\t", re.M)


def qcampus(dep, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV / "bin" / "qcampus"), *args, "--home", str(dep.settings.home)],
                          env=dep.environ, capture_output=True, text=True, timeout=180)


def login(dep, name: str) -> tuple[HubUser, str]:
    user, password = HubUser(dep.url, name), secrets.token_urlsafe(12)
    response = user.login(password)
    assert response.status_code == 200, response.text[:300]
    user.open_lab()
    return user, password


def without_feedback(submissions: list[dict]) -> list[dict]:
    """Return the exchange's records of *submissions* without the feedback released since."""
    return [{key: value for key, value in row.items() if key != "feedback"} for row in submissions]


def test_enrolment_and_removal_reach_the_running_hub(shared_hub, people, tmp_path):
    """A learner added while the hub runs logs in at once; a removed one is cut off, work kept."""
    dep = shared_hub.dep
    track = dep.track
    assignment = track.assignments[0].id
    newcomer, leaver = people.name("x"), people.learner_a

    # The leaver has submitted work before being removed.
    old, _ = login(dep, leaver)
    assert old.server("POST", "assignments/fetch",
                      data={"course_id": track.id, "assignment_id": assignment}).json()["success"]
    assert old.server("POST", "assignments/submit",
                      data={"course_id": track.id, "assignment_id": assignment}).json()["success"]
    submitted = stored_submissions(dep, leaver)
    assert submitted
    home = pwd.getpwnam(system_username(leaver))

    cohort = tmp_path / "late.csv"
    cohort.write_text(f"username,role,tracks\n{newcomer},learner,{track.id}\n", encoding="utf-8")
    added = qcampus(dep, "roster", "add", str(cohort))
    assert added.returncode == 0, added.stdout + added.stderr
    assert "running hub" in added.stdout
    user, _ = login(dep, newcomer)
    listed = user.server("GET", f"assignments?course_id={track.id}")
    assert listed.status_code == 200, listed.text[:300]
    assert assignment in [a["assignment_id"] for a in listed.json()["value"]]

    removed = qcampus(dep, "roster", "remove", leaver)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "running hub" in removed.stdout
    # The open session ends, the server is gone, and a new login is refused.
    assert old.session.get(f"{dep.url}/hub/api/user").status_code in (401, 403)
    assert not processes_of(home.pw_uid, "jupyterhub-singleuser")
    again = HubUser(dep.url, leaver)
    assert again.login(secrets.token_urlsafe(12)).status_code == 403
    # Submissions, the system user and the home stay (the grading service may have
    # released feedback meanwhile: the submission is still the same one).
    assert without_feedback(stored_submissions(dep, leaver)) == without_feedback(submitted)
    assert pwd.getpwnam(system_username(leaver)).pw_dir == home.pw_dir

    # Re-enrolled, they choose a password again and find the same home.
    cohort.write_text(f"username,role,tracks\n{leaver},learner,{track.id}\n", encoding="utf-8")
    assert qcampus(dep, "roster", "add", str(cohort)).returncode == 0
    back, _ = login(dep, leaver)
    assert pwd.getpwnam(system_username(leaver)).pw_uid == home.pw_uid
    assert back.server("GET", f"api/contents/{track.id}/{assignment}").status_code == 200


def test_roster_token_holds_only_its_scopes_and_cannot_escalate(shared_hub):
    """The token in hub/roster-token has no scope beyond user admin, group membership and stopping servers."""
    dep = shared_hub.dep
    token = (dep.settings.hub_dir / "roster-token").read_text().strip()
    api = requests.Session()
    api.headers["Authorization"] = f"token {token}"
    me = api.get(f"{dep.url}/hub/api/user", timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["kind"] == "service"
    scopes = set(me.json()["scopes"])
    unfiltered = {s for s in scopes if "!" not in s}
    assert unfiltered <= ROSTER_SCOPES, unfiltered - ROSTER_SCOPES
    assert {s.split("!", 1)[0] for s in scopes - unfiltered} <= {"groups", "read:groups",
                                                                 "list:groups", "read:groups:name"}
    # Escalation attempts: make a learner an admin, mint a token, start or open a server.
    learner = dep.people.learner_b
    assert api.patch(f"{dep.url}/hub/api/users/{learner}", json={"admin": True},
                     timeout=10).status_code == 403
    assert api.post(f"{dep.url}/hub/api/users/{learner}/tokens", json={},
                    timeout=10).status_code == 403
    assert api.post(f"{dep.url}/hub/api/users/{learner}/server", timeout=10).status_code == 403
    assert api.post(f"{dep.url}/hub/api/groups/not-managed", timeout=10).status_code == 403
    assert api.post(f"{dep.url}/hub/api/users", json={"usernames": ["qceboss"], "admin": True},
                    timeout=10).status_code == 403


def test_staff_enrolled_while_the_hub_runs_activate_with_the_printed_code(shared_hub, people,
                                                                        tmp_path):
    """An examiner added to a running hub gets a code as before, activates, logs in, is an examiner."""
    dep = shared_hub.dep
    name = people.name("e")
    cohort = tmp_path / "staff.csv"
    cohort.write_text(f"username,role,tracks\n{name},examiner,\n", encoding="utf-8")
    try:
        added = qcampus(dep, "roster", "add", str(cohort))
        assert added.returncode == 0, added.stdout + added.stderr
        assert "running hub" in added.stdout
        codes = dict(CODE.findall(added.stdout))
        assert name in codes
        staff, password = HubUser(dep.url, name), secrets.token_urlsafe(12)
        assert staff.login(password).status_code == 403  # not activated: no first-use claim
        assert staff.activate(codes[name], password).status_code == 200
        assert staff.login(password).status_code == 200
        me = staff.session.get(f"{dep.url}/hub/api/user",
                               headers={"X-XSRFToken": staff.hub_xsrf()}).json()
        assert me["groups"] == ["examiners"]
    finally:
        remove_system_user(system_username(name))
