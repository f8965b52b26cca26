"""The service under gunicorn, as deployed: separate processes share one rate limit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from certificates.db import write_session
from certificates.models import AuditRecord, Credential
from tests.certificates.conftest import as_user

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, process: subprocess.Popen) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            requests.get(url, timeout=30)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


@pytest.fixture
def servers(deployment, deployment_store):
    """Start two single-worker servers (`python -m web`) on one deployment."""
    env = dict(os.environ, QCAMPUS_HOME=str(deployment.home),
               QCAMPUS_SERVICE_RATELIMIT_VERIFY="6 per minute",
               QCAMPUS_SERVICE_RATELIMIT_KEY_PREFIX=f"qcampus-test-{uuid.uuid4().hex}")
    env.pop("JUPYTERHUB_SERVICE_PREFIX", None)
    started = []
    try:
        for _ in range(2):
            port = _free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "web", "--bind", f"127.0.0.1:{port}",
                 "--workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            started.append((process, f"http://127.0.0.1:{port}"))
            _wait(f"http://127.0.0.1:{port}/", process)
        yield [url for _process, url in started]
    finally:
        for process, _url in started:
            process.terminate()
            process.wait(timeout=30)
            process.stderr.close()


def test_rate_limit_is_shared_between_processes(servers, issue_credential):
    """Ten verifications spread over two processes get exactly six answers, then 429."""
    issued = issue_credential()
    path = f"/verify/{issued.credential_id.removeprefix('urn:uuid:')}"
    codes = [requests.get(servers[i % 2] + path, timeout=10).status_code for i in range(10)]
    assert codes.count(200) == 6 and codes.count(429) == 4, codes


def test_forged_forwarding_from_a_local_user_is_ignored_under_gunicorn(servers, local_user,
                                                                       issue_credential):
    """Under gunicorn, a local user's direct requests share one bucket whatever they forward;
    the proxy's (root's) forwarded addresses still count apart."""
    issued = issue_credential()
    url = f"{servers[0]}/verify/{issued.credential_id.removeprefix('urn:uuid:')}"
    codes = [as_user(local_user, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                     f"X-Forwarded-For: 203.0.113.{n}", url).stdout for n in range(7)]
    assert codes == ["200"] * 6 + ["429"]
    forwarded = requests.get(url, headers={"X-Forwarded-For": "198.51.100.7"}, timeout=10)
    assert forwarded.status_code == 200


def test_served_page_is_valid_with_headers(servers, issue_credential):
    """Under gunicorn the page says valid and carries the security headers."""
    issued = issue_credential()
    response = requests.get(
        f"{servers[0]}/verify/{issued.credential_id.removeprefix('urn:uuid:')}", timeout=10)
    assert 'data-outcome="valid"' in response.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    big = requests.post(f"{servers[1]}/api/v1/verify", data=b"x" * (50 * 1024 * 1024),
                        timeout=60)
    assert big.status_code == 413


def test_twenty_concurrent_issue_requests_over_two_processes(servers, deployment,
                                                             service_issuer):
    """Twenty simultaneous API requests for one exam result, on two processes: one credential."""
    token = (deployment.secrets / "certificates-issuer-token").read_text().strip()
    payload = {"learner": "alice", "achievement": "gate-engineer-b1", "source": "exam:race",
               "reason": "passed"}

    def post(i: int):
        return requests.post(f"{servers[i % 2]}/api/v1/credentials", json=payload, timeout=60,
                             headers={"Authorization": f"Bearer {token}",
                                      "Idempotency-Key": "final-submit"})

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(post, range(20)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["credential"] for r in responses}) == 1
    with write_session(service_issuer.engine) as session:
        assert session.scalar(select(func.count()).select_from(Credential)) == 1
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == 1
