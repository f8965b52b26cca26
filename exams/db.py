"""Open the exams database: attempts, their saved answers and the examiners' audit log.

SQLite in the deployment directory by default, PostgreSQL by URL (schema
``exams``); both through :mod:`qcampus.database`, so a write transaction is
``BEGIN IMMEDIATE`` on SQLite and every commit is durable. Alembic migrates it
with its own version table, so other packages' migrations may share the database.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, MetaData
from sqlalchemy.orm import DeclarativeBase

from qcampus.database import NAMING_CONVENTION, open_migrated


class Base(DeclarativeBase):
    """Declarative base of every exams table (constraint names Alembic can follow)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "exams_alembic_version"


def open_engine(url: str) -> Engine:
    """Return an engine on *url* with the exams schema migrated to the newest revision."""
    return open_migrated(MIGRATIONS, url)
