"""Signing in through the hub: state-checked OAuth with PKCE, fresh sessions, real sign-out."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qcampus.database import write_session
from tests.certificates.conftest import BOTH_DATABASES, csrf_of
from web.models import WebSession, utcnow


def _start_login(client, path: str = "/admin/audit?sort=oldest") -> dict[str, str]:
    response = client.get(path)
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def test_login_round_trip_returns_to_the_page(client, hub):
    """After the hub's OAuth the browser lands on the page it asked for, signed in."""
    token = hub.add_user("ada", ("instructors",))
    query = _start_login(client)
    assert query["client_id"] == "service-qcampus"
    response = client.get("/oauth_callback",
                          query_string={"code": hub.code_for(token), "state": query["state"]})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/audit?sort=oldest"
    assert hub.verifiers[0] is not None
    assert client.get("/admin/audit").status_code == 200


@pytest.mark.parametrize("state", ["", "forged-state"])
def test_callback_with_wrong_state_is_refused(client, hub, state):
    """A callback whose state does not match the session's is refused with 403."""
    token = hub.add_user("ada", ("instructors",))
    _start_login(client)
    response = client.get("/oauth_callback",
                          query_string={"code": hub.code_for(token), "state": state})
    assert response.status_code == 403
    assert client.get("/admin/").status_code == 302


def test_callback_without_prior_login_is_refused(client, hub):
    """A callback the browser never started (login CSRF) is refused."""
    token = hub.add_user("mallory", ("instructors",))
    response = client.get("/oauth_callback",
                          query_string={"code": hub.code_for(token), "state": "any"})
    assert response.status_code == 403


def test_state_is_single_use(client, hub):
    """Replaying a finished callback is refused."""
    token = hub.add_user("ada", ("instructors",))
    query = _start_login(client)
    code = hub.code_for(token)
    client.get("/oauth_callback", query_string={"code": code, "state": query["state"]})
    again = client.get("/oauth_callback", query_string={"code": code, "state": query["state"]})
    assert again.status_code == 403


def test_missing_code_is_400(client):
    """A callback without a code explains what to do."""
    assert client.get("/oauth_callback").status_code == 400


def test_login_starts_a_fresh_session(client, hub):
    """Nothing set in the session before login survives it (session fixation)."""
    before = csrf_of(client)
    token = hub.add_user("ada", ("instructors",))
    query = _start_login(client)
    client.get("/oauth_callback", query_string={"code": hub.code_for(token),
                                                "state": query["state"]})
    with client.session_transaction() as session:
        assert session.get("csrf_token") != before
        assert set(session) == {"hub_token"}


@pytest.mark.parametrize("next_path", ["//evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(client, hub, next_path):
    """A crafted path to log in from still lands on this site after login."""
    token = hub.add_user("ada", ("instructors",))
    response = client.get(f"/admin{next_path}")
    if response.status_code != 302:
        return  # no such page, so no login started and nothing to redirect
    query = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    done = client.get("/oauth_callback", query_string={"code": hub.code_for(token),
                                                       "state": query["state"]})
    location = done.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))


def test_cookie_replayed_after_sign_out_gets_401(staff_client):
    """After sign-out, a copy of the old session cookie is refused with 401."""
    assert staff_client.get("/admin/").status_code == 200
    old_cookie = staff_client.get_cookie("qcampus-certificates").value
    token = csrf_of(staff_client, "/admin/")
    assert staff_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert staff_client.get("/admin/").status_code == 302
    staff_client.set_cookie("qcampus-certificates", old_cookie)
    replayed = staff_client.get("/admin/")
    assert replayed.status_code == 401
    assert "Your session has ended" in replayed.get_data(as_text=True)


def _set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def _sign_in(client, hub, name: str = "ada", groups=("instructors",), prefix: str = ""):
    """Sign in through the OAuth round trip; return the hub token and the callback response."""
    token = hub.add_user(name, groups)
    query = _start_login(client, f"{prefix}/admin/")
    done = client.get(f"{prefix}/oauth_callback",
                      query_string={"code": hub.code_for(token), "state": query["state"]})
    assert done.status_code == 302
    return token, done


def _readings(value: str) -> list[bytes]:
    """Return every decoding of a cookie value a reader could try (base64url parts, zlib)."""
    found = [value.encode()]
    for part in value.lstrip(".").split("."):
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except ValueError:
            continue
        found.append(raw)
        try:
            found.append(zlib.decompress(raw))
        except zlib.error:
            pass
    return found


def test_session_cookie_holds_no_token(client, hub):
    """After sign-in the cookie is a bare random id: no hub or CSRF token, not even encoded."""
    token, done = _sign_in(client, hub)
    csrf = csrf_of(client, "/admin/")
    cookies = _set_cookies(done) + _set_cookies(client.get("/"))
    value = client.get_cookie("qcampus-certificates").value
    for header in [*cookies, value]:
        for reading in _readings(header.split(";")[0].partition("=")[2] or header):
            assert token.encode() not in reading and csrf.encode() not in reading
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value)


@BOTH_DATABASES
def test_session_lives_server_side(app, client, hub):
    """The hub token is kept in the web database, under the hash of the cookie's id."""
    token, _ = _sign_in(client, hub)
    value = client.get_cookie("qcampus-certificates").value
    with Session(app.extensions["qcampus_web_engine"]) as db:
        row = db.get(WebSession, hashlib.sha256(value.encode()).hexdigest())
        assert row is not None and json.loads(row.data)["hub_token"] == token
        assert db.scalar(select(WebSession).where(WebSession.id_hash == value)) is None


def test_session_cookie_flags(deployment, hub, monkeypatch):
    """The cookie is scoped to the service: its path, HttpOnly, Lax, no Domain, Secure on TLS."""
    from web import create_app

    app = create_app({"QCAMPUS_HOME": deployment.home, "RATELIMIT_STORAGE_URI": "memory://",
                      "SERVICE_PREFIX": "/services/qcampus/", "HUB_AUTH": hub})
    _, done = _sign_in(app.test_client(), hub, prefix="/services/qcampus")
    (cookie,) = _set_cookies(done)
    attributes = {part.strip().split("=")[0].lower(): part.strip().partition("=")[2]
                  for part in cookie.split(";")[1:]}
    assert cookie.startswith("qcampus-certificates=")
    assert attributes["path"] == "/services/qcampus"
    assert "httponly" in attributes and attributes["samesite"] == "Lax"
    assert "domain" not in attributes and "secure" not in attributes
    expires = parsedate_to_datetime(attributes["expires"])
    assert expires <= datetime.now(UTC) + timedelta(hours=8, minutes=1)
    app.extensions["qcampus_engine"].dispose()
    app.extensions["qcampus_web_engine"].dispose()

    monkeypatch.setenv("QCAMPUS_CERTIFICATES__PUBLIC_URL",
                       "https://campus.example.org/services/qcampus")
    secure = create_app({"QCAMPUS_HOME": deployment.home, "RATELIMIT_STORAGE_URI": "memory://",
                         "SERVICE_PREFIX": "/services/qcampus/"})
    cookie = secure.test_client().get("/services/qcampus/",
                                      base_url="https://localhost").headers["Set-Cookie"]
    # "__Host-" needs Path=/; the service's own path is worth more than the prefix.
    assert cookie.startswith("__Secure-qcampus-certificates=") and "; Secure" in cookie
    assert "Path=/services/qcampus;" in cookie and "Domain" not in cookie
    secure.extensions["qcampus_engine"].dispose()
    secure.extensions["qcampus_web_engine"].dispose()


def test_sign_in_issues_a_fresh_session_id(client, hub):
    """The id a browser had before sign-in (perhaps planted) is worthless after it."""
    csrf_of(client)
    before = client.get_cookie("qcampus-certificates").value
    _sign_in(client, hub)
    after = client.get_cookie("qcampus-certificates").value
    assert after != before
    client.set_cookie("qcampus-certificates", before)
    assert client.get("/admin/").status_code == 401


@BOTH_DATABASES
def test_copied_session_id_stops_working_after_sign_out(app, client, hub):
    """A copy of the session id taken while signed in gets 401 after sign-out, GET and POST."""
    _sign_in(client, hub)
    copied = client.get_cookie("qcampus-certificates").value
    csrf = csrf_of(client, "/admin/")
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert client.get_cookie("qcampus-certificates") is None
    thief = app.test_client()
    thief.set_cookie("qcampus-certificates", copied)
    assert thief.get("/admin/").status_code == 401
    assert thief.post("/admin/issue", data={"csrf_token": csrf}).status_code in (400, 401)
    with Session(app.extensions["qcampus_web_engine"]) as db:
        row = db.get(WebSession, hashlib.sha256(copied.encode()).hexdigest())
        assert row.ended_at is not None and row.data == "{}"


def test_session_expires(app, client, hub):
    """A session past its lifetime is refused like a signed-out one."""
    _sign_in(client, hub)
    assert client.get("/admin/").status_code == 200
    with write_session(app.extensions["qcampus_web_engine"]) as db:
        db.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/admin/").status_code == 401


def test_visitor_sessions_end_sooner_and_expired_rows_are_deleted(app, client, hub):
    """A visitor's session lasts an hour, a signed-in one eight; expired rows do not pile up."""
    engine = app.extensions["qcampus_web_engine"]
    csrf_of(client)
    with Session(engine) as db:
        (visitor,) = db.scalars(select(WebSession)).all()
        assert visitor.expires_at - visitor.created_at == timedelta(hours=1)
    with write_session(engine) as db:
        db.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    _sign_in(app.test_client(), hub)
    with Session(engine) as db:
        assert db.get(WebSession, visitor.id_hash) is None
        (signed_in,) = db.scalars(select(WebSession)
                                  .where(WebSession.ended_at.is_(None))).all()
        assert signed_in.expires_at - signed_in.created_at == timedelta(hours=8)


def test_public_url_follows_the_hub_origin(tmp_path):
    """With subdomains the default public URL is the service's own origin JupyterHub serves."""
    from qcampus import settings as settings_module
    from web import default_config

    home = tmp_path / "home"
    home.mkdir()
    (home / settings_module.SETTINGS_FILE).write_text(settings_module.dump(
        settings_module.merge({})))
    assert default_config(home)["PUBLIC_URL"] == (
        "http://qcampus--service.localhost:8000/services/qcampus")
    (home / settings_module.SETTINGS_FILE).write_text(settings_module.dump(
        settings_module.merge({"hub": {"subdomain_host": "https://hub.example.org"}})))
    assert default_config(home)["PUBLIC_URL"] == (
        "https://qcampus--service.hub.example.org/services/qcampus")
    (home / settings_module.SETTINGS_FILE).write_text(settings_module.dump(
        settings_module.merge({"hub": {"subdomain_host": "", "port": 8123}})))
    assert default_config(home)["PUBLIC_URL"] == "http://127.0.0.1:8123/services/qcampus"


def test_hub_that_cannot_answer_gives_503(app, hub, staff_client):
    """When the hub fails the sign-in check, the page says so with 503, not a crash."""
    from tornado.web import HTTPError

    def unreachable(token, use_cache=True):
        raise HTTPError(500, "Failed to connect to Hub API")

    hub.user_for_token = unreachable
    response = staff_client.get("/admin/")
    assert response.status_code == 503
    assert "JupyterHub did not answer" in response.get_data(as_text=True)


def test_factory_builds_hub_oauth_from_the_hub_environment(deployment, monkeypatch):
    """Run as a hub service, the app uses JupyterHub's HubOAuth with the service's scope."""
    from jupyterhub.services.auth import HubOAuth

    from web import create_app

    for name, value in {
        "JUPYTERHUB_API_TOKEN": "service-token",
        "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
        "JUPYTERHUB_CLIENT_ID": "service-qcampus",
        "JUPYTERHUB_SERVICE_NAME": "qcampus",
        "JUPYTERHUB_SERVICE_PREFIX": "/services/qcampus/",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": "/services/qcampus/oauth_callback",
        "JUPYTERHUB_BASE_URL": "/",
    }.items():
        monkeypatch.setenv(name, value)
    app = create_app({"QCAMPUS_HOME": deployment.home, "RATELIMIT_STORAGE_URI": "memory://"})
    auth = app.extensions["qcampus_hub_auth"]
    assert isinstance(auth, HubOAuth)
    assert auth.access_scopes == {"access:services!service=qcampus"}
    response = app.test_client().get("/services/qcampus/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/hub/api/oauth2/authorize?client_id=service-qcampus")
    assert "redirect_uri=%2Fservices%2Fqcampus%2Foauth_callback" in response.headers["Location"]


def test_login_below_the_service_prefix_returns_there(deployment, hub):
    """Under /services/qcampus/ the login comes back to the prefixed page."""
    from web import create_app

    app = create_app({"QCAMPUS_HOME": deployment.home, "RATELIMIT_STORAGE_URI": "memory://",
                      "SERVICE_PREFIX": "/services/qcampus/", "HUB_AUTH": hub})
    client = app.test_client()
    token = hub.add_user("ada", ("instructors",))
    query = _start_login(client, "/services/qcampus/admin/audit")
    done = client.get("/services/qcampus/oauth_callback",
                      query_string={"code": hub.code_for(token), "state": query["state"]})
    assert done.headers["Location"] == "/services/qcampus/admin/audit"
    assert client.get("/services/qcampus/admin/audit").status_code == 200
    app.extensions["qcampus_engine"].dispose()
    app.extensions["qcampus_web_engine"].dispose()
