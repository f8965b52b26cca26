"""Start the platform in the foreground (``qcampus up``) and report whether it runs.

``up`` checks that it can start before it changes anything (ports free,
configurable-http-proxy present, no other hub running on this deployment),
brings the deployment up to date with ``qcampus init``, then runs JupyterHub
with ``hub_config/jupyterhub_config.py``. JupyterHub starts the proxy and the
managed services itself. Ctrl-C stops the hub, which stops the proxy,
the services and every user's server. State lives under ``QCAMPUS_HOME/hub``
(database, cookie secret, proxy token, first-use passwords), so starting again,
even after the hub was killed, keeps users, enrolments and submissions.

The command reaches ``qcampus`` through the ``qcampus.commands`` entry-point
group, and :func:`status_checks` reaches ``qcampus status`` through
``qcampus.status``: the core never imports this module.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import click

from qcampus import deployment
from qcampus import settings as settings_mod
from qcampus.errors import QcampusError, ServiceError
from qcampus.permissions import open_private, read_or_create_secret
from qcampus.settings import Settings
from qcampus.status import Check

DEFAULT_PROXY = "/opt/qcampus/node_modules/.bin/configurable-http-proxy"


def hub_config_file() -> Path:
    """Return the ``jupyterhub_config.py`` beside this module."""
    return Path(__file__).with_name("jupyterhub_config.py")


def proxy_command(settings: Settings) -> str:
    """Return the configurable-http-proxy executable, or raise saying how to install it."""
    command = settings["hub"]["proxy_command"] or DEFAULT_PROXY
    if not (os.path.isfile(command) and os.access(command, os.X_OK)):
        raise ServiceError(
            f"configurable-http-proxy not found at {command}. Install it with "
            f"`scripts/bootstrap` (npm install --prefix /opt/qcampus configurable-http-proxy), "
            f"or set hub.proxy_command in settings.yaml. Nothing was started or changed."
        )
    return command


def ports(settings: Settings) -> dict[str, int]:
    """Return the ports the hub, its API, the proxy API and the certificates service use."""
    port = settings["hub"]["port"]
    found = {"hub": port, "hub API": port + 1, "proxy API": port + 2}
    if settings["hub"]["certificates_service"]:
        found["certificates service"] = settings["hub"]["certificates_port"]
    return found


def _port_free(ip: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError:
            return False
    return True


def pid_alive(pid_file: Path) -> int:
    """Return the pid recorded in *pid_file* if that process still runs, else 0."""
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return 0
    return pid


def stop_stale_proxy(settings: Settings) -> None:
    """Stop a proxy left running by a hub that was killed (its pid file is ours)."""
    pid_file = settings.hub_dir / "proxy.pid"
    pid = pid_alive(pid_file)
    if not pid:
        return
    with contextlib.suppress(FileNotFoundError):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"configurable-http-proxy" not in cmdline:
            return  # the pid was reused by an unrelated process: leave it alone
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.1)
    pid_file.unlink(missing_ok=True)


def stop_orphaned_services(settings: Settings) -> list[int]:
    """Stop managed services of this deployment left running by a hub that was killed."""
    marker = f"QCAMPUS_HOME={settings.home}".encode()
    stopped = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError, ValueError):
            continue  # exited while we looked, or a kernel thread
        if ppid == 1 and marker in environ and any(
                e.startswith(b"JUPYTERHUB_SERVICE_NAME=") for e in environ):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGTERM)
                stopped.append(int(proc.name))
    return stopped


def wait_gone(pids: list[int], timeout: float = 15) -> None:
    """Wait until the processes *pids* have exited (and released their ports)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.1)


def preflight(settings: Settings) -> None:
    """Refuse to start, changing nothing, when the platform could not come up."""
    proxy_command(settings)
    pid = pid_alive(settings.hub_dir / "jupyterhub.pid")
    if pid:
        raise ServiceError(f"qcampus is already running on {settings.home} (hub pid {pid}). "
                           f"Stop it with Ctrl-C in its terminal, or `kill {pid}`.")
    stop_stale_proxy(settings)
    wait_gone(stop_orphaned_services(settings))
    for what, port in ports(settings).items():
        ip = settings["hub"]["ip"] if what == "hub" else "127.0.0.1"
        if not _port_free(ip, port):
            choose = ("QCAMPUS_HUB__CERTIFICATES_PORT=<port>" if what == "certificates service"
                      else "QCAMPUS_HUB__PORT=<port> (the hub uses that port and the next two)")
            raise ServiceError(
                f"Port {port} on {ip} ({what}) is already in use. Stop the program using it "
                f"(`ss -ltnp 'sport = :{port}'` shows it) or choose another port with "
                f"{choose}. Nothing was started or changed."
            )


def port_open(host: str, port: int) -> bool:
    """Return whether something accepts connections on *host*:*port*."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def status_checks(settings: Settings) -> list[Check]:
    """Report the proxy executable and whether this deployment's hub runs and answers."""
    found: list[Check] = []
    try:
        found.append(Check("ok", "proxy", proxy_command(settings)))
    except QcampusError as exc:
        found.append(Check("error", "proxy", exc.message))
    ip, port = settings["hub"]["ip"], settings["hub"]["port"]
    pid = pid_alive(settings.hub_dir / "jupyterhub.pid")
    answering = port_open(ip if ip not in ("", "0.0.0.0") else "127.0.0.1", port)
    if pid and answering:
        found.append(Check("ok", "hub", f"running (pid {pid}), answering on http://{ip}:{port}/"))
    elif pid:
        found.append(Check("warn", "hub", f"running (pid {pid}) but not answering on "
                                          f"http://{ip}:{port}/; see {settings.logs / 'jupyterhub.log'}"))
    else:
        found.append(Check("ok", "hub", f"not running (would listen on http://{ip}:{port}/; "
                                        f"start it with `qcampus up`)"))
    return found


def proxy_token(settings: Settings) -> str:
    """Return the proxy's auth token, created once in ``hub/proxy-token`` (0600)."""
    return read_or_create_secret(settings.hub_dir / "proxy-token", lambda: secrets.token_hex(32))


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    """Wait until the hub answers through the proxy, or raise with the log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url + "hub/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass  # not listening yet
        time.sleep(0.3)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise ServiceError(f"JupyterHub did not start (see {log}):\n{tail}")


@dataclass
class Hub:
    """A running JupyterHub of one deployment."""

    settings: Settings
    proc: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        """Return the hub's public URL, as browsers open it."""
        return self.settings.hub_url + "/"

    @property
    def probe_url(self) -> str:
        """Return the proxy's address on this machine (the hub answers there on any host)."""
        hub = self.settings["hub"]
        return f"http://{hub['ip']}:{hub['port']}/"

    def stop(self, timeout: float = 30) -> int:
        """Stop the hub (it stops the proxy, services and servers) and return its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        stop_stale_proxy(self.settings)
        stop_orphaned_services(self.settings)
        return self.proc.returncode


def launch(settings: Settings) -> Hub:
    """Start JupyterHub on an initialised deployment and return once it answers."""
    log = settings.logs / "jupyterhub.log"
    env = {**os.environ, "QCAMPUS_HOME": str(settings.home),
           "CONFIGPROXY_AUTH_TOKEN": proxy_token(settings)}
    # The log records every user's activity and OAuth codes: root's alone. The hub runs
    # under umask 077, so its database, pid files and the services' files are private
    # too; users' servers set their own umask and get their own log (see the spawner).
    with os.fdopen(open_private(log), "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(hub_config_file())],
            cwd=settings.hub_dir, env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, umask=0o077,
            start_new_session=True,  # Ctrl-C reaches the launcher, which stops the hub in order
        )
    hub = Hub(settings, proc, log)
    try:
        wait_ready(hub.probe_url, proc, log)
    except BaseException:
        hub.stop()
        raise
    return hub


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@click.command("up")
@click.option("--demo", is_flag=True, help="Create demo accounts and release the sample assignments.")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar="QCAMPUS_HOME",
              default="var", show_default=True, help="Deployment directory.")
def up(demo: bool, home: Path) -> None:
    """Start JupyterHub, the proxy and every managed service (Ctrl-C stops them)."""
    # Set before anything starts, so the hub and its children get default handlers
    # even when this process was started in the background with SIGINT ignored.
    stopping = [signal.SIGINT, signal.SIGTERM]
    # A closed terminal stops the platform as Ctrl-C does (the hub, in its own session,
    # would run on alone), unless `qcampus up` was started under nohup.
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        stopping.append(signal.SIGHUP)
    previous = {sig: signal.signal(sig, _interrupt) for sig in stopping}
    try:
        _run(demo, home)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(demo: bool, home: Path) -> None:
    # Every check runs before anything is created or changed.
    preflight(settings_mod.load(home))
    deployment.init(home)
    settings = settings_mod.load(home)
    if demo:
        # Imported only here: it loads JupyterHub, which `qcampus status` (running this
        # module's checks) does without.
        from hub_config import demo as demo_mod

        # Demo accounts must be in the roster before the hub reads it.
        created = demo_mod.prepare_demo(settings)
        # Files the release just wrote go to the instructors' group like the rest.
        deployment.run_hooks(settings)
    hub = launch(settings)
    try:
        say(f"qcampus is running at {hub.url}  (log: {hub.log}; Ctrl-C stops it)")
        if demo:
            say(demo_mod.summary(hub.settings, created))
        code = hub.proc.wait()
        raise ServiceError(f"JupyterHub stopped unexpectedly (exit code {code}); see {hub.log}.")
    except KeyboardInterrupt:
        say("Stopping qcampus ...")
        hub.stop()
        say("Stopped. Users, enrolments and submissions are kept; `qcampus up` starts again.")
    except BaseException:
        hub.stop()  # the proxy and the services too, whatever ended the wait
        raise


def say(text: str) -> None:
    """Print *text*; a terminal or pipe whose reader has gone must not leave the hub running."""
    with contextlib.suppress(OSError):
        click.echo(text)
