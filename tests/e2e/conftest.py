"""Fixtures that run a real qcampus hub (JupyterHub, configurable-http-proxy, system users).

- ``people``: fresh, unique hub names for one test (prefix ``qce``), whose system
  users (``jupyter-qce...``) and their processes are removed afterwards.
- ``deployment``: a deployment in ``qcampus_home`` with the repository's
  ``courses/`` (or a tiny synthetic track if the foundations track is absent),
  four free ports (hub, hub API, proxy API, certificates service), the people
  enrolled (one instructor, two learners) in the foundations track and its first
  assignment released through the exchange.
- ``database_settings``: with ``QCAMPUS_TEST_DATABASE=postgresql``, ``database.url``
  set to a fresh database on the PostgreSQL server here (dropped afterwards), so
  the hub, gradebooks, submissions and certificates all run on it; SQLite files otherwise.
- ``running_hub``: ``qcampus up`` started as a real process on that deployment;
  stopped with SIGINT (as Ctrl-C) afterwards.
- ``shared_hub``: one deployment and hub that every test asking for it shares,
  each test with its own people enrolled (``SharedHub``); for tests that neither
  stop the hub nor change its settings.
- ``ACTIVATION_CODES``: the one-time codes ``deployment_ready`` issued to its staff
  (the instructor); ``HubUser.login`` (or ``activate_staff``, before a browser's
  login) activates such an account with its code at the first login, choosing the
  password given, as staff do at ``/hub/activate``.
- ``HubUser``: a ``requests`` session that logs in through the HTTP form (with XSRF)
  and reaches the user's own server on the user's subdomain.
- ``localhost_subdomains`` (autouse): ``*.localhost`` resolves to loopback in this
  process, as browsers resolve it (glibc does not), so ``requests`` reaches the
  users' and services' origins.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import pwd
import random
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from jupyterhub.utils import subdomain_hook_idna
from requests.adapters import HTTPAdapter

from hub_config.spawner import system_username
from qcampus import courses, deployment, roster, settings
from qcampus.activation import Activations
from tests.conftest import fresh_home

REPO = Path(__file__).resolve().parents[2]
VENV = Path("/opt/qcampus/venv")
PREFIX = "qce"


_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.lower().rstrip(".").endswith(".localhost"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


def _to_localhost(domain: str, request) -> bool:
    return domain == ".localhost" and urlsplit(request.get_full_url()).hostname == "localhost"


_policy = http.cookiejar.DefaultCookiePolicy
_stock_domain_return_ok = _policy.domain_return_ok
_stock_return_ok_domain = _policy.return_ok_domain


def _domain_return_ok(self, domain, request):
    return _to_localhost(domain, request) or _stock_domain_return_ok(self, domain, request)


def _return_ok_domain(self, cookie, request):
    return _to_localhost(cookie.domain, request) or _stock_return_ok_domain(self, cookie, request)


def behave_like_a_browser_on_localhost(setattr_=setattr) -> None:
    """Reach ``*.localhost`` and share its cookies with ``localhost`` as browsers do.

    glibc does not resolve ``*.localhost`` (RFC 6761; Chromium does), and
    http.cookiejar files the dotless host ``localhost`` as ``localhost.local``, so the
    hub's ``jupyterhub-session-id`` (``Domain=localhost``, shared with the users'
    subdomains) would never return to the hub, whose XSRF check is bound to it.
    requests builds a fresh cookie jar per request, so the policy is patched on the
    class. *setattr_* is ``monkeypatch.setattr`` in tests (undone afterwards).
    """
    setattr_(socket, "getaddrinfo", _loopback_getaddrinfo)
    setattr_(_policy, "domain_return_ok", _domain_return_ok)
    setattr_(_policy, "return_ok_domain", _return_ok_domain)


@pytest.fixture(autouse=True)
def localhost_subdomains(monkeypatch) -> None:
    """Resolve ``*.localhost`` and handle its cookies as a browser would, for this test."""
    behave_like_a_browser_on_localhost(monkeypatch.setattr)


def free_port_block(size: int = 3) -> int:
    """Return a port p such that p .. p+size-1 are free on loopback.

    The block is drawn below the kernel's ephemeral range, where no outgoing
    connection (a load test on loopback, say) can take a port between this check
    and the servers' start. Probes bind with ``SO_REUSEADDR``, as the hub, the proxy
    and the services do, so ports holding only TIME_WAIT connections count as free.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(max(1024, low - 12000), low - size)
        try:
            held = []
            for port in range(base, base + size):
                sock = socket.socket()
                held.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        return base
    raise RuntimeError("no free port block on loopback")


def remove_system_user(name: str) -> None:
    """Stop every process of system user *name*, then delete the user and its home."""
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    for _ in range(50):
        pids = [int(p.name) for p in Path("/proc").iterdir()
                if p.name.isdigit() and _owner(p) == uid]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # already gone
        time.sleep(0.1)
    subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)


def _owner(proc: Path) -> int:
    try:
        return proc.stat().st_uid
    except FileNotFoundError:
        return -1


@dataclass
class People:
    """Unique hub names of one test."""

    tag: str

    def name(self, role: str) -> str:
        return f"{PREFIX}{self.tag}{role}"

    @property
    def instructor(self) -> str:
        return self.name("i")

    @property
    def learner_a(self) -> str:
        return self.name("a")

    @property
    def learner_b(self) -> str:
        return self.name("b")

    @property
    def all(self) -> list[str]:
        return [self.instructor, self.learner_a, self.learner_b]


def new_people() -> People:
    return People(uuid.uuid4().hex[:6])


def remove_people(found: People) -> None:
    """Delete the system users (and stop the processes) of *found*."""
    for name in found.all + [found.name("x")]:
        remove_system_user(system_username(name))


@pytest.fixture
def people(request) -> Iterator[People]:
    """Yield unique names; delete their system users and processes afterwards.

    A test on the ``shared_hub`` gets the people enrolled for it there.
    """
    if "shared_hub" in request.fixturenames:
        yield request.getfixturevalue("shared_hub").dep.people
        return
    found = new_people()
    try:
        yield found
    finally:
        remove_people(found)


SYNTHETIC_NOTEBOOK = """{"cells": [
 {"cell_type": "code", "execution_count": null, "id": "a1", "outputs": [],
  "metadata": {"nbgrader": {"grade": false, "grade_id": "answer", "locked": false,
   "schema_version": 3, "solution": true, "task": false}},
  "source": ["def double(x):\\n", "    ### BEGIN SOLUTION\\n", "    return 2 * x\\n",
             "    ### END SOLUTION\\n"]},
 {"cell_type": "code", "execution_count": null, "id": "a2", "outputs": [],
  "metadata": {"nbgrader": {"grade": true, "grade_id": "test-double", "locked": true,
   "points": 2, "schema_version": 3, "solution": false, "task": false}},
  "source": ["assert double(3) == 6"]}],
 "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
  "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
"""


def courses_source(tmp: Path) -> Path:
    """Return the repository's courses, or a synthetic one-track source if foundations is absent."""
    if (REPO / "courses" / "foundations" / "track.yaml").is_file():
        return REPO / "courses"
    track = tmp / "courses" / "foundations"
    (track / "source" / "double").mkdir(parents=True)
    (track / "track.yaml").write_text(
        "title: {en: Synthetic, ja: 合成}\nlevel: A1\nassignments:\n"
        "  - id: double\n    title: {en: Double, ja: 二倍}\n", encoding="utf-8")
    (track / "source" / "double" / "double.ipynb").write_text(SYNTHETIC_NOTEBOOK)
    return tmp / "courses"


def first_track(source: Path) -> courses.Track:
    """Return the track the tests enrol learners in: foundations (the synthetic one if absent)."""
    return courses.find_track(source, "foundations")


@dataclass
class Deployment:
    """An initialised deployment with enrolled people and released assignments."""

    settings: settings.Settings
    environ: dict[str, str]
    people: People

    @property
    def url(self) -> str:
        """The hub's public URL (its own origin; users and services have theirs)."""
        return self.settings.hub_url

    @property
    def service_url(self) -> str:
        """The certificates service's public URL."""
        return self.settings.service_url("qcampus")

    def user_origin(self, name: str) -> str:
        """Return the origin of *name*'s servers, as JupyterHub names it."""
        return user_origin(self.url, name)

    @property
    def track(self) -> courses.Track:
        return first_track(self.settings.courses_source)

    def course_dir(self) -> Path:
        return self.settings.courses_root / self.track.id


def stored_submissions(dep: Deployment, student: str | None = None) -> list[dict]:
    """Return what the exchange recorded for the first track (oldest first), as the service answers."""
    from sqlalchemy.orm import Session

    from submissions.db import open_engine
    from submissions.exchange.store import Store

    engine = open_engine(dep.settings.submissions_database_url)
    try:
        with Session(engine) as session:
            rows = Store.for_deployment(dep.settings).submissions(session, dep.track.id,
                                                                  student=student)
            return [row.describe() for row in rows]
    finally:
        engine.dispose()


def grading_jobs(dep: Deployment) -> list[dict]:
    """Return the grading service's jobs (state, reason, score) for failure messages."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from submissions.db import open_engine
    from submissions.grading.models import GradingJob

    engine = open_engine(dep.settings.submissions_database_url)
    try:
        with Session(engine) as session:
            return [{"student": j.student, "state": j.state, "reason": j.reason, "score": j.score,
                     "attempts": j.attempts, "submission_id": j.submission_id}
                    for j in session.scalars(select(GradingJob))]
    finally:
        engine.dispose()


#: Activation codes of the staff of each test's deployment, by hub name (names are unique).
ACTIVATION_CODES: dict[str, str] = {}


def activate_staff(base: str, name: str, password: str) -> None:
    """Activate *name* with its code from ``ACTIVATION_CODES`` (if any), choosing *password*.

    Browser tests call it before filling the login form of a staff account.
    """
    code = ACTIVATION_CODES.pop(name, None)
    if code is not None:
        HubUser(base, name).activate(code, password).raise_for_status()


#: ``QCAMPUS_TEST_DATABASE=postgresql`` runs every deployment on the PostgreSQL server here.
DATABASE_SWITCH = "QCAMPUS_TEST_DATABASE"


@contextlib.contextmanager
def database_for_tests() -> Iterator[dict[str, str]]:
    """Yield a deployment's database settings: none (SQLite files), or a fresh PostgreSQL database.

    With ``QCAMPUS_TEST_DATABASE=postgresql``, ``database.url`` names a new database
    on 127.0.0.1:5432, where `qcampus init` makes the components' schemas; it is
    dropped, schemas and all, when the context ends (after the deployment's hub stopped).
    """
    backend = os.environ.get(DATABASE_SWITCH, "sqlite")
    if backend == "sqlite":
        yield {}
        return
    if backend != "postgresql":
        raise pytest.UsageError(f"{DATABASE_SWITCH} must be sqlite or postgresql, not {backend!r}")
    from tests.databases import postgres_database

    with postgres_database("qce") as url:
        yield {"QCAMPUS_DATABASE__URL": url}


@pytest.fixture
def database_settings() -> Iterator[dict[str, str]]:
    """Yield the deployment's database settings (``database_for_tests``)."""
    with database_for_tests() as found:
        yield found


def prepare_deployment(home: Path, everyone: list[People], database: dict[str, str]) -> Deployment:
    """Initialise a deployment in *home* with *everyone* enrolled and the first assignment released.

    The returned deployment's ``people`` are the first of *everyone*.
    """
    port = free_port_block(4)
    environ = {**os.environ, "QCAMPUS_HUB__PORT": str(port),
               "QCAMPUS_HUB__CERTIFICATES_PORT": str(port + 3),
               "QCAMPUS_COURSES__SOURCE": str(courses_source(home.parent)),
               **database}
    deployment.init(home, environ)
    loaded = settings.load(home, environ)
    track = first_track(loaded.courses_source)
    members = []
    for people in everyone:
        members += [roster.Member(people.instructor, "instructor", ()),
                    roster.Member(people.learner_a, "learner", (track.id,)),
                    roster.Member(people.learner_b, "learner", (track.id,))]
    roster.enrol(home, members)
    # Staff accounts are never claimed at first login: they activate with a code.
    staff = [people.instructor for people in everyone]
    for name, (code, _) in Activations(loaded.hub_dir).issue(staff, 1).items():
        ACTIVATION_CODES[name] = code
    # The first assignment is the one the tests use; releasing the others costs time only.
    courses.release(loaded, track, track.assignments[0])
    deployment.run_hooks(loaded)
    return Deployment(loaded, environ, everyone[0])


@pytest.fixture
def deployment_ready(qcampus_home, people, database_settings) -> Deployment:
    """Return an initialised deployment with people enrolled and assignments released."""
    return prepare_deployment(qcampus_home, [people], database_settings)


class HubProcess:
    """``qcampus up`` running as a real process."""

    def __init__(self, dep: Deployment):
        self.dep = dep
        self.proc = subprocess.Popen(
            [str(VENV / "bin" / "qcampus"), "up", "--home", str(dep.settings.home)],
            env=dep.environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.banner = self.proc.stdout.readline()
        if "is running" not in self.banner:
            self.proc.wait(30)
            rest = self.proc.stdout.read()
            self.proc.stdout.close()
            raise RuntimeError(f"qcampus up failed: {self.banner}{rest}")

    def hub_pid(self) -> int:
        return int((self.dep.settings.hub_dir / "jupyterhub.pid").read_text())

    def stop(self) -> str:
        """Stop as Ctrl-C does and return what ``qcampus up`` printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        return out


@pytest.fixture
def running_hub(deployment_ready) -> Iterator[HubProcess]:
    """Yield a hub started by ``qcampus up``; stop it like Ctrl-C afterwards."""
    hub = HubProcess(deployment_ready)
    try:
        yield hub
    finally:
        hub.stop()


@dataclass
class SharedHubView:
    """One test's part of the shared hub: its deployment, seen with the test's own people."""

    dep: Deployment
    hub: HubProcess
    #: The loopback address this test's ``HubUser`` sessions send from (``SOURCE``).
    address: str

    def hub_pid(self) -> int:
        return self.hub.hub_pid()


class SharedHub:
    """One running hub for every test that asks for ``shared_hub``, each with its own people.

    Starting a deployment and its hub costs 15-25 s here; tests that neither stop
    the hub nor change its settings share one. Every such test of the session has
    its own people enrolled before the hub starts; a test's people (their system
    users and processes) are removed when the test ends, and the hub stops after
    the last test that uses it, not at the end of the session. The hub counts
    failed logins per client address, so each test's ``HubUser`` sessions send
    from a loopback address of their own, as each learner of a room would from
    their own machine.
    """

    def __init__(self, count: int):
        self.pool = [new_people() for _ in range(max(count, 1))]
        self._stack = contextlib.ExitStack()
        self.taken = 0
        try:
            home = self._stack.enter_context(fresh_home())
            database = self._stack.enter_context(database_for_tests())
            self.dep = prepare_deployment(home, self.pool, database)
            self.hub = HubProcess(self.dep)
            self._stack.callback(self.hub.stop)
        except BaseException:
            self.close()
            raise

    def take(self) -> SharedHubView:
        assert self.pool, "more tests asked for the shared hub than were collected"
        people = self.pool.pop(0)
        self.taken += 1
        return SharedHubView(replace(self.dep, people=people), self.hub,
                             f"127.0.{100 + self.taken // 250}.{1 + self.taken % 250}")

    def give_back(self, view: SharedHubView) -> None:
        people = view.dep.people
        stop_servers(self.dep, people.all + [people.name("x")])
        remove_people(people)
        if not self.pool:  # tests run one at a time: this was the last of them
            self.close()

    def close(self) -> None:
        self._stack.close()
        for people in self.pool:
            remove_people(people)


def stop_servers(dep: Deployment, names: list[str]) -> None:
    """Stop the servers of *names* through the hub's API, as ``qcampus roster remove`` does.

    The hub then reaps their processes; killing them from outside leaves zombies the
    system user cannot be deleted with until the hub notices.
    """
    from hub_config import enrolment, hubapi

    api = hubapi.HubAPI(f"{dep.url}/hub/api", hubapi.read_token(dep.settings.hub_dir))
    for name in names:
        enrolment.stop_servers(api, name)


@pytest.fixture(scope="session")
def _shared_hub(request) -> Iterator[SharedHub]:
    users = [item for item in request.session.items if "shared_hub" in item.fixturenames]
    shared = SharedHub(len(users))
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def shared_hub(_shared_hub) -> Iterator[SharedHubView]:
    """Yield this test's view of a hub that several tests share (``SharedHub``).

    The test has its own people (``dep.people``; the ``people`` fixture returns the
    same), enrolled in the foundations track (the instructor with an activation code);
    it must not stop the hub or change the deployment's settings: those tests use
    ``running_hub``.
    """
    view = _shared_hub.take()
    SOURCE.address = view.address
    try:
        yield view
    finally:
        SOURCE.address = None
        _shared_hub.give_back(view)


def wait_for_service(url: str) -> None:
    """Wait until *url* answers 200 (the hub starts its services after itself)."""
    for _ in range(120):
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass  # the hub starts the service; not listening yet
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered")


def user_origin(hub_url: str, name: str) -> str:
    """Return the origin of *name*'s servers below the hub at *hub_url*."""
    scheme, _, host = hub_url.partition("://")
    hostname, _, port = host.partition(":")
    if hostname in ("127.0.0.1", "::1"):
        return hub_url  # a shared origin: subdomains are off
    domain = subdomain_hook_idna(name, hostname, "user")
    return f"{scheme}://{domain}" + (f":{port}" if port else "")


class SourceAddress(HTTPAdapter):
    """Send from a chosen loopback address (every 127.x.y.z is this machine)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class SOURCE:
    """The loopback address new ``HubUser`` sessions send from (None: the default, 127.0.0.1)."""

    address: str | None = None


class HubUser:
    """A browser-like session of one user against the hub."""

    def __init__(self, base: str, name: str):
        self.base, self.name = base, name
        self.session = requests.Session()
        if SOURCE.address is not None:
            self.session.mount("http://", SourceAddress(SOURCE.address))

    @property
    def origin(self) -> str:
        """The origin of this user's servers."""
        return user_origin(self.base, self.name)

    def url(self, path: str = "", server: str = "") -> str:
        """Return the URL of *path* in this user's (named) server."""
        prefix = f"/user/{self.name}/" + (f"{server}/" if server else "")
        return f"{self.origin}{prefix}{path}"

    def activate(self, code: str, password: str) -> requests.Response:
        """Post the activation form (one-time code, new password) with its XSRF token."""
        self.session.get(f"{self.base}/hub/activate")
        return self.session.post(f"{self.base}/hub/activate", data={
            "username": self.name, "code": code, "password": password, "_xsrf": self.hub_xsrf()})

    def login(self, password: str) -> requests.Response:
        """Post the login form with its XSRF token; return the final response.

        A staff account with a code in ``ACTIVATION_CODES`` is activated first, with
        *password* as its password.
        """
        activate_staff(self.base, self.name, password)
        self.session.get(f"{self.base}/hub/login")
        xsrf = self.hub_xsrf()
        return self.session.post(f"{self.base}/hub/login",
                                 data={"username": self.name, "password": password, "_xsrf": xsrf})

    def open_lab(self, timeout: float = 120) -> requests.Response:
        """Open the user's JupyterLab, waiting while the server spawns."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.session.get(self.url("lab"))
            if response.url == self.url("lab") and response.status_code == 200:
                return response
            if time.monotonic() > deadline:
                raise AssertionError(f"server of {self.name} not ready: {response.status_code} "
                                     f"{response.url}")
            time.sleep(0.5)

    def hub_xsrf(self) -> str:
        """Return the hub's XSRF cookie (not the one a user's subdomain may also hold)."""
        host = urlsplit(self.base).hostname or ""
        # http.cookiejar files cookies of a dotless host such as "localhost" under "<host>.local".
        domains = {host, f"{host}.local"}
        for cookie in self.session.cookies:
            if cookie.name == "_xsrf" and cookie.path == "/hub/" and cookie.domain in domains:
                return cookie.value
        return ""

    def xsrf(self) -> str:
        return self.session.cookies.get("_xsrf", path=f"/user/{self.name}/")

    def server(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the user's own server with its XSRF header."""
        headers = {"X-XSRFToken": self.xsrf(), **kwargs.pop("headers", {})}
        return self.session.request(method, self.url(path), headers=headers, **kwargs)
