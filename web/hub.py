"""Sign learners and staff in through JupyterHub (``HubOAuth``).

The service runs as a JupyterHub-managed service; a browser that opens a
logged-in page is sent to the hub's OAuth authorisation page and comes back to
``oauth_callback``. The OAuth state and the PKCE verifier live in the
server-side session (:mod:`web.sessions`), not in process memory, so
any worker can finish a login that another began. The session holds only the
hub token, never sent to the browser; the user model is asked
of the hub (and cached by ``HubOAuth``) on each request, so a token the hub
revokes stops working here too.

Views use the :func:`authenticated` decorator (the user model is passed as the
first argument, as in JupyterHub's ``service-whoami-flask`` example) or
:func:`staff_required` for instructors and examiners.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

from flask import Blueprint, Flask, abort, current_app, g, redirect, request, session

from qcampus.database import write_session
from web import db, home_url
from web.models import EndedSession, utcnow
from web.security import log_field, rate_limited, safe_next
from web.sessions import current_session

F = TypeVar("F", bound=Callable[..., Any])

#: Hub groups whose members may issue, revoke and read the audit log.
STAFF_GROUPS = frozenset({"instructors", "examiners"})

bp = Blueprint("hub", __name__)


class HubAuthLike(Protocol):
    """What the service needs of ``jupyterhub.services.auth.HubOAuth``."""

    login_url: str
    access_scopes: set[str]

    def user_for_token(self, token: str, use_cache: bool = True) -> dict | None: ...

    def token_for_code(self, code: str, *, code_verifier: str | None = None) -> str: ...

    def generate_pkce_code_challenge(self, method: str = "S256") -> tuple[str, str, str]: ...

    def check_scopes(self, required_scopes: set[str], user: dict) -> set[str]: ...


def build_hub_auth(app: Flask) -> HubAuthLike | None:
    """Return the app's ``HubOAuth``, or ``None`` when the service runs without a hub."""
    if app.config.get("HUB_AUTH") is not None:
        return app.config["HUB_AUTH"]
    token = app.config.get("HUB_API_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN")
    if not token:
        return None
    from jupyterhub.services.auth import HubOAuth

    return HubOAuth(api_token=token, cache_max_age=60)


def hub_auth() -> HubAuthLike:
    """Return the current app's hub authenticator or answer 503 explaining why not."""
    auth = current_app.extensions.get("qcampus_hub_auth")
    if auth is None:
        abort(503, "Signing in needs JupyterHub: this service is not running as a hub service. "
                   "Start it through `qcampus up`. / ログインには JupyterHub が必要です。")
    return auth


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ask_hub(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a HubOAuth call; answer 503 with a clear message when the hub cannot answer."""
    from tornado.web import HTTPError

    try:
        return call(*args, **kwargs)
    except HTTPError as exc:
        current_app.logger.warning("JupyterHub did not answer: %s", log_field(exc))
        abort(503, "JupyterHub did not answer the sign-in check. Try again in a minute; if it "
                   "persists, tell the platform administrator. / JupyterHub から応答がありません。"
                   "しばらくしてから再度お試しください。")


def current_user() -> dict | None:
    """Return the hub user model of this request's session, or ``None``."""
    if "qcampus_user" in g:
        return g.qcampus_user
    token = session.get("hub_token")
    user = None
    if token and not _ended(token):
        auth = hub_auth()
        user = ask_hub(auth.user_for_token, token)
        if user is not None and auth.access_scopes and not auth.check_scopes(
                auth.access_scopes, user):
            user = None
    g.qcampus_user = user
    return user


def _ended(token: str) -> bool:
    """Tell whether the session holding *token* signed out (a connection held only for the look-up)."""
    from sqlalchemy.orm import Session

    with Session(db.engine()) as lookup:
        return lookup.get(EndedSession, _token_hash(token)) is not None


def is_staff(user: dict) -> bool:
    """Tell whether the hub user may issue, revoke and audit."""
    return bool(STAFF_GROUPS.intersection(user.get("groups") or ()))


def _login_redirect():
    auth = hub_auth()
    state = secrets.token_urlsafe(24)
    verifier, challenge, method = auth.generate_pkce_code_challenge()
    session["oauth_state"] = state
    session["oauth_verifier"] = verifier
    # script_root: below the hub's service prefix, the page's public path includes it.
    session["oauth_next"] = safe_next(request.script_root + request.full_path.rstrip("?"),
                                      home_url())
    query = urlencode({"state": state, "code_challenge": challenge,
                       "code_challenge_method": method})
    return redirect(f"{auth.login_url}&{query}")


def authenticated(view: F) -> F:
    """Run *view* with the signed-in hub user as first argument, or send the browser to log in."""

    @wraps(view)
    def decorated(*args: Any, **kwargs: Any):
        user = current_user()
        if user is None:
            if request.method != "GET" or "hub_token" in session or current_session().ended:
                # A session that signed out (or that the hub no longer honours) is refused
                # outright; only a browser with no session is sent to sign in.
                session.clear()
                abort(401, "Your session has ended. Open the page again to sign in. / "
                           "セッションが終了しました。ページを開き直してログインしてください。")
            return _login_redirect()
        return view(user, *args, **kwargs)

    return decorated  # type: ignore[return-value]


def staff_required(view: F) -> F:
    """Like :func:`authenticated`, and refuse users outside the staff groups with 403."""

    @wraps(view)
    def decorated(user: dict, *args: Any, **kwargs: Any):
        if not is_staff(user):
            abort(403, "This page is for instructors and examiners. / "
                       "このページは講師・試験官専用です。")
        return view(user, *args, **kwargs)

    return authenticated(decorated)  # type: ignore[return-value]


@bp.get("/oauth_callback")
@rate_limited("login")
def oauth_callback():
    """Finish the OAuth login begun by :func:`authenticated` (state-checked, PKCE)."""
    code = request.args.get("code", "")
    state = request.args.get("state", "")
    expected = session.pop("oauth_state", None)
    verifier = session.pop("oauth_verifier", None)
    next_url = session.pop("oauth_next", None)
    if not code or len(code) > 512:
        abort(400, "The hub sent no login code. Start again from the page you wanted. / "
                   "ログインコードがありません。")
    if not expected or not secrets.compare_digest(state, expected):
        abort(403, "The login state does not match this browser's session. Start again from "
                   "the page you wanted. / ログイン状態が一致しません。")
    token = ask_hub(hub_auth().token_for_code, code, code_verifier=verifier)
    # A fresh session at login: a new id, and nothing set before it survives (session fixation).
    session.clear()
    session["hub_token"] = token
    current_session().rotate()
    return redirect(safe_next(next_url, home_url()))


@bp.post("/logout")
def logout():
    """End this session here: its hub token is refused from now on, even in a replayed cookie."""
    token = session.get("hub_token")
    if token:
        with write_session(db.engine()) as write:
            if write.get(EndedSession, _token_hash(token)) is None:
                write.add(EndedSession(token_hash=_token_hash(token), ended_at=utcnow()))
    # The id is refused from now on, even if a copy of the cookie survives somewhere.
    current_session().end()
    return redirect(home_url())


def init_app(app: Flask) -> None:
    """Attach the hub authenticator and register the OAuth callback.

    Pages other packages add (entry points ``qcampus.web``) guard themselves with
    :func:`staff_required` (staff) or :func:`authenticated` (any signed-in user)
    and list themselves in the staff pages' navigation by appending
    ``(endpoint, label)`` to ``app.extensions["qcampus_staff_links"]``.
    """
    app.extensions["qcampus_hub_auth"] = build_hub_auth(app)
    app.extensions.setdefault("qcampus_staff_links", [])
    app.context_processor(lambda: {"staff_links": app.extensions["qcampus_staff_links"]})
    app.register_blueprint(bp)
