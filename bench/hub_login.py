"""Measure login → JupyterLab ready and memory per learner server on a real qcampus hub.

Run as root from a checkout:

    /opt/qcampus/venv/bin/python bench/hub_login.py [--learners 10] [--kernels 3]

It creates a throw-away deployment under /var/tmp, enrols fresh learners
(``qcb...``), starts the hub with ``qcampus up`` on a free port, and for each
learner in turn times the HTTP login form (with XSRF, first-use password) to
the moment the learner's JupyterLab page and its kernelspecs API answer. Then
it reads the peak resident memory (VmHWM) of every idle ``jupyterhub-singleuser``
process, and for ``--kernels`` learners starts a kernel over the REST API,
imports Qiskit, Qiskit Aer and dimod in it (what a course notebook does first)
and reads that kernel's peak memory. Everything it created is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jupyter_client import BlockingKernelClient  # noqa: E402

from hub_config.spawner import system_username  # noqa: E402
from qcampus import courses, deployment, roster, settings  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    Deployment,
    HubProcess,
    HubUser,
    People,
    behave_like_a_browser_on_localhost,
    courses_source,
    free_port_block,
    remove_system_user,
)


def peak_rss_kib(pid: int) -> int:
    """Return the peak resident set size (VmHWM) of *pid* in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


def pids_of(uid: int, needle: bytes) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if proc.stat().st_uid == uid and needle in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except FileNotFoundError:
                continue  # exited while we looked
    return found


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def warm_kernel(user: HubUser) -> int:
    """Start a kernel in *user*'s server, import the course stack in it; return its peak RSS (KiB)."""
    kernel = user.server("POST", "api/kernels", json={"name": "python3"}).json()
    home = Path(pwd.getpwnam(system_username(user.name)).pw_dir)
    connection = home / ".local/share/jupyter/runtime" / f"kernel-{kernel['id']}.json"
    client = BlockingKernelClient(connection_file=str(connection))
    for _ in range(600):
        try:
            client.load_connection_file()
            break
        except (FileNotFoundError, json.JSONDecodeError):
            time.sleep(0.1)  # the server is still writing it
    client.start_channels()
    try:
        # No heartbeat check: on a loaded machine it reports a slow kernel as dead;
        # the execute reply itself shows the kernel is up.
        reply = client.execute_interactive(
            "import qiskit, qiskit_aer, dimod\nfrom dwave.samplers import SimulatedAnnealingSampler",
            timeout=300)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel import failed: {reply['content']}")
    finally:
        client.stop_channels()
    uid = pwd.getpwnam(system_username(user.name)).pw_uid
    pids = pids_of(uid, b"ipykernel_launcher")
    return max(peak_rss_kib(pid) for pid in pids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=10)
    parser.add_argument("--kernels", type=int, default=3)
    args = parser.parse_args()
    # Learners' servers live on <name>.localhost, which only browsers resolve by themselves.
    behave_like_a_browser_on_localhost()

    root = Path(tempfile.mkdtemp(prefix="qcampus-bench-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    home = root / "home"
    tag = uuid.uuid4().hex[:5]
    names = [f"qcb{tag}{i:02d}" for i in range(args.learners)]
    environ = {**os.environ, "QCAMPUS_HUB__PORT": str(free_port_block()),
               "QCAMPUS_COURSES__SOURCE": str(courses_source(root))}
    hub = None
    try:
        deployment.init(home, environ)
        loaded = settings.load(home, environ)
        track = courses.load_tracks(loaded.courses_source)[0]
        roster.enrol(home, [roster.Member(n, "learner", (track.id,)) for n in names])
        dep = Deployment(loaded, environ, People(tag))
        hub = HubProcess(dep)
        times, users = [], []
        for name in names:
            user = HubUser(dep.url, name)
            start = time.perf_counter()
            response = user.login(secrets.token_urlsafe(12))
            response.raise_for_status()
            user.open_lab()
            user.server("GET", "api/kernelspecs").raise_for_status()
            times.append(time.perf_counter() - start)
            users.append(user)
        server_peaks = []
        for name in names:
            uid = pwd.getpwnam(system_username(name)).pw_uid
            server_peaks += [peak_rss_kib(pid) for pid in pids_of(uid, b"jupyterhub-singleuser")]
        kernel_peaks = [warm_kernel(user) for user in users[:args.kernels]]
        hub_peak = peak_rss_kib(hub.hub_pid())
        result = {
            "learners": len(names),
            "login_to_lab_s": {"median": round(statistics.median(times), 2),
                               "p90": round(p90(times), 2), "max": round(max(times), 2)},
            "idle_server_peak_rss_mib": {"median": round(statistics.median(server_peaks) / 1024, 1),
                                         "max": round(max(server_peaks) / 1024, 1)},
            "kernel_with_course_stack_peak_rss_mib": (
                round(statistics.median(kernel_peaks) / 1024, 1) if kernel_peaks else None),
            "hub_peak_rss_mib": round(hub_peak / 1024, 1),
            "load_average_1_5_15": [round(x, 1) for x in os.getloadavg()],
        }
        print(json.dumps(result, indent=2))
    finally:
        if hub is not None:
            hub.stop()
        for name in names:
            remove_system_user(system_username(name))
        subprocess.run(["rm", "-rf", str(root)], check=False)


if __name__ == "__main__":
    main()
