"""Browser sessions kept in the web service's database; the cookie carries only a random id.

Flask's default session is a signed cookie: readable by anything that gets
the cookie, valid until the key changes, impossible to end on the server. A
service that issues certificates must not hand a staff member's hub token to whichever page
can read the cookie, so :class:`ServerSessionInterface` keeps every value
(hub token, CSRF token, OAuth state and PKCE verifier) in the
``web_sessions`` table and puts only a 256-bit random id in the cookie,
stored as its SHA-256.

- The id changes at sign-in (:meth:`ServerSession.rotate`), so an id planted or
  seen before it is worth nothing after it.
- Signing out (:meth:`ServerSession.end`) marks the row ended: a copied id is
  answered 401 until the row expires, then is merely unknown.
- Every session expires ``PERMANENT_SESSION_LIFETIME`` after sign-in, a
  visitor's (no sign-in; a CSRF token or the OAuth state) after
  ``ANONYMOUS_SESSION_LIFETIME``; expired rows are deleted when new sessions begin.
- The cookie is scoped to the service: ``Path`` is the service prefix,
  ``HttpOnly``, ``SameSite=Lax``, ``Secure`` on TLS, never a ``Domain``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from typing import Any

from flask import Flask
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import CallbackDict
from werkzeug.wrappers import Request, Response

from qcampus.database import write_session
from web.models import WebSession, utcnow

#: Longest session id accepted from a cookie (ours are 43 characters).
MAX_ID_LENGTH = 64


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii", "replace")).hexdigest()


class ServerSession(CallbackDict, SessionMixin):
    """The values of one browser session, loaded from and saved to the database.

    Attributes:
        sid: The id in the browser's cookie, or None for a session not stored yet.
        ended: The browser sent an id that signed out or expired; views that
            need a sign-in answer 401 instead of starting a new login.
        expires_at: When the stored session stops being accepted.
    """

    def __init__(self, initial: dict[str, Any] | None = None, sid: str | None = None, *,
                 ended: bool = False, stale: bool = False,
                 expires_at: datetime | None = None) -> None:
        def on_update(values: ServerSession) -> None:
            values.modified = True

        super().__init__(initial, on_update)
        self.sid = sid
        self.ended = ended
        self.expires_at = expires_at
        self.modified = False
        #: The browser sent an id this store does not accept: its cookie is removed.
        self.stale = stale or ended
        self._rotate = False
        self._end = False

    def rotate(self) -> None:
        """Give the session a new id when the response is sent (call at sign-in)."""
        self._rotate = True
        self.modified = True

    def end(self) -> None:
        """End the session for good when the response is sent (call at sign-out)."""
        self.clear()
        self._end = True
        self.modified = True


class ServerSessionInterface(SessionInterface):
    """Flask's session interface over the ``web_sessions`` table."""

    def _engine(self, app: Flask):
        return app.extensions["qcampus_web_engine"]

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        """Load the session the request's cookie names, or start an empty one."""
        sid = request.cookies.get(self.get_cookie_name(app))
        if not sid:
            return ServerSession()
        if len(sid) > MAX_ID_LENGTH:
            return ServerSession(stale=True)
        with Session(self._engine(app)) as db:
            row = db.get(WebSession, _id_hash(sid))
        if row is None:
            # Forged, or purged after it expired: nothing to refuse, a new session begins.
            return ServerSession(stale=True)
        if row.ended_at is not None or row.expires_at <= utcnow():
            return ServerSession(ended=True)
        return ServerSession(json.loads(row.data), sid, expires_at=row.expires_at)

    def _delete_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(self.get_cookie_name(app), path=self.get_cookie_path(app),
                               secure=self.get_cookie_secure(app),
                               httponly=self.get_cookie_httponly(app),
                               samesite=self.get_cookie_samesite(app))

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Store what changed, issue or remove the cookie."""
        assert isinstance(session, ServerSession)
        if session.sid is not None or session.stale:
            response.vary.add("Cookie")
        if session._end:
            if session.sid is not None:
                with write_session(self._engine(app)) as db:
                    db.execute(update(WebSession)
                               .where(WebSession.id_hash == _id_hash(session.sid))
                               .values(ended_at=utcnow(), data="{}"))
            self._delete_cookie(app, response)
            return
        if not session.modified:
            if session.stale:
                self._delete_cookie(app, response)
            return
        if session.sid is None and not session:
            if session.stale:
                self._delete_cookie(app, response)
            return
        data = json.dumps(dict(session), separators=(",", ":"))
        now = utcnow()
        with write_session(self._engine(app)) as db:
            if session.sid is not None and not session._rotate:
                kept = db.execute(update(WebSession).where(
                    WebSession.id_hash == _id_hash(session.sid),
                    WebSession.ended_at.is_(None)).values(data=data))
                if kept.rowcount:
                    return  # the cookie already names this id
                # Signed out by another request meanwhile: the values are not revived.
                self._delete_cookie(app, response)
                return
            if session.sid is not None:
                db.execute(update(WebSession)
                           .where(WebSession.id_hash == _id_hash(session.sid))
                           .values(ended_at=now, data="{}"))
            db.execute(delete(WebSession).where(WebSession.expires_at < now))
            session.sid = secrets.token_urlsafe(32)
            lifetime = app.permanent_session_lifetime
            if "hub_token" not in session:
                # A visitor's form token needs little time, and anyone can make such rows.
                lifetime = min(lifetime, app.config.get("ANONYMOUS_SESSION_LIFETIME", lifetime))
            session.expires_at = now + lifetime
            db.add(WebSession(id_hash=_id_hash(session.sid), data=data, created_at=now,
                                  expires_at=session.expires_at))
        response.set_cookie(
            self.get_cookie_name(app), session.sid, expires=session.expires_at,
            path=self.get_cookie_path(app), domain=None,
            secure=self.get_cookie_secure(app), httponly=self.get_cookie_httponly(app),
            samesite=self.get_cookie_samesite(app))


def current_session() -> ServerSession:
    """Return this request's server-side session."""
    from flask import session

    assert isinstance(session, ServerSession), "the app must use ServerSessionInterface"
    return session


def init_app(app: Flask) -> None:
    """Keep the app's sessions in its database."""
    app.session_interface = ServerSessionInterface()
