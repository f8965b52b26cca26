"""A learner's uid and a forger against the local services of a running deployment.

The certificates service must listen on a loopback port (JupyterHub proxies only
http(s) service URLs), and its rate limits live in the deployment's own Redis.
Every local user can reach loopback: a learner's process connects straight to
the service's port, forging ``X-Forwarded-For`` to pick a fresh rate-limit
bucket per request, and tries the rate-limit store's socket and password.
"""

from __future__ import annotations

import pwd
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from hub_config.spawner import ensure_system_user, system_username
from tests.e2e.conftest import HubProcess, wait_for_service
from tests.e2e.test_permissions import assert_unreadable, run_as

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def forged_requests(dep, learner: str) -> list[str]:
    """Send five direct requests as *learner*, each claiming another client address."""
    port = dep.settings["hub"]["certificates_port"]
    page = f"http://127.0.0.1:{port}/services/qcampus/verify/{uuid.uuid4()}"
    return [run_as(learner, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                       "-H", f"X-Forwarded-For: 203.0.113.{n}", page, text=True).stdout
            for n in range(5)]


def start(dep, **service_settings: str) -> tuple[HubProcess, str]:
    """Start the hub with a 3-per-minute verification budget; return it and learner A's uid name."""
    learner = system_username(dep.people.learner_a)
    ensure_system_user(learner)
    # A small budget, so that the limit shows within a few requests.
    dep.environ["QCAMPUS_SERVICE_RATELIMIT_VERIFY"] = "3 per minute"
    dep.environ.update({f"QCAMPUS_SERVICE_{k}": v for k, v in service_settings.items()})
    hub = HubProcess(dep)
    wait_for_service(f"{dep.service_url}/")
    # The hub starts its services one after another: until the deployment's Redis is up,
    # each service worker counts in its own memory (by design), which this test is not about.
    deadline = time.monotonic() + 120
    while not (dep.settings.home / "redis" / "redis.sock").exists():
        assert time.monotonic() < deadline, "the deployment's Redis never started"
        time.sleep(0.5)
    return hub, learner


def test_learner_cannot_escape_rate_limits_or_reach_the_store(deployment_ready):
    """Forged X-Forwarded-For from a learner's direct connection stays in one bucket; the store is closed."""
    dep = deployment_ready
    hub, learner = start(dep)
    try:
        codes = forged_requests(dep, learner)
        assert codes[3:] == ["429", "429"], codes
        assert "429" not in codes[:3], codes

        store = dep.settings.home / "redis"
        assert (store / "redis.sock").exists(), "the deployment's own Redis should be running"
        assert_unreadable(learner, store)
        assert_unreadable(learner, dep.settings.secrets / "redis-password")
        probe = run_as(learner, "redis-cli", "-s", str(store / "redis.sock"), "PING", text=True)
        assert "PONG" not in probe.stdout, probe.stdout
    finally:
        hub.stop()


def test_a_learner_trusted_as_proxy_would_escape(deployment_ready):
    """Declared a proxy, the same learner's forged addresses escape the limit: the test sees the attack."""
    dep = deployment_ready
    learner = system_username(dep.people.learner_a)
    ensure_system_user(learner)
    uid = pwd.getpwnam(learner).pw_uid
    hub, _ = start(dep, TRUSTED_PROXY_UIDS=f"[0, {uid}]")
    try:
        assert "429" not in forged_requests(dep, learner)
    finally:
        hub.stop()


def test_forgery_with_the_deployments_key_is_refused_online(running_hub):
    """Tokens signed with the deployment's key but never issued are refused, back-dated or not."""
    from certificates import achievements, vcjwt
    from certificates import credential as cred
    from certificates.keys import KeyStore

    dep = running_hub.dep
    service = dep.service_url
    wait_for_service(f"{service}/")
    keystore = KeyStore(dep.settings.secrets / "issuer-keys")
    stolen = keystore.signing_key()

    def forge(valid_from: datetime) -> str:
        document = cred.build(
            issuer=cred.IssuerProfile(id=service, name="qcampus", url=service),
            achievement=achievements.load().get("gate-engineer-b1"),
            learner=cred.Learner(dep.people.learner_a), base_url=service,
            valid_from=valid_from,
            status=[cred.StatusEntry(p, 4242, f"{service}/status/{p}")
                    for p in ("revocation", "suspension")])
        return vcjwt.sign(document, stolen, signed_at=valid_from)

    def verdict(token: str) -> dict:
        return requests.post(f"{service}/api/v1/verify", data=token, timeout=30,
                             headers={"Content-Type": "application/vc+jwt"}).json()

    now = datetime.now(UTC).replace(microsecond=0)
    unrecorded = verdict(forge(now - timedelta(hours=1)))
    assert unrecorded["outcome"] == "not_issued" and unrecorded["valid"] is False, unrecorded
    keystore.mark_compromised(stolen.kid, now)
    backdated = verdict(forge(now - timedelta(days=30)))
    assert backdated["valid"] is False and backdated["outcome"] != "valid", backdated
