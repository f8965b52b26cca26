"""`qcampus up` refuses to start, changing nothing, when it could not come up."""

from __future__ import annotations

import os
import socket

import pytest
from click.testing import CliRunner

from qcampus import launcher, settings
from qcampus.cli import cli
from qcampus.errors import ServiceError


@pytest.fixture
def busy_port():
    """Yield a loopback port held by a listening socket."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_port_in_use_changes_nothing(tmp_path, busy_port, monkeypatch):
    """A busy port gives a message naming it and creates no deployment."""
    monkeypatch.setenv("QCAMPUS_HUB__PORT", str(busy_port))
    home = tmp_path / "home"
    result = CliRunner().invoke(cli, ["up", "--home", str(home)])
    assert result.exit_code == ServiceError.exit_code
    assert f"Port {busy_port} on 127.0.0.1 (hub) is already in use" in result.output
    assert "QCAMPUS_HUB__PORT" in result.output
    assert not home.exists()


def test_missing_proxy_changes_nothing(tmp_path, monkeypatch):
    """A missing configurable-http-proxy says how to install it and creates nothing."""
    monkeypatch.setenv("QCAMPUS_HUB__PROXY_COMMAND", str(tmp_path / "no-such-proxy"))
    home = tmp_path / "home"
    result = CliRunner().invoke(cli, ["up", "--demo", "--home", str(home)])
    assert result.exit_code == ServiceError.exit_code
    assert "configurable-http-proxy not found" in result.output
    assert "scripts/bootstrap" in result.output
    assert not home.exists()


def test_running_hub_is_detected(tmp_path):
    """A live hub pid in the deployment refuses a second start."""
    home = tmp_path / "home"
    (home / "hub").mkdir(parents=True)
    (home / "hub" / "jupyterhub.pid").write_text(str(os.getpid()))
    with pytest.raises(ServiceError, match="already running"):
        launcher.preflight(settings.load(home, {}))


def test_proxy_token_is_private_and_stable(tmp_path):
    """The proxy token is created once, 0600, and reused."""
    home = tmp_path / "home"
    (home / "hub").mkdir(parents=True)
    s = settings.load(home, {})
    token = launcher.proxy_token(s)
    assert launcher.proxy_token(s) == token
    assert (home / "hub" / "proxy-token").stat().st_mode & 0o777 == 0o600


def test_demo_password_never_overwritten(tmp_path):
    """A pre-set first-use password is set once and kept on the next run."""
    home = tmp_path / "home"
    (home / "hub").mkdir(parents=True)
    s = settings.load(home, {})
    assert launcher.set_password(s, "learner1", "first-secret") is True
    assert launcher.set_password(s, "learner1", "second-secret") is False
