"""Protect every route: security headers, CSRF, safe redirects, rate limits, capped logs.

The rules are those of THREATS.md B.16-B.20: a strict Content Security Policy
with no inline script, ``nosniff``, ``frame-ancestors 'none'``, HSTS only on TLS;
a CSRF token on every state-changing form plus a refusal of cross-site
``POST`` requests (including ``Sec-Fetch-Mode: no-cors``, which JupyterHub once
mistook for same-origin); ``next=`` accepted only as a relative same-origin
path; rate limits whose counters live in the deployment's own Redis so every
worker shares them, counted in process memory while it is down.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

F = TypeVar("F", bound=Callable[..., Any])

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=63072000; includeSubDomains"

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Longest value of one log field; a 10 KB user name must not become a 10 KB log line.
LOG_FIELD_LIMIT = 200

#: Longest learner name, reason or search text accepted from a form or the API.
TEXT_LIMIT = 200

_RATE_ATTRIBUTE = "_qcampus_rate_limit"


def rate_limited(category: str) -> Callable[[F], F]:
    """Mark a view as limited by the ``RATELIMIT_<CATEGORY>`` setting of the app.

    The factory wraps marked views with the app's own :class:`Limiter`, so each
    app (and each test) has its own storage while views stay importable.
    """

    def mark(view: F) -> F:
        setattr(view, _RATE_ATTRIBUTE, category)
        return view

    return mark


def log_field(value: object, limit: int = LOG_FIELD_LIMIT) -> str:
    """Return *value* as one short, printable log field."""
    text = str(value)
    text = text.encode("unicode_escape", "backslashreplace").decode("ascii")
    if len(text) > limit:
        return f"{text[:limit]}…(+{len(text) - limit} chars)"
    return text


def checked_text(value: str | None, what: str, *, limit: int = TEXT_LIMIT,
                 required: bool = True) -> str:
    """Return a stripped form/API text value, or abort 400 naming what is wrong."""
    text = (value or "").strip()
    if required and not text:
        abort(400, f"{what} is required. / {what}を入力してください。")
    if len(text) > limit:
        abort(400, f"{what} is too long ({len(text)} characters; at most {limit}). "
                   f"Shorten it and try again. / {what}が長すぎます（最大{limit}文字）。")
    if any(ord(ch) < 32 and ch not in "\t" for ch in text):
        abort(400, f"{what} contains control characters. / {what}に制御文字が含まれています。")
    return text


# --- redirects -------------------------------------------------------------------------

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def safe_next(target: str | None, default: str) -> str:
    """Return *target* if it is a relative path on this origin, else *default*.

    Refused: absolute URLs (``https://evil``), scheme-relative ``//evil``,
    ``/\\evil`` (browsers read the backslash as a slash), anything with a
    scheme (``javascript:``), control characters and paths that are not
    absolute (``../``, ``evil``).
    """
    if not target or len(target) > 2000:
        return default
    if any(ord(ch) < 33 for ch in target):
        return default
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if "\\" in target or _SCHEME.match(target):
        return default
    segments = target.split("?", 1)[0].split("/")
    if ".." in segments:
        return default
    return target


# --- CSRF ------------------------------------------------------------------------------


def csrf_token() -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def check_csrf() -> None:
    """Refuse a state-changing request that a cross-site page could have sent.

    Endpoints authenticated by a bearer token (the JSON API) cannot be forged
    by a browser form and are exempt; every other non-safe request needs the
    session's token and must not be announced as cross-site by the browser.
    """
    if request.method in SAFE_METHODS:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "_qcampus_csrf_exempt", False):
        return
    site = request.headers.get("Sec-Fetch-Site", "")
    mode = request.headers.get("Sec-Fetch-Mode", "")
    if site == "cross-site" or mode == "no-cors":
        abort(403, "This form was sent from another site and was refused. Open the page on "
                   "this site and submit it again. / 他のサイトから送信されたため拒否しました。")
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
    expected = session.get(CSRF_FIELD, "")
    if not sent or not expected or not hmac.compare_digest(str(sent), str(expected)):
        abort(400, "The form's security token is missing or out of date. Reload the page and "
                   "submit it again. / フォームの確認トークンが無効です。再読み込みしてください。")


def csrf_exempt(view: F) -> F:
    """Mark a view that authenticates by bearer token, never by cookie."""
    view._qcampus_csrf_exempt = True  # type: ignore[attr-defined]
    return view


# --- headers ---------------------------------------------------------------------------


def set_headers(response: Response) -> Response:
    """Add the security headers to every response."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    if "Cache-Control" not in response.headers and request.method not in SAFE_METHODS:
        response.headers["Cache-Control"] = "no-store"
    return response


# --- wiring ----------------------------------------------------------------------------


def init_app(app: Flask) -> Limiter:
    """Install headers, CSRF and the app's rate limiter; return the limiter."""
    app.before_request(check_csrf)
    app.after_request(set_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    storage_uri = app.config["RATELIMIT_STORAGE_URI"]
    if storage_uri is None:
        from web import ratelimit_store

        storage_uri = ratelimit_store.storage_uri(ratelimit_store.StorePaths.of(
            app.config["QCAMPUS_HOME"], app.config["SECRETS_DIR"]))
    # RATELIMIT_IN_MEMORY_FALLBACK_ENABLED: while the store is unreachable each process
    # counts on its own (Flask-Limiter logs a warning) instead of answering 500.
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_uri,
                      key_prefix=app.config.get("RATELIMIT_KEY_PREFIX", "qcampus"))
    app.extensions["qcampus_limiter"] = limiter
    if not limiter.enabled:
        # RATELIMIT_ENABLED = False: the limiter checks nothing, and its view wrapper
        # would still cost every request the work of finding no limits.
        return limiter
    for endpoint, view in list(app.view_functions.items()):
        category = getattr(view, _RATE_ATTRIBUTE, None)
        if category is None:
            continue
        setting = f"RATELIMIT_{category.upper()}"
        # One budget per category: the verify page, upload and API draw on the same counter.
        limited = limiter.shared_limit(lambda setting=setting: current_app.config[setting],
                                       scope=category)(view)
        app.view_functions[endpoint] = limited
    return limiter
