"""Staff accounts cannot be claimed by whoever logs in first (real hub, real proxy).

Before activation codes, the first visitor who typed an enrolled instructor's
name chose that account's password and became the instructor. Now a staff
account's first login is refused until its owner activates it at
``/hub/activate`` with the one-time code ``qcampus roster`` prints.
"""

from __future__ import annotations

import re
import secrets
import signal
import subprocess
from pathlib import Path

import pytest

from qcampus import courses, settings
from tests.e2e.conftest import ACTIVATION_CODES, VENV, HubUser, first_track

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CODE = re.compile(r"^  (\S+)\t\w+\t([A-Z0-9-]{19})\t", re.M)


def test_first_visitor_cannot_claim_an_instructor_account(shared_hub):
    """An attacker's first login as the instructor is refused; the owner activates once with the code."""
    dep = shared_hub.dep
    name = dep.people.instructor
    ACTIVATION_CODES.pop(name, None)  # this test uses the code the command prints

    attacker = HubUser(dep.url, name)
    claimed = attacker.login("attacker-chosen-password")
    assert claimed.status_code == 403, claimed.status_code
    assert "not activated" in claimed.text
    assert attacker.session.get(f"{dep.url}/hub/api/user").status_code in (401, 403)

    # The operator prints a code (as `qcampus roster add` does for new staff).
    printed = subprocess.run([str(VENV / "bin" / "qcampus"), "roster", "activate", name,
                              "--home", str(dep.settings.home)], env=dep.environ,
                             capture_output=True, text=True, check=True, timeout=60).stdout
    [(who, code)] = CODE.findall(printed)
    assert who == name

    owner = HubUser(dep.url, name)
    password = secrets.token_urlsafe(12)
    wrong = owner.activate("AAAA-BBBB-CCCC-DDDD", password)
    assert wrong.status_code == 400 and "wrong, expired or already used" in wrong.text
    done = owner.activate(code, password)
    assert done.status_code == 200 and "is active" in done.text
    assert owner.login(password).status_code == 200
    assert owner.session.get(f"{dep.url}/hub/api/user").json()["name"] == name

    # The code works once: a second use (by the attacker, say) changes nothing.
    again = HubUser(dep.url, name).activate(code, "attacker-chosen-password")
    assert again.status_code == 400
    assert HubUser(dep.url, name).login("attacker-chosen-password").status_code == 403
    # The code never reaches the hub's log.
    log = (dep.settings.logs / "jupyterhub.log").read_text(errors="replace")
    assert code not in log and code.replace("-", "") not in log


def test_learner_keeps_first_use_by_default(shared_hub):
    """A learner still chooses a password at first login unless the operator turns it off."""
    dep = shared_hub.dep
    learner = HubUser(dep.url, dep.people.learner_a)
    assert learner.login(secrets.token_urlsafe(12)).status_code == 200


def one_track_source(source: Path, track: str, where: Path) -> Path:
    """Return a courses source in *where* holding *source*'s shared files and only *track*."""
    where.mkdir()
    for entry in source.iterdir():
        if entry.name == track or not (entry / "track.yaml").is_file():
            (where / entry.name).symlink_to(entry)
    return where


def test_demo_instructor_logs_in_with_the_written_password(deployment_ready, tmp_path):
    """`qcampus up --demo` still gives its instructor a working login (password in secrets/).

    On one track of the courses: releasing every track's assignments is generate_assignment's
    and the exchange's work, proved for each assignment elsewhere (tests/courses, test_courses).
    """
    dep = deployment_ready
    source = one_track_source(dep.settings.courses_source, first_track(dep.settings.courses_source).id,
                              tmp_path / "courses")
    env = {**dep.environ, "QCAMPUS_COURSES__SOURCE": str(source)}
    proc = subprocess.Popen([str(VENV / "bin" / "qcampus"), "up", "--demo", "--home",
                             str(dep.settings.home)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = proc.stdout.readline()
        assert "is running" in banner, banner + proc.stdout.read()
        accounts = dict(line.split("\t")[::2] for line in
                        (dep.settings.secrets / "demo-accounts.txt").read_text().splitlines())
        instructor = HubUser(dep.url, "instructor")
        instructor.session.get(f"{dep.url}/hub/login")
        # No redirect to a server: the demo's system users are not this test's to create.
        response = instructor.session.post(f"{dep.url}/hub/login", allow_redirects=False, data={
            "username": "instructor", "password": accounts["instructor"],
            "_xsrf": instructor.hub_xsrf()})
        assert response.status_code == 302, response.status_code
        assert instructor.session.get(f"{dep.url}/hub/api/user").json()["name"] == "instructor"
        track = first_track(source)   # and the demo released every assignment of its tracks
        assert (courses.released(settings.load(dep.settings.home, env), track)
                == {assignment.id for assignment in track.assignments})
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
