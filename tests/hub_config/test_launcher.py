"""`qcampus up` refuses to start, changing nothing, when it could not come up; status reports the hub."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub_config import launcher
from qcampus import settings
from qcampus.cli import cli
from qcampus.errors import ServiceError
from tests.e2e.conftest import free_port_block


@pytest.fixture
def busy_port():
    """Yield a loopback port held by a listening socket."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize(("variable", "what"), [
    ("QCAMPUS_HUB__PORT", "hub"),
    ("QCAMPUS_HUB__CERTIFICATES_PORT", "certificates service"),
])
def test_port_in_use_changes_nothing(tmp_path, busy_port, monkeypatch, variable, what):
    """A busy port gives a message naming it and the setting that moves it, and creates nothing."""
    # Free ports for everything else, so a demo running on the defaults (8000, 10101)
    # does not answer first.
    monkeypatch.setenv("QCAMPUS_HUB__PORT", str(free_port_block(3)))
    monkeypatch.setenv("QCAMPUS_HUB__CERTIFICATES_PORT", str(free_port_block(1)))
    monkeypatch.setenv(variable, str(busy_port))
    home = tmp_path / "home"
    result = CliRunner().invoke(cli, ["up", "--home", str(home)])
    assert result.exit_code == ServiceError.exit_code
    assert f"Port {busy_port} on 127.0.0.1 ({what}) is already in use" in result.output
    assert variable in result.output
    assert not home.exists()


@pytest.mark.parametrize(("service", "expected"), [
    ("true", {"hub": 8000, "hub API": 8001, "proxy API": 8002, "certificates service": 10101}),
    ("false", {"hub": 8000, "hub API": 8001, "proxy API": 8002}),
])
def test_ports_include_the_certificates_service_when_it_runs(tmp_path, service, expected):
    """The certificates service's port is checked only when the service runs."""
    loaded = settings.load(tmp_path, {"QCAMPUS_HUB__CERTIFICATES_SERVICE": service})
    assert launcher.ports(loaded) == expected


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



def test_status_reports_a_hub_that_runs_but_does_not_answer(tmp_path):
    """A live hub pid with nothing on the hub port is a warning naming the pid and the log."""
    home = tmp_path / "home"
    (home / "hub").mkdir(parents=True)
    (home / "hub" / "jupyterhub.pid").write_text(str(os.getpid()))
    loaded = settings.load(home, {"QCAMPUS_HUB__PORT": str(free_port_block(1))})
    [hub] = [c for c in launcher.status_checks(loaded) if c.subject == "hub"]
    assert hub.level == "warn" and f"running (pid {os.getpid()}) but not answering" in hub.message
    assert "jupyterhub.log" in hub.message


def test_status_reports_a_stopped_hub_and_how_to_start_it(tmp_path):
    """Without a live hub pid the hub is reported as not running, with the command that starts it."""
    loaded = settings.load(tmp_path / "home", {})
    [hub] = [c for c in launcher.status_checks(loaded) if c.subject == "hub"]
    assert hub.level == "ok" and "not running" in hub.message and "qcampus up" in hub.message


class _Process:
    def __init__(self, ends):
        self.ends = ends

    def wait(self):
        raise self.ends


class _Hub:
    url, log, settings = "http://localhost:8000/", "jupyterhub.log", None

    def __init__(self, ends):
        self.proc = _Process(ends)
        self.stopped = 0

    def stop(self):
        self.stopped += 1


@pytest.fixture
def started(tmp_path, monkeypatch):
    """Run `qcampus up`'s body with a stand-in hub whose wait ends as the test says."""
    monkeypatch.setattr(launcher, "preflight", lambda loaded: None)
    monkeypatch.setattr(launcher.deployment, "init", lambda home: None)
    monkeypatch.setattr(launcher.settings_mod, "load", lambda home: None)

    def run(ends, echo=None):
        hub = _Hub(ends)
        monkeypatch.setattr(launcher, "launch", lambda loaded: hub)
        if echo is not None:
            monkeypatch.setattr(launcher.click, "echo", echo)
        return hub

    return run


def test_ctrl_c_stops_the_hub_even_when_nobody_reads_the_output(started):
    """`qcampus up | tee log` with tee gone: printing fails, the hub must stop all the same."""

    def closed_pipe(text):
        raise BrokenPipeError(32, "Broken pipe")

    hub = started(KeyboardInterrupt(), echo=closed_pipe)
    launcher._run(False, Path("var"))
    assert hub.stopped == 1


@pytest.mark.parametrize("ends", [ServiceError("the hub exited"), RuntimeError("unexpected")])
def test_whatever_ends_the_wait_stops_the_proxy_and_services(started, ends):
    hub = started(ends)
    with pytest.raises(type(ends)):
        launcher._run(False, Path("var"))
    assert hub.stopped == 1


class _Hangup(_Process):
    def wait(self):
        os.kill(os.getpid(), signal.SIGHUP)
        raise AssertionError("SIGHUP did not interrupt the wait")


@pytest.mark.parametrize("nohup", [False, True])
def test_a_closed_terminal_stops_the_platform_unless_under_nohup(started, nohup):
    hub = started(None)
    hub.proc = _Hangup(None)
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN if nohup else signal.SIG_DFL)
    try:
        if nohup:  # ignored: the wait goes on (here it ends with an assertion of its own)
            with pytest.raises(AssertionError, match="did not interrupt"):
                launcher.up.callback(demo=False, home=Path("var"))
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        else:
            launcher.up.callback(demo=False, home=Path("var"))
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL  # restored afterwards
        assert hub.stopped == 1
    finally:
        signal.signal(signal.SIGHUP, previous)
