"""Open the submissions database: the exchange's records and the grading queue.

SQLite in the deployment directory by default (``submissions.sqlite``, 0600),
PostgreSQL by setting ``database.url`` (schema ``submissions``) or
``submissions.database_url``; both through
:mod:`qcampus.database`, so a write transaction is ``BEGIN IMMEDIATE`` on
SQLite and every commit is durable.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, MetaData
from sqlalchemy.orm import DeclarativeBase

# UTCDateTime and utcnow: the core's, offered here to the models and the grading code.
from qcampus.database import (  # noqa: F401
    NAMING_CONVENTION,
    UTCDateTime,
    alembic_config,
    make_engine,
    utcnow,
)


class Base(DeclarativeBase):
    """Declarative base of every submissions table (constraint names Alembic can follow)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


MIGRATIONS = Path(__file__).with_name("migrations")
#: Alembic's table of this package's revision (not alembic_version: another package's
#: migrations may share the database).
VERSION_TABLE = "submissions_alembic_version"


def upgrade(engine: Engine, url: str, revision: str = "head") -> None:
    """Migrate the submissions database on *engine* to *revision* (the newest by default).

    A database whose tables an earlier version created without migrations is
    stamped at the first revision first, so its rows are kept.
    """
    from alembic import command
    from sqlalchemy import inspect

    config = alembic_config(MIGRATIONS, url, engine)
    tables = set(inspect(engine).get_table_names())
    if "exchange_submissions" in tables and VERSION_TABLE not in tables:
        command.stamp(config, "0001")
    command.upgrade(config, revision)


def open_engine(url: str) -> Engine:
    """Return an engine on *url* with its schema migrated (SQLite file 0600 first)."""
    engine = make_engine(url)
    try:
        upgrade(engine, url)
    except BaseException:
        # A server without the schema (before `qcampus init`) leaves no connection behind.
        engine.dispose()
        raise
    return engine
