"""Learners' system users cannot read what decides grades and certificates.

Each test reproduces an attack seen on a demo deployment: a learner's account
(the real system user ``jupyter-<name>`` the spawner creates) tries to read the
course sources (solutions, hidden tests), answer keys, gradebooks, the
certificates database with its WAL side files, and the deployment's secrets.
Reading runs through ``setpriv`` with the learner's uid and gid and no
supplementary groups, exactly what the learner's own processes hold.
"""

from __future__ import annotations

import os
import pwd
import secrets
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests

from hub_config.spawner import ensure_system_user, system_username
from tests.e2e.conftest import VENV, HubUser
from tests.e2e.test_hub import processes_of

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def run_as(name: str, *command: str, text: bool = False) -> subprocess.CompletedProcess:
    """Run *command* as system user *name*, without supplementary groups."""
    entry = pwd.getpwnam(name)
    return subprocess.run(["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                           "--clear-groups", *command],
                          capture_output=True, text=text, check=False, timeout=60)


def read_as(name: str, path: Path) -> subprocess.CompletedProcess[bytes]:
    """Try to read *path* as system user *name* (no supplementary groups)."""
    return run_as(name, "cat", "--", str(path))


def list_as(name: str, path: Path) -> subprocess.CompletedProcess[bytes]:
    """Try to list the directory *path* as system user *name*."""
    return run_as(name, "ls", "-a", "--", str(path))


def assert_unreadable(name: str, path: Path) -> None:
    """Fail naming *path* if system user *name* can read it."""
    assert path.exists(), f"{path} should exist for this test to mean anything"
    attempt = list_as(name, path) if path.is_dir() else read_as(name, path)
    assert attempt.returncode != 0, f"{name} could read {path}: {attempt.stdout[:200]!r}"
    assert b"Permission denied" in attempt.stderr, attempt.stderr


def git_dir_of(path: Path) -> Path | None:
    """Return the ``.git`` directory of the work tree holding *path*, if any."""
    for parent in [path, *path.parents]:
        if (parent / ".git").is_dir():
            return parent / ".git"
    return None


@pytest.fixture
def learner(shared_hub) -> str:
    """Return the system user of learner A, created as the spawner creates it."""
    name = system_username(shared_hub.dep.people.learner_a)
    ensure_system_user(name)
    return name


def test_learner_cannot_read_solutions_hidden_tests_or_gradebook(shared_hub, learner):
    """After init, a learner's uid reads no source notebook, answer key, exam item, gradebook or git."""
    dep = shared_hub.dep
    source = dep.settings.courses_source
    track = dep.track
    assignment = track.assignments[0].id
    notebooks = sorted((track.path / "source" / assignment).glob("*.ipynb"))
    assert notebooks and b"BEGIN SOLUTION" in notebooks[0].read_bytes()
    # The checkout's sources: solutions and hidden tests, and the answer-key lists.
    assert_unreadable(learner, notebooks[0])
    assert_unreadable(learner, source)
    assert_unreadable(learner, track.path / "track.yaml")
    for mistakes in (track.path / "wrong-answers").glob("*.yaml"):
        assert_unreadable(learner, mistakes)
    # The exam bank: every item's key and the examiners' rationales.
    items = sorted((source / "exams" / "bank").glob("*/*.yaml"))
    assert items and "rationale:" in items[0].read_text(encoding="utf-8")
    assert_unreadable(learner, source / "exams" / "bank")
    assert_unreadable(learner, items[0])
    # The deployment's course directory: its copy of the sources and the gradebook.
    course = dep.course_dir()
    assert_unreadable(learner, course / "source" / assignment / notebooks[0].name)
    assert_unreadable(learner, course / "gradebook.db")
    # A checkout's history holds every solution ever committed.
    git = git_dir_of(source)
    if git is not None:
        assert_unreadable(learner, git)
        assert_unreadable(learner, git / "HEAD")
    # The exchange's store (every release, submission and feedback page) and its records:
    # learners reach them only through the service, which checks who asks.
    store = dep.settings.home / "submissions"
    assert_unreadable(learner, store)
    assert_unreadable(learner, Path(dep.settings.submissions_database_url.removeprefix("sqlite:///")))
    # There is no shared exchange directory left to rename, forge names in, or link out of.
    assert not dep.settings.exchange.exists()


def test_learner_cannot_read_certificates_database_or_secrets(shared_hub, learner):
    """With the service using its database, a learner's uid reads neither it, its WAL files, nor secrets."""
    dep = shared_hub.dep
    # The service opens the database (and SQLite its -wal/-shm files) to answer.
    port = dep.settings["hub"]["certificates_port"]
    response = requests.get(f"http://127.0.0.1:{port}/services/qcampus/status/revocation", timeout=30)
    assert response.status_code == 200, response.status_code
    database = Path(dep.settings.certificates_database_url.removeprefix("sqlite:///"))
    assert_unreadable(learner, database)
    for suffix in ("-wal", "-shm"):
        side = database.with_name(database.name + suffix)
        if side.exists():
            assert_unreadable(learner, side)
    secrets_dir = dep.settings.secrets
    for path in [p for p in secrets_dir.rglob("*") if p.is_file()]:
        assert_unreadable(learner, path)
    assert_unreadable(learner, dep.settings.hub_dir)
    assert_unreadable(learner, dep.settings.logs / "jupyterhub.log")


def test_status_finds_no_exposure_on_a_running_deployment(shared_hub):
    """`qcampus status` on a running deployment reports no path open to learners."""
    dep = shared_hub.dep
    result = subprocess.run([str(VENV / "bin" / "qcampus"), "status", "--home", str(dep.settings.home)],
                            env=dep.environ, capture_output=True, text=True, check=False, timeout=120)
    exposed = [line for line in result.stdout.splitlines()
               if line.startswith("ERROR") and "(mode " in line]
    assert exposed == [], result.stdout
    assert "ok    permissions:" in result.stdout


def output_of(pid: int, fd: int) -> tuple[int, int]:
    """Return (device, inode) of what process *pid* writes to as file descriptor *fd*."""
    info = os.stat(f"/proc/{pid}/fd/{fd}")
    return info.st_dev, info.st_ino


def test_learner_server_has_its_own_log_not_the_hubs(shared_hub):
    """A learner's server and kernel write to its own 0600 log; they can neither read nor write the hub's."""
    dep = shared_hub.dep
    name = dep.people.learner_a
    user = HubUser(dep.url, name)
    assert user.login(secrets.token_urlsafe(12)).status_code == 200
    user.open_lab()
    system = system_username(name)
    uid = pwd.getpwnam(system).pw_uid
    [server] = processes_of(uid, "jupyterhub-singleuser")
    # A kernel inherits its server's output: it must not be the hub's either.
    started = user.server("POST", "api/kernels", json={"name": "python3"})
    assert started.status_code == 201, started.status_code
    deadline = time.monotonic() + 60
    while not (kernels := processes_of(uid, "ipykernel")) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert kernels, "the kernel did not start"
    hub = shared_hub.hub_pid()
    for pid in (server, *kernels):
        for fd in (1, 2):
            assert output_of(pid, fd) != output_of(hub, 1), f"{pid} fd {fd} is the hub's output"
            assert output_of(pid, fd) != output_of(hub, 2)
    # Reopening its own descriptors (as /proc allows) gives the learner nothing of the hub's log.
    hub_log = dep.settings.logs / "jupyterhub.log"
    for fd in (1, 2):
        attempt = read_as(system, Path(f"/proc/{server}/fd/{fd}"))
        assert f"{dep.people.learner_b}".encode() not in attempt.stdout
        assert b"JupyterHub app" not in attempt.stdout and b"oauth" not in attempt.stdout.lower()
    assert_unreadable(system, hub_log)
    assert stat.S_IMODE(hub_log.stat().st_mode) == 0o600
    # The server's own log, root's to read, says the server started.
    [log] = list((dep.settings.logs / "servers").glob(f"{system}*.log"))
    assert output_of(server, 1) == (log.stat().st_dev, log.stat().st_ino)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert b"Jupyter Server" in log.read_bytes()
    assert_unreadable(system, log.parent)
