"""CSRF, safe redirects, rate limits: THREATS B.16, B.17 and B.20."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from certificates.db import write_session
from certificates.models import AuditRecord, Credential, StatusEvent, StatusList
from tests.certificates.conftest import csrf_of, signed_in
from web import create_app
from web.security import safe_next

UUID = "00000000-0000-4000-8000-000000000000"


def _snapshot(service_issuer) -> tuple:
    """Return what a forged request must not change."""
    with write_session(service_issuer.engine) as session:
        counts = tuple(session.scalar(select(func.count()).select_from(model))
                       for model in (Credential, StatusEvent, AuditRecord))
        lists = tuple((row.purpose, row.version, row.bits)
                      for row in session.scalars(select(StatusList).order_by(StatusList.purpose)))
        states = tuple(session.scalars(select(Credential.status).order_by(Credential.serial)))
    return counts, lists, states


def _form_posts(app, credential_uuid: str) -> list[tuple[str, dict]]:
    """Return every state-changing form route with a form a legitimate user would send."""
    forms = {
        "verify.upload": {"text": "eyJ"},
        "admin.issue": {"learner": "bob", "achievement": "gate-engineer-b1",
                        "reason": "forged", "request_id": UUID},
        "admin.change_status": {"action": "revoke", "reason_category": "other",
                                "reason": "forged"},
        "hub.logout": {},
        "learner.choose_name": {"show": "on"},
        # Staff pages other packages add to the service (the grading queue).
        "grading.regrade_one": {},
        "grading.regrade_assignment": {"pair": "foundations/first-circuits"},
        # The exam pages (a candidate's attempt, the examiners' actions).
        "exams.start": {"language": "en"},
        "exams.save_answer": {"item": "t", "answer": "a"},
        "exams.submit": {},
        "exams.place": {},
        "exams.collect": {},
        "exams.certificate": {},
        "exams.extend": {"minutes": "10", "reason": "forged"},
        "exams.void": {"reason": "forged"},
    }
    posts = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            view = app.view_functions[rule.endpoint]
            if "POST" not in rule.methods or getattr(view, "_qcampus_csrf_exempt", False):
                continue
            assert rule.endpoint in forms, f"add {rule.endpoint} to the CSRF test"
            arguments = {a: 1 if a.endswith("_id") and a != "credential_id" else credential_uuid
                         for a in rule.arguments}
            posts.append((url_for(rule.endpoint, **arguments), forms[rule.endpoint]))
    return posts


@pytest.mark.parametrize("variant", ["missing", "wrong", "other-session", "cross-site",
                                     "no-cors", "cross-site-with-token"])
def test_forged_posts_are_refused_and_change_nothing(app, hub, service_issuer,
                                                     issue_credential, variant):
    """Every form POST without a valid same-site token gets 400/403 and changes nothing."""
    issued = issue_credential(learner="alice")
    credential_uuid = issued.credential_id.removeprefix("urn:uuid:")
    victim = signed_in(app, hub, "ada", ("instructors",))
    attacker = signed_in(app, hub, "alice", ("instructors",))
    token = csrf_of(victim)
    before = _snapshot(service_issuer)
    for url, form in _form_posts(app, credential_uuid):
        data, headers = dict(form), {}
        if variant == "wrong":
            data["csrf_token"] = "x" * 43
        elif variant == "other-session":
            data["csrf_token"] = csrf_of(attacker)
        elif variant == "cross-site":
            headers = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
        elif variant == "no-cors":
            data["csrf_token"] = token
            headers = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors"}
        elif variant == "cross-site-with-token":
            data["csrf_token"] = token
            headers = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
        response = victim.post(url, data=data, headers=headers)
        assert response.status_code in (400, 403), (url, response.status_code)
        assert "token" in response.get_data(as_text=True) or "another site" in \
            response.get_data(as_text=True)
    assert _snapshot(service_issuer) == before


def test_get_requests_change_nothing(app, staff_client, service_issuer, issue_credential):
    """GET on every route, and GET on form endpoints, never changes what is stored."""
    issued = issue_credential()
    credential_uuid = issued.credential_id.removeprefix("urn:uuid:")
    before = _snapshot(service_issuer)
    for url, _form in _form_posts(app, credential_uuid):
        response = staff_client.get(url)
        assert response.status_code in (200, 302, 404, 405), url
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" in rule.methods and rule.endpoint != "static":
                # Integer arguments (an exchange submission's id) get a number.
                arguments = {a: 1 if a.endswith("_id") and a != "credential_id" else credential_uuid
                             for a in rule.arguments}
                if "purpose" in rule.arguments:
                    arguments["purpose"] = "revocation"
                staff_client.get(url_for(rule.endpoint, **arguments)).close()
    assert _snapshot(service_issuer) == before


@pytest.mark.parametrize("target", [
    "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
    "https://evil.example/", "http:/evil.example", "javascript:alert(1)",
    "/ok\r\nLocation: //evil", "/ok\x00", "../admin", "evil.example",
    "/services/qcampus/../../hub/admin", " //evil.example", "",
])
def test_unsafe_next_targets_fall_back(target):
    """Only same-origin relative paths are accepted as redirect targets."""
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize("target", ["/admin/", "/verify?id=abc", "/my/123#share",
                                    "/services/qcampus/admin/audit?q=x"])
def test_safe_next_targets_pass(target):
    """Relative paths on this origin are kept."""
    assert safe_next(target, "/home") == target


def _limited_app(deployment, hub, **limits):
    config = {"QCAMPUS_HOME": deployment.home, "RATELIMIT_STORAGE_URI": "memory://",
              "HUB_AUTH": hub, "SERVICE_PREFIX": "/"}
    config.update(limits)
    return create_app(config)


def test_verification_is_rate_limited_per_address(deployment, hub, issue_credential):
    """Past the limit, verification answers 429 with a clear message, per client address."""
    issued = issue_credential()
    app = _limited_app(deployment, hub, RATELIMIT_VERIFY="3 per minute")
    client = app.test_client()
    url = f"/verify/{issued.credential_id.removeprefix('urn:uuid:')}"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(url)
    assert refused.status_code == 429
    assert "Too many requests" in refused.get_data(as_text=True)
    api = client.post("/api/v1/verify", data=issued.token)
    assert api.status_code == 429 and api.json["status"] == 429
    other = client.get(url, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_login_callback_is_rate_limited(deployment, hub):
    """A flood of login callbacks, e.g. with 10 KB codes, gets 429."""
    app = _limited_app(deployment, hub, RATELIMIT_LOGIN="5 per minute")
    client = app.test_client()
    codes = [client.get("/oauth_callback", query_string={"code": "c" * 10_000, "state": "s"})
             .status_code for _ in range(6)]
    assert codes[:5] == [400] * 5 and codes[5] == 429
