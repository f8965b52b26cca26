"""The web service's own tables: browser sessions and the hub tokens of signed-out sessions.

Typed SQLAlchemy 2.0 models on :class:`web.db.Base`; times are stored and returned as UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from qcampus.database import UTCDateTime, utcnow  # noqa: F401  (utcnow: used by importers)
from web.db import Base


class WebSession(Base):
    """A browser's session with the service, kept here; its cookie holds only a random id.

    The hub token, the CSRF token and the OAuth state never leave the server,
    so a page that reads or steals the cookie learns nothing it could use
    elsewhere, and signing out ends the id for good.
    """

    __tablename__ = "web_sessions"

    #: SHA-256 (hex) of the id in the cookie; the id itself is never stored.
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The session's values as JSON (hub token, CSRF token, OAuth state and PKCE verifier).
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Refused from this moment; expired rows are deleted when new sessions begin.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: When the browser signed out; the id is refused from then on.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EndedSession(Base):
    """A hub token whose browser session signed out here; a replayed cookie holding it is refused."""

    __tablename__ = "web_ended_sessions"

    #: SHA-256 (hex) of the hub token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
