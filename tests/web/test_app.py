"""The service factory: configuration, size limits, security headers on every route."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.certificates.conftest import csrf_of
from web import create_app, default_config, security

FIFTY_MB = 50 * 1024 * 1024


def test_default_configuration_comes_from_the_deployment(deployment):
    """Without overrides the app uses the deployment's web database and its own Redis for rate limits."""
    config = default_config(deployment.home)
    assert config["WEB_DATABASE_URL"] == deployment.web_database_url
    assert config["PUBLIC_URL"] == deployment.public_url
    # None: the deployment's own store (web.ratelimit_store), never a shared TCP Redis.
    assert config["RATELIMIT_STORAGE_URI"] is None
    assert config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True
    assert config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    # Keys of the plugins are theirs to add (web imports none of them).
    assert "DATABASE_URL" not in config and "KEYS_DIR" not in config


def test_app_built_without_overrides_uses_redis(deployment, deployment_store, monkeypatch):
    """An app created from the deployment alone keeps its rate-limit counters in its own Redis."""
    monkeypatch.setenv("QCAMPUS_HOME", str(deployment.home))
    monkeypatch.setenv("QCAMPUS_CERTIFICATES__DATABASE_URL", deployment.certificates_database_url)
    app = create_app()
    limiter = app.extensions["qcampus_limiter"]
    assert type(limiter.storage).__name__ == "RedisStorage"
    assert limiter.storage.check()


def test_session_secret_is_created_once_with_mode_0600(deployment):
    """The session key lives in the secrets directory (0600) and is shared by every app."""
    first = create_app({"QCAMPUS_HOME": deployment.home, "RATELIMIT_STORAGE_URI": "memory://"})
    second = create_app({"QCAMPUS_HOME": deployment.home, "RATELIMIT_STORAGE_URI": "memory://"})
    key_file = deployment.secrets / "certificates-session-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert first.secret_key == second.secret_key == key_file.read_text().strip()


def _urls(app: Flask) -> list[str]:
    """Return one URL per route, with placeholder arguments."""
    values = {"credential_id": "00000000-0000-4000-8000-000000000000", "purpose": "revocation",
              "achievement_id": "gate-engineer-b1", "filename": "style.css",
              "credential_uuid": "00000000-0000-4000-8000-000000000000",
              "course": "foundations", "assignment": "first-circuits", "submission_id": 1,
              "attempt_id": 1, "exam_id": "quantum-literacy"}
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" in rule.methods:
                urls.append(url_for(rule.endpoint, **{a: values[a] for a in rule.arguments}))
    return sorted(set(urls)) + ["/no-such-page"]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_security_headers_on_every_route(app, client, scheme):
    """Every response carries CSP, nosniff, frame-ancestors; HSTS exactly when TLS."""
    for url in _urls(app):
        response = client.get(url, base_url=f"{scheme}://localhost")
        headers = response.headers
        assert "default-src 'self'" in headers["Content-Security-Policy"], url
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], url
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"], url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["Referrer-Policy"] == "no-referrer", url
        assert ("Strict-Transport-Security" in headers) == (scheme == "https"), url
        assert response.status_code < 500, url
        response.close()


def test_pages_contain_no_inline_script(app, client, staff_client):
    """No page has an inline script or style attribute the CSP would have to allow."""
    for url in ["/", "/verify", "/admin/", "/admin/audit"]:
        body = staff_client.get(url).get_data(as_text=True)
        assert "<script" not in body and "style=" not in body and "onclick" not in body, url


@pytest.mark.parametrize("path", ["/verify", "/api/v1/verify"])
def test_fifty_megabyte_upload_is_refused_with_413(client, path):
    """A 50 MB body gets 413 with a message that names the limit."""
    body = b"e" * FIFTY_MB
    if path == "/verify":
        token = csrf_of(client)
        response = client.post(path, data={"csrf_token": token, "text": body.decode()})
    else:
        response = client.post(path, data=body, content_type="application/vc+jwt")
    assert response.status_code == 413
    assert "1024 KiB" in response.get_data(as_text=True)


def test_413_is_json_for_the_api(client):
    """The API answers 413 as JSON."""
    response = client.post("/api/v1/verify", data=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json["status"] == 413 and "too large" in response.json["message"]


def test_service_prefix_serves_below_hub_path(deployment, hub):
    """Under JupyterHub the service answers below /services/qcampus/ and links there."""
    app = create_app({"QCAMPUS_HOME": deployment.home, "RATELIMIT_STORAGE_URI": "memory://",
                      "SERVICE_PREFIX": "/services/qcampus/", "HUB_AUTH": hub})
    client = app.test_client()
    page = client.get("/services/qcampus/")
    assert page.status_code == 200
    assert 'action="/services/qcampus/verify"' in page.get_data(as_text=True)
    assert client.get("/").status_code == 404


def test_log_fields_are_capped():
    """A 10 KB value becomes one short, escaped log field."""
    field = security.log_field("x" * 10_000 + "\nforged log line")
    assert len(field) < 300 and "\n" not in field


def test_unknown_page_is_a_bilingual_404(client):
    """An unknown address answers 404 in English and Japanese."""
    response = client.get("/no-such-page")
    body = response.get_data(as_text=True)
    assert response.status_code == 404 and "no page at this address" in body and "ページ" in body


def test_api_errors_are_json(client):
    """Errors under /api/ are JSON objects with a message."""
    response = client.get("/api/v1/credentials")
    assert response.status_code == 405 and response.json["status"] == 405
