"""The hub's login rate limit through the real proxy: 429 per client address and per account."""

from __future__ import annotations

import secrets

import pytest

from tests.e2e.conftest import HubUser, SourceAddress

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The hub's default: 10 failures per address and per account within 15 minutes.
ATTEMPTS = 10
REFUSAL = "Too many login attempts; wait 15 minutes and try again."


def user_at(dep, name: str, address: str) -> HubUser:
    """Return a session of *name* whose requests come from *address*."""
    user = HubUser(dep.url, name)
    user.session.mount("http://", SourceAddress(address))
    return user


def test_too_many_failures_get_429_per_address_and_per_account(shared_hub):
    """Failures from one address, or against one account, end in 429; another account still logs in."""
    dep = shared_hub.dep
    people = dep.people
    password_a, password_b = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    assert user_at(dep, people.learner_a, "127.0.0.2").login(password_a).status_code == 200
    assert user_at(dep, people.learner_b, "127.0.0.2").login(password_b).status_code == 200

    # Per address: failures against different names, then even a right password is refused.
    names = [people.name("x"), "q" * 10_000, people.name("y")]
    for i in range(ATTEMPTS):
        response = user_at(dep, names[i % len(names)], "127.0.0.3").login("wrong-password")
        assert response.status_code == 403, i
    refused = user_at(dep, people.learner_b, "127.0.0.3").login(password_b)
    assert refused.status_code == 429
    assert REFUSAL in refused.text and refused.headers["Retry-After"].isdigit()
    # The same account from another address is not affected by that address's failures.
    assert user_at(dep, people.learner_b, "127.0.0.4").login(password_b).status_code == 200

    # Per account: failures against learner A from many addresses block A from anywhere.
    for i in range(ATTEMPTS):
        response = user_at(dep, people.learner_a, f"127.0.1.{i + 1}").login("wrong-password")
        assert response.status_code == 403, i
    refused = user_at(dep, people.learner_a, "127.0.2.1").login(password_a)
    assert refused.status_code == 429 and REFUSAL in refused.text
    # A correct login of another account from a fresh address still works.
    instructor = user_at(dep, people.instructor, "127.0.2.2")
    assert instructor.login(secrets.token_urlsafe(12)).status_code == 200
    assert instructor.session.get(f"{dep.url}/hub/api/user").json()["name"] == people.instructor

    log = (dep.settings.logs / "jupyterhub.log").read_text(errors="replace")
    assert "q" * 1000 not in log
    assert "too many failed attempts" in log
