"""Open the certificates database and keep its schema current.

SQLite (the default, a file in the deployment directory) runs in WAL mode
with ``synchronous=FULL`` so an issued credential survives a power cut, a
``busy_timeout`` so concurrent workers wait instead of failing, and
``BEGIN IMMEDIATE`` for write transactions so a writer never has to abandon a
read snapshot half-way ("database is locked"). PostgreSQL is used by setting
``database.url`` (schema ``certificates``) or ``certificates.database_url``;
its writers serialise on row and table locks.

The schema is owned by the Alembic migrations in ``certificates/migrations``.

The SQLite file holds every credential, name, salt and the audit log: it is
created 0600 before SQLite first opens it, and SQLite gives its ``-wal``,
``-shm`` and ``-journal`` files the mode of the database, so no local user
but root reads any of them.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from qcampus import database
from qcampus.database import (  # noqa: F401  (the names this package has always offered)
    BUSY_TIMEOUT_MS,
    SIDE_FILES,
    create_private_database,
    make_engine,
    write_session,
    writer,
)
from qcampus.permissions import open_private

MIGRATIONS = Path(__file__).with_name("migrations")

def alembic_config(url: str, engine: Engine | None = None) -> Config:
    """Return an Alembic configuration for the certificates migrations on *url*."""
    return database.alembic_config(MIGRATIONS, url, engine)


def upgrade(url: str, revision: str = "head", engine: Engine | None = None) -> None:
    """Migrate the database at *url* to *revision* (the newest by default)."""
    command.upgrade(alembic_config(url, engine), revision)


def downgrade(url: str, revision: str, engine: Engine | None = None) -> None:
    """Migrate the database at *url* back to *revision*."""
    command.downgrade(alembic_config(url, engine), revision)


def backup(url: str, destination: Path) -> Path:
    """Copy the SQLite database at *url* to *destination* while it stays in use.

    Uses SQLite's online backup API (a consistent snapshot even while workers
    write), then checks the copy with ``PRAGMA integrity_check``. Copying the
    file itself could capture a half-written page; this cannot.

    Raises:
        CertificateError: the database is not SQLite (use ``pg_dump``), the
            destination exists, or the copy does not pass the integrity check.
    """
    import sqlite3

    from certificates.errors import CertificateError

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise CertificateError("Only SQLite databases are backed up by qcampus; back up "
                               "PostgreSQL with pg_dump.")
    destination = Path(destination)
    if destination.exists():
        raise CertificateError(f"{destination} exists; choose a new file for the backup.")
    source = sqlite3.connect(parsed.database, timeout=BUSY_TIMEOUT_MS / 1000)
    # The copy holds the same credentials and names as the database: 0600 too.
    os.close(open_private(destination, os.O_RDWR | os.O_CREAT | os.O_EXCL))
    target = sqlite3.connect(destination)
    try:
        with target:
            source.backup(target)
        verdict = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if verdict != "ok":
        raise CertificateError(f"The backup in {destination} failed its integrity check "
                               f"({verdict}); keep the original and try again.")
    return destination


# --- Flask wiring ----------------------------------------------------------------------


def engine() -> Engine:
    """Return the current app's engine."""
    return current_app.extensions["qcampus_engine"]


def session() -> Session:
    """Return this request's read session (closed when the request ends)."""
    if "qcampus_db" not in g:
        g.qcampus_db = Session(engine())
    return g.qcampus_db


def _close_session(_exc: BaseException | None) -> None:
    db = g.pop("qcampus_db", None)
    if db is not None:
        db.close()


def init_app(app: Flask) -> None:
    """Create the app's engine and close each request's session."""
    app.extensions["qcampus_engine"] = app.config.get("ENGINE") or make_engine(
        app.config["DATABASE_URL"])
    app.teardown_appcontext(_close_session)
