"""Fixtures of the credential core tests.

- ``now``: a fixed, time-zone aware moment all tests issue and verify at.
- ``keystore``: a fresh :class:`~certificates.keys.KeyStore` with one active key.
- ``catalogue``: the checkout's achievement catalogue.
- ``issuer``: the issuer profile (id :data:`BASE`) written into credentials.
- ``status_entries``: the revocation and suspension entries at :data:`INDEX`.
- ``make_credential``: builds an ``OpenBadgeCredential`` dict (keyword overrides).
- ``issue``: builds and signs a credential, returning its VC-JWT.
- ``status_source``: builds signed status lists (with chosen bits set) behind a
  :class:`~certificates.statuslist.MappingStatusSource`.
- ``attacker_key``: an Ed25519 key the issuer never published.

Fixtures of the web service and its database:

- ``database_url``: a migrated, empty certificates database; SQLite, and
  PostgreSQL (marked ``postgres``, one schema per test) when parametrised
  indirectly with ``"postgresql"``.
- ``deployment``: the settings of a deployment prepared by the certificates and
  web init hooks on ``database_url`` (keys, secrets, status lists, sessions tables).
- ``service_issuer``: the :class:`~certificates.issuance.Issuer` of that deployment.
- ``issue_credential``: issues a credential through ``service_issuer``.
- ``deployment_store``: the deployment's own rate-limit store (``redis-server``
  on its root-only socket) running; skipped where redis-server is not installed.
- ``local_user``: the (uid, gid) of a throwaway unprivileged system user, removed
  afterwards; :func:`as_user` runs a command as that user.
- ``hub``: a :class:`FakeHub` standing in for JupyterHub's ``HubOAuth``.
- ``app`` / ``client``: the Flask service on the deployment (in-memory rate limits).
- ``staff_client`` / ``learner_client``: test clients signed in as an instructor
  and as a learner outside the staff groups.
"""

from __future__ import annotations

import pwd
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates import achievements, issuance, statuslist, vcjwt
from certificates import credential as cred
from certificates.keys import KeyStore, SigningKey, thumbprint
from qcampus import settings as settings_module
from qcampus.settings import Settings
from tests.databases import postgres_schema

BASE = "https://campus.example.org/services/qcampus"
INDEX = 70_001
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def list_url(purpose: str) -> str:
    """Return the status list URL of *purpose*."""
    return f"{BASE}/status/{purpose}"


@pytest.fixture
def now() -> datetime:
    """Return the fixed moment of issuance."""
    return NOW


@pytest.fixture
def keystore(tmp_path: Path) -> KeyStore:
    """Return a key store with one active key created a day before :data:`NOW`."""
    store = KeyStore(tmp_path / "secrets" / "issuer-keys")
    store.ensure(now=NOW - timedelta(days=1))
    return store


@pytest.fixture(scope="session")
def catalogue() -> achievements.Catalogue:
    """Return the checkout's achievement catalogue."""
    return achievements.load()


@pytest.fixture
def issuer() -> cred.IssuerProfile:
    """Return the issuer profile."""
    return cred.IssuerProfile(id=BASE, name="qcampus", url=BASE)


@pytest.fixture
def status_entries() -> list[cred.StatusEntry]:
    """Return revocation and suspension entries at :data:`INDEX`."""
    return [cred.StatusEntry(purpose, INDEX, list_url(purpose))
            for purpose in (cred.REVOCATION, cred.SUSPENSION)]


@pytest.fixture
def make_credential(issuer, catalogue, status_entries) -> Callable[..., dict[str, Any]]:
    """Return a factory of credential dicts; keyword arguments override :func:`build`'s."""

    def make(**overrides: Any) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "issuer": issuer,
            "achievement": catalogue.get("gate-engineer-b1"),
            "learner": cred.Learner("learner42@example.org"),
            "base_url": BASE,
            "valid_from": NOW,
            "valid_until": NOW + timedelta(days=3 * 365),
            "status": status_entries,
        }
        arguments.update(overrides)
        return cred.build(**arguments)

    return make


@pytest.fixture
def issue(keystore, make_credential) -> Callable[..., str]:
    """Return a factory that builds and signs a credential with the active key."""

    def sign(credential: dict[str, Any] | None = None, *, key: SigningKey | None = None,
             signed_at: datetime = NOW, **overrides: Any) -> str:
        document = credential if credential is not None else make_credential(**overrides)
        return vcjwt.sign(document, key or keystore.signing_key(), signed_at=signed_at)

    return sign


@pytest.fixture
def status_source(keystore, issuer) -> Callable[..., statuslist.MappingStatusSource]:
    """Return a factory of status sources with signed lists; ``revoked``/``suspended`` set bits."""

    def make(revoked: tuple[int, ...] = (), suspended: tuple[int, ...] = (),
             details: dict | None = None) -> statuslist.MappingStatusSource:
        tokens = {}
        for purpose, bits in ((cred.REVOCATION, revoked), (cred.SUSPENSION, suspended)):
            status_list = statuslist.StatusList()
            for index in bits:
                status_list.set(index)
            document = statuslist.build_credential(
                issuer=issuer, url=list_url(purpose), purpose=purpose,
                status_list=status_list, valid_from=NOW)
            tokens[list_url(purpose)] = vcjwt.sign(document, keystore.signing_key(),
                                                   signed_at=NOW)
        return statuslist.MappingStatusSource(tokens, details)

    return make


@pytest.fixture
def attacker_key() -> SigningKey:
    """Return a key the issuer never published."""
    private = Ed25519PrivateKey.generate()
    return SigningKey(thumbprint(private.public_key()), private)


# --- the web service and its database ----------------------------------------------------

SERVICE_URL = "http://localhost"


@pytest.fixture
def database_url(request, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a migrated, empty certificates database (SQLite unless parametrised)."""
    from certificates import db

    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'certificates.sqlite'}"
        db.upgrade(url)
        yield url
        return
    with postgres_schema("t") as url:
        db.upgrade(url)
        yield url


#: Parametrise a test over both databases: ``@BOTH_DATABASES``.
BOTH_DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True)


@pytest.fixture
def deployment(tmp_path: Path, database_url: str) -> Settings:
    """Return the settings of a deployment the certificates and web init hooks prepared."""
    from certificates import deployment as cert_deployment
    from web import deployment as web_deployment

    home = tmp_path / "home"
    home.mkdir()
    # The web service's sessions share the database (each package has its own version table).
    values = settings_module.merge({"certificates": {"database_url": database_url,
                                                     "public_url": SERVICE_URL},
                                    "web": {"database_url": database_url}})
    (home / settings_module.SETTINGS_FILE).write_text(settings_module.dump(values))
    settings = settings_module.load(home, {})
    cert_deployment.init(settings)
    web_deployment.init(settings)
    return settings


@pytest.fixture
def service_issuer(deployment: Settings, catalogue) -> Iterator[issuance.Issuer]:
    """Yield the issuer of the prepared deployment."""
    from certificates import db

    engine = db.make_engine(deployment.certificates_database_url)
    yield issuance.Issuer(engine=engine, keystore=KeyStore(deployment.secrets / "issuer-keys"),
                          public_url=SERVICE_URL, name="qcampus", catalogue=catalogue)
    engine.dispose()


@pytest.fixture
def issue_credential(service_issuer) -> Callable[..., issuance.Issued]:
    """Return a factory that issues a credential (keyword overrides of the request)."""

    def make(**overrides: Any) -> issuance.Issued:
        fields: dict[str, Any] = {"learner": "alice", "achievement_id": "gate-engineer-b1",
                                  "source": f"exam:{uuid.uuid4().hex}", "actor": "exams",
                                  "reason": "passed the exam"}
        fields.update(overrides)
        return issuance.issue(service_issuer, issuance.IssueRequest(**fields))

    return make


def start_store(paths) -> subprocess.Popen:
    """Start ``redis-server`` as the deployment's rate-limit store at *paths*; wait for its socket."""
    from web import ratelimit_store

    server_binary = shutil.which("redis-server")
    if server_binary is None:
        pytest.skip("redis-server is not installed (scripts/bootstrap installs it)")
    server = subprocess.Popen([server_binary, str(ratelimit_store.prepare(paths))],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not paths.socket.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError("redis-server did not open its socket")
        time.sleep(0.02)
    return server


@pytest.fixture
def deployment_store(deployment: Settings):
    """Yield the paths of the prepared deployment's rate-limit store, running."""
    from web.ratelimit_store import StorePaths

    paths = StorePaths.of(deployment.home, deployment.secrets)
    server = start_store(paths)
    yield paths
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def local_user() -> Iterator[tuple[int, int]]:
    """Yield the uid and gid of a throwaway unprivileged system user, removed afterwards."""
    name = f"qcprobe{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    name], check=True)
    try:
        entry = pwd.getpwnam(name)
        yield entry.pw_uid, entry.pw_gid
    finally:
        subprocess.run(["userdel", name], check=True)


def as_user(user: tuple[int, int], *command: str) -> subprocess.CompletedProcess:
    """Run *command* as the user (uid, gid) *user*, with no supplementary groups."""
    uid, gid = user
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                           "--", *command], capture_output=True, text=True, timeout=30)


class FakeHub:
    """Stands in for JupyterHub's ``HubOAuth`` in unit tests, where no hub runs.

    It knows tokens and OAuth codes handed out by the test and answers the
    calls the service makes (``user_for_token``, ``token_for_code``) as the
    hub would; PKCE and scope checks use JupyterHub's own functions.
    """

    login_url = "http://hub.test/hub/api/oauth2/authorize?client_id=service-qcampus"
    access_scopes = {"access:services!service=qcampus"}

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, str] = {}
        self.verifiers: list[str | None] = []

    def add_user(self, name: str, groups: tuple[str, ...] = (),
                 scopes: tuple[str, ...] = ("access:services!service=qcampus",)) -> str:
        """Create a hub user with a token and return the token."""
        token = secrets.token_hex(16)
        self.users[token] = {"kind": "user", "name": name, "groups": list(groups),
                             "scopes": list(scopes)}
        return token

    def code_for(self, token: str) -> str:
        """Return an OAuth code the hub would exchange for *token*."""
        code = secrets.token_hex(8)
        self.codes[code] = token
        return code

    def user_for_token(self, token: str, use_cache: bool = True) -> dict | None:
        return self.users.get(token)

    def token_for_code(self, code: str, *, code_verifier: str | None = None) -> str:
        self.verifiers.append(code_verifier)
        return self.codes.pop(code)

    def generate_pkce_code_challenge(self, method: str = "S256") -> tuple[str, str, str]:
        from jupyterhub.services.auth import HubOAuth

        return HubOAuth.generate_pkce_code_challenge(None, method)

    def check_scopes(self, required_scopes: set[str], user: dict) -> set[str]:
        from jupyterhub.services.auth import check_scopes

        return check_scopes(required_scopes, set(user["scopes"]))


@pytest.fixture
def hub() -> FakeHub:
    """Return a stand-in hub with no users yet."""
    return FakeHub()


@pytest.fixture
def app(deployment: Settings, hub: FakeHub):
    """Return the service on the prepared deployment, rate limits kept in memory."""
    from web import create_app

    service = create_app({
        "TESTING": True,
        "QCAMPUS_HOME": deployment.home,
        "RATELIMIT_STORAGE_URI": "memory://",
        "HUB_AUTH": hub,
        "SERVICE_PREFIX": "/",
    })
    yield service
    service.extensions["qcampus_engine"].dispose()
    service.extensions["qcampus_web_engine"].dispose()


@pytest.fixture
def client(app):
    """Return an anonymous test client."""
    return app.test_client()


def signed_in(app, hub: FakeHub, name: str, groups: tuple[str, ...] = ()):
    """Return a test client whose session holds a hub token of a new user *name*."""
    test_client = app.test_client()
    token = hub.add_user(name, groups)
    with test_client.session_transaction() as session:
        session["hub_token"] = token
    return test_client


@pytest.fixture
def staff_client(app, hub: FakeHub):
    """Return a client signed in as the instructor ``ada``."""
    return signed_in(app, hub, "ada", ("instructors",))


@pytest.fixture
def learner_client(app, hub: FakeHub):
    """Return a client signed in as the learner ``alice`` (no staff group)."""
    return signed_in(app, hub, "alice", ("learners",))


def csrf_of(test_client, path: str = "/") -> str:
    """Open *path* and return the session's CSRF token."""
    test_client.get(path)
    with test_client.session_transaction() as session:
        return session["csrf_token"]
