"""Open the web service's database: browser sessions and signed-out hub tokens.

SQLite in the deployment directory by default (``web.sqlite``, created 0600:
a session row holds a hub token), PostgreSQL by URL (schema ``web``); both
through :mod:`qcampus.database`, so a write transaction is ``BEGIN IMMEDIATE``
on SQLite and every commit is durable. Alembic migrates it with its own version
table, so other packages' migrations may share the database.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import Engine, MetaData
from sqlalchemy.orm import DeclarativeBase

from qcampus.database import NAMING_CONVENTION, open_migrated


class Base(DeclarativeBase):
    """Declarative base of every web table (constraint names Alembic can follow)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "web_alembic_version"


def open_engine(url: str) -> Engine:
    """Return an engine on *url* with the web schema migrated to the newest revision."""
    return open_migrated(MIGRATIONS, url)


def engine() -> Engine:
    """Return the current app's web engine."""
    return current_app.extensions["qcampus_web_engine"]


def init_app(app: Flask) -> None:
    """Open the app's web database (``WEB_ENGINE`` replaces it in tests)."""
    app.extensions["qcampus_web_engine"] = (app.config.get("WEB_ENGINE")
                                            or open_engine(app.config["WEB_DATABASE_URL"]))
