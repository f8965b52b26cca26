"""The certificates service as JupyterHub runs it: OAuth login, staff roles, public pages."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import HubUser, wait_for_service

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert match, f"no {name} in the page"
    return match.group(1)


def test_staff_issue_and_revoke_through_the_hub(shared_hub):
    """The service runs by default; an instructor issues and revokes; anyone sees the verdict."""
    dep = shared_hub.dep
    # The service has its own origin, apart from the hub's and every user's.
    service = dep.service_url
    assert urlsplit(service).netloc not in (urlsplit(dep.url).netloc,
                                            urlsplit(dep.user_origin(dep.people.learner_a)).netloc)
    wait_for_service(f"{service}/")
    # The hub's port reached the service: its public URL names it.
    described = requests.get(f"{service}/api/v1/openapi.json", timeout=30).json()
    assert described["servers"] == [{"url": f"{service}/api/v1"}]

    anonymous = requests.Session()
    login = anonymous.get(f"{service}/admin/", allow_redirects=False)
    assert login.status_code == 302 and "/hub/api/oauth2/authorize" in login.headers["Location"]

    instructor = HubUser(dep.url, dep.people.instructor)
    assert instructor.login(secrets.token_urlsafe(12)).status_code == 200
    page = instructor.session.get(f"{service}/admin/")
    assert page.status_code == 200 and "Issue by hand" in page.text, page.text[:300]

    issued = instructor.session.post(f"{service}/admin/issue", data={
        "csrf_token": _hidden(page.text, "csrf_token"),
        "request_id": _hidden(page.text, "request_id"),
        "learner": dep.people.learner_a, "achievement": "gate-engineer-b1",
        "reason": "end-to-end check"})
    assert issued.status_code == 200 and "active" in issued.text
    credential = re.search(r"/verify/([0-9a-f-]{36})", issued.text).group(1)
    assert 'data-outcome="valid"' in anonymous.get(f"{service}/verify/{credential}").text

    revoked = instructor.session.post(f"{service}/admin/credentials/{credential}/status", data={
        "csrf_token": _hidden(issued.text, "csrf_token"), "action": "revoke",
        "reason_category": "issued_in_error", "reason": "end-to-end check"})
    assert revoked.status_code == 200
    verdict = anonymous.get(f"{service}/verify/{credential}").text
    assert 'data-outcome="revoked"' in verdict and "Issued in error" in verdict

    learner = HubUser(dep.url, dep.people.learner_b)
    assert learner.login(secrets.token_urlsafe(12)).status_code == 200
    assert learner.session.get(f"{service}/admin/").status_code == 403
