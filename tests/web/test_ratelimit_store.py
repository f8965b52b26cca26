"""The deployment's own Redis: reachable by root only, and never a cause of 500 when down."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.certificates.conftest import as_user, start_store
from web import create_app, ratelimit_store
from web.ratelimit_store import StorePaths

needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None,
                                 reason="redis-server is not installed (scripts/bootstrap)")


@pytest.fixture
def open_home() -> Iterator[Path]:
    """Yield a deployment directory every user may traverse, as QCAMPUS_HOME is."""
    # pytest's own tmp_path lies below a 0700 directory, which would hide the store from
    # other users whatever the store's own modes are.
    home = Path(tempfile.mkdtemp(prefix="qcampus-store-", dir="/tmp"))
    home.chmod(0o755)
    yield home
    shutil.rmtree(home)


@pytest.fixture
def store(open_home: Path) -> Iterator[StorePaths]:
    """Yield the paths of a running store of the deployment in ``open_home``."""
    paths = StorePaths.of(open_home, open_home / "secrets")
    server = start_store(paths)
    yield paths
    server.terminate()
    server.wait(timeout=10)


def _root_cli(paths: StorePaths, *command: str, auth: bool = True) -> str:
    env = {**os.environ, "REDISCLI_AUTH": ratelimit_store.password(paths)} if auth else {
        k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    done = subprocess.run(["redis-cli", "-s", str(paths.socket), *command],
                          capture_output=True, text=True, timeout=30, env=env)
    return done.stdout + done.stderr


@needs_redis
def test_a_local_user_cannot_connect_to_the_store(store, local_user):
    """Another local user can neither run redis-cli against the store nor open its socket."""
    cli = as_user(local_user, "redis-cli", "-s", str(store.socket), "SET", "qcampus:x", "1")
    assert "PONG" not in cli.stdout and "OK" not in cli.stdout
    assert "Permission denied" in cli.stdout + cli.stderr
    probe = as_user(local_user, "/usr/bin/python3", "-c",
                     "import socket, sys; s = socket.socket(socket.AF_UNIX); "
                     f"s.connect({str(store.socket)!r}); print('connected')")
    assert probe.returncode != 0 and "connected" not in probe.stdout
    assert "PermissionError" in probe.stderr
    assert as_user(local_user, "cat", str(store.password_file)).returncode != 0
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.config.stat().st_mode) == 0o600


@needs_redis
def test_the_same_user_reaches_an_open_redis(local_user):
    """Control: the probing user does reach the machine's unauthenticated Redis on TCP."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6379)) != 0:
            pytest.skip("no Redis listens on 127.0.0.1:6379 on this machine")
    done = as_user(local_user, "redis-cli", "-h", "127.0.0.1", "-p", "6379", "PING")
    assert done.stdout.strip() == "PONG"


@needs_redis
def test_the_store_needs_its_password_and_refuses_admin_commands(store):
    """Even root needs the password, and with it CONFIG, KEYS and FLUSHALL are refused."""
    assert "NOAUTH" in _root_cli(store, "SET", "qcampus:x", "1", auth=False)
    assert _root_cli(store, "SET", "qcampus:x", "1").strip() == "OK"
    for command in (("CONFIG", "GET", "dir"), ("CONFIG", "SET", "dir", "/tmp"), ("KEYS", "*"),
                    ("FLUSHALL",), ("SHUTDOWN",), ("MONITOR",)):
        assert "NOPERM" in _root_cli(store, *command), command
    assert _root_cli(store, "GET", "qcampus:x").strip() == "1"


@needs_redis
def test_workers_share_counters_through_the_store(deployment, deployment_store, hub,
                                                   issue_credential):
    """Two apps (two workers) of one deployment count verifications in its store together."""
    apps = [create_app({"QCAMPUS_HOME": deployment.home, "HUB_AUTH": hub,
                        "SERVICE_PREFIX": "/", "RATELIMIT_VERIFY": "2 per minute"})
            for _ in range(2)]
    issued = issue_credential()
    url = f"/verify/{issued.credential_id.removeprefix('urn:uuid:')}"
    codes = [apps[i % 2].test_client().get(url).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    for app in apps:
        assert app.extensions["qcampus_limiter"].storage.check()
        app.extensions["qcampus_engine"].dispose()
        app.extensions["qcampus_web_engine"].dispose()


def _down_app(deployment, hub, **config):
    # The deployment's own store, never started: its socket does not exist.
    return create_app({"QCAMPUS_HOME": deployment.home, "HUB_AUTH": hub, "SERVICE_PREFIX": "/",
                       "RATELIMIT_STORAGE_URI": f"redis+unix://:x@{deployment.home}/redis/none",
                       **config})


def test_verification_answers_while_the_store_is_down(deployment, hub, issue_credential,
                                                      caplog):
    """With the store down the page and API verify as usual, limited in memory, with a warning."""
    issued = issue_credential()
    app = _down_app(deployment, hub, RATELIMIT_VERIFY="3 per minute")
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        api = client.post("/api/v1/verify", data=issued.token,
                          content_type="application/vc+jwt")
        assert api.status_code == 200 and api.json["outcome"] == "valid"
    assert "falling back to in-memory" in caplog.text
    url = f"/verify/{issued.credential_id.removeprefix('urn:uuid:')}"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
    app.extensions["qcampus_engine"].dispose()
    app.extensions["qcampus_web_engine"].dispose()


def test_oauth_callback_answers_while_the_store_is_down(deployment, hub):
    """With the store down the login callback gives its usual answers, never 500."""
    app = _down_app(deployment, hub, RATELIMIT_LOGIN="2 per minute")
    client = app.test_client()
    token = hub.add_user("ada", ("instructors",))
    started = client.get("/admin/")
    assert started.status_code == 302
    state = started.headers["Location"].split("state=", 1)[1].split("&", 1)[0]
    done = client.get("/oauth_callback", query_string={"code": hub.code_for(token),
                                                       "state": state})
    assert done.status_code == 302 and client.get("/admin/").status_code == 200
    assert client.get("/oauth_callback").status_code == 400
    assert client.get("/oauth_callback").status_code == 429
    app.extensions["qcampus_engine"].dispose()
    app.extensions["qcampus_web_engine"].dispose()


@needs_redis
def test_a_store_that_stops_is_not_a_500(deployment, hub, issue_credential):
    """A store that stops while the service runs: verification goes on, counted in memory."""
    paths = StorePaths.of(deployment.home, deployment.secrets)
    server = start_store(paths)
    app = create_app({"QCAMPUS_HOME": deployment.home, "HUB_AUTH": hub, "SERVICE_PREFIX": "/"})
    client = app.test_client()
    issued = issue_credential()
    assert client.post("/api/v1/verify", data=issued.token).status_code == 200
    server.kill()
    server.wait(timeout=10)
    assert client.post("/api/v1/verify", data=issued.token).status_code == 200
    assert client.get("/oauth_callback").status_code == 400
    app.extensions["qcampus_engine"].dispose()
    app.extensions["qcampus_web_engine"].dispose()
