"""Signing in through the hub: state-checked OAuth with PKCE, fresh sessions, real sign-out."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.certificates.conftest import csrf_of


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


def test_session_cookie_flags(app, deployment, monkeypatch):
    """The session cookie is HttpOnly and SameSite=Lax, Secure with __Host- on https."""
    from certificates import create_app

    cookie = app.test_client().get("/").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    monkeypatch.setenv("QCAMPUS_CERTIFICATES__PUBLIC_URL",
                       "https://campus.example.org/services/qcampus")
    secure = create_app({"QCAMPUS_HOME": deployment.home, "RATELIMIT_STORAGE_URI": "memory://"})
    cookie = secure.test_client().get("/", base_url="https://localhost").headers["Set-Cookie"]
    assert cookie.startswith("__Host-") and "Secure" in cookie and "Path=/;" in cookie


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

    from certificates import create_app

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
    from certificates import create_app

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
