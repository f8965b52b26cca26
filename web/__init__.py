"""web: the one qcampus web service, into which feature packages plug their pages.

:func:`create_app` builds what every page needs: hub login (:mod:`web.hub`),
server-side sessions (:mod:`web.sessions`), CSRF, security headers and rate
limits (:mod:`web.security`), the base template, the language switch
(:mod:`web.language`) and error pages that answer as JSON or HTML. Packages
add their blueprints through the ``qcampus.web`` entry points (certificates,
exams, the exchange, grading). It runs as the JupyterHub-managed service
``qcampus`` at ``/services/qcampus/`` (``JUPYTERHUB_SERVICE_PREFIX``), under
gunicorn (``web.wsgi:app``) or ``python -m web``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from qcampus.permissions import read_or_create_secret

#: Largest request body accepted (a credential file is a few kilobytes).
MAX_CONTENT_LENGTH = 1024 * 1024

# The file name predates this package; renaming it would sign every browser out.
SESSION_KEY_FILE = "certificates-session-key"
WEB_PLUGIN_GROUP = "qcampus.web"
#: The start page's link text unless a plugin names its own (``HOME_LABEL``).
HOME_LABEL = "Start page / トップページ"


def default_config(home: Path | None = None, settings=None) -> dict[str, Any]:
    """Return the service configuration derived from the deployment's settings.

    Packages that plug in add their own keys (``app.config.setdefault``) when added, such
    as ``SITE_NAME`` (every page title's suffix), ``HOME_ENDPOINT`` and ``HOME_LABEL`` (the
    start page that sign-in and error pages lead to; by default the service's prefix).

    Args:
        home: The deployment directory (default ``$QCAMPUS_HOME`` or ``./var``).
        settings: Already loaded :class:`~qcampus.settings.Settings` to use instead.
    """
    from qcampus import settings as settings_mod

    settings = settings or settings_mod.load(home)
    public_url = settings.public_url
    return {
        "QCAMPUS_HOME": settings.home,
        "WEB_DATABASE_URL": settings.web_database_url,
        "PUBLIC_URL": public_url,
        "SECRETS_DIR": settings.secrets,
        "SERVICE_PREFIX": os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"),
        "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
        "MAX_FORM_MEMORY_SIZE": MAX_CONTENT_LENGTH,
        # Counters shared by every worker process (Flask-Limiter's memory store is per process).
        # None: the deployment's own Redis on a root-only socket (web.ratelimit_store).
        "RATELIMIT_STORAGE_URI": None,
        # A store that is down costs a request at most this long, then limits count in memory.
        "RATELIMIT_STORAGE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_LOGIN": "20 per minute",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Number of proxies (configurable-http-proxy) whose X-Forwarded-* headers are trusted,
        # and the users whose loopback connections are that proxy's (JupyterHub runs it as
        # root); from anyone else the headers are dropped (web.forwarding).
        "TRUSTED_PROXIES": 1,
        "TRUSTED_PROXY_UIDS": [0],
        # Sessions live in the web database (web.sessions); the cookie holds a random id,
        # scoped to the service's path (set from SERVICE_PREFIX by create_app) and host.
        # "__Host-" would need Path=/, which would send the cookie to every path of the host.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": public_url.startswith("https://"),
        "SESSION_COOKIE_NAME": ("__Secure-qcampus-certificates"
                                if public_url.startswith("https://") else "qcampus-certificates"),
        "SESSION_COOKIE_DOMAIN": None,
        # A signed-in session ends this long after sign-in; a visitor's (form token only) sooner.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "ANONYMOUS_SESSION_LIFETIME": timedelta(hours=1),
        "HUB_AUTH": None,
        # Entry points of qcampus.web to add (None: all installed).
        "WEB_PLUGINS": None,
        # Plugins start their background work (the exam sweep) only in the served app
        # (web.wsgi), never in an app a command or a test builds.
        "BACKGROUND_TASKS": False,
    }


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the qcampus web service with every installed plugin's pages.

    Args:
        test_config: Settings that replace those derived from the deployment
            (``QCAMPUS_HOME`` in it chooses the deployment directory).
    """
    app = Flask(__name__)
    test_config = dict(test_config or {})
    app.config.from_mapping(default_config(test_config.get("QCAMPUS_HOME"),
                                           test_config.get("QCAMPUS_SETTINGS")))
    # Service tuning without a settings key, e.g. QCAMPUS_SERVICE_RATELIMIT_VERIFY="600/minute".
    app.config.from_prefixed_env("QCAMPUS_SERVICE")
    app.config.from_mapping(test_config)
    if "SECRET_KEY" not in test_config:
        app.config["SECRET_KEY"] = read_or_create_secret(
            Path(app.config["SECRETS_DIR"]) / SESSION_KEY_FILE)

    prefix = app.config["SERVICE_PREFIX"].rstrip("/")
    if not app.config.get("SESSION_COOKIE_PATH"):
        # No trailing slash: browsers match "/services/qcampus" to ".../qcampus/..." and to
        # the bare prefix, and never to a sibling such as "/services/qcampus-evil".
        app.config["SESSION_COOKIE_PATH"] = prefix or "/"

    from web import db, hub, security, sessions

    db.init_app(app)
    sessions.init_app(app)
    hub.init_app(app)
    register_error_handlers(app)
    add_plugins(app)
    # After the plugins: the limiter wraps every view marked rate_limited, theirs included.
    security.init_app(app)
    app.context_processor(lambda: {"site_name": app.config.get("SITE_NAME", "qcampus"),
                                   "home_label": app.config.get("HOME_LABEL", HOME_LABEL),
                                   "home_url": home_url})

    if app.config["TRUSTED_PROXIES"]:
        from web.forwarding import ProxyOnlyForwarding

        app.wsgi_app = ProxyOnlyForwarding(app.wsgi_app, proxies=app.config["TRUSTED_PROXIES"],
                                           trusted_uids=app.config["TRUSTED_PROXY_UIDS"])
    if prefix:
        # Under the hub the proxy forwards /services/qcampus/...; serve below that prefix.
        from werkzeug.exceptions import NotFound

        app.wsgi_app = DispatcherMiddleware(NotFound(), {prefix: app.wsgi_app})
    return app


def add_plugins(app: Flask) -> None:
    """Let other packages add their blueprints (entry points ``qcampus.web``, e.g. the exchange).

    ``WEB_PLUGINS`` names the ones to add; None (the default) adds every installed one.
    """
    from importlib.metadata import entry_points

    wanted = app.config.get("WEB_PLUGINS")
    for entry in entry_points(group=WEB_PLUGIN_GROUP):
        if wanted is None or entry.name in wanted:
            entry.load()(app)


def home_url() -> str:
    """Return the address of the service's start page (``HOME_ENDPOINT``, else its prefix)."""
    from flask import current_app

    endpoint = current_app.config.get("HOME_ENDPOINT")
    if endpoint and endpoint in current_app.view_functions:
        return url_for(endpoint)
    return request.script_root + "/"


#: Bilingual wording for errors raised without a message of their own.
GENERIC_MESSAGES = {
    404: "There is no page at this address. Check the link, or start from the service's start "
         "page. / このアドレスにページはありません。リンクを確認してください。",
    405: "This address does not accept that kind of request. Open the page and use its form. / "
         "この操作はこのアドレスでは使えません。",
}


def wants_json() -> bool:
    """Tell whether the client of this request reads JSON rather than HTML."""
    # A 404 or 405 is raised before routing names a blueprint, so the path decides.
    if request.path.startswith("/api/"):
        return True
    if request.is_json:
        return True  # a client that sends JSON (the exam page's autosave) reads JSON
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, title: str, message: str):
    """Return an error answer for this request: JSON, or the bilingual error page."""
    if wants_json():
        return jsonify(error=title, message=message, status=status), status
    return render_template("error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    """Answer every HTTP error with a clear message, as JSON or a bilingual page."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"] // 1024
            message = (f"The upload is too large; the limit is {limit} KiB. A credential file is "
                       f"a few kilobytes: check that you chose the right file. / "
                       f"ファイルが大きすぎます（上限 {limit} KiB）。")
            return error_response(413, "Request too large", message)
        if exc.code == 429:
            message = ("Too many requests from your address. Wait a minute and try again. / "
                       "リクエストが多すぎます。しばらく待ってから再度お試しください。")
            return error_response(429, "Too many requests", message)
        message = exc.description or exc.name
        if message == type(exc).description and exc.code in GENERIC_MESSAGES:
            message = GENERIC_MESSAGES[exc.code]
        return error_response(exc.code or 500, exc.name, message)
