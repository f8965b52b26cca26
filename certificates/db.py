"""Open the certificates database and keep its schema current.

SQLite (the default, a file in the deployment directory) runs in WAL mode
with ``synchronous=FULL`` so an issued credential survives a power cut, a
``busy_timeout`` so concurrent workers wait instead of failing, and
``BEGIN IMMEDIATE`` for write transactions so a writer never has to abandon a
read snapshot half-way ("database is locked"). PostgreSQL is used by setting
``certificates.database_url``; its writers serialise on row and table locks.

The schema is owned by the Alembic migrations in ``certificates/migrations``.

The SQLite file holds every credential, name, salt and the audit log: it is
created 0600 before SQLite first opens it, and SQLite gives its ``-wal``,
``-shm`` and ``-journal`` files the mode of the database, so no local user
but root reads any of them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from qcampus.permissions import open_private, private_umask

MIGRATIONS = Path(__file__).with_name("migrations")

#: Milliseconds a SQLite connection waits for another writer before failing.
BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # The driver's own transaction handling is switched off so that the
    # "begin" hook below decides between DEFERRED and IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection) -> None:
    if connection.get_execution_options().get("qcampus_write"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


#: Files SQLite keeps beside a database, created with the database's own mode.
SIDE_FILES = ("-wal", "-shm", "-journal")


def create_private_database(database: Path) -> None:
    """Create the SQLite file *database* 0600 (or tighten it and its side files) before use.

    SQLite creates a missing file with the process umask (0644 under the usual
    022) and copies that mode onto its side files; creating it first fixes the
    mode of all of them.
    """
    with private_umask():
        database.parent.mkdir(parents=True, exist_ok=True)
    os.close(open_private(database, os.O_RDWR | os.O_CREAT))
    for suffix in SIDE_FILES:
        side = database.with_name(database.name + suffix)
        if side.exists() and stat.S_IMODE(side.stat().st_mode) & 0o077:
            os.chmod(side, 0o600)


def make_engine(url: str, **kwargs) -> Engine:
    """Return an engine for *url* with this service's SQLite settings applied."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            create_private_database(Path(database))
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def writer(engine: Engine) -> Engine:
    """Return *engine* set up for write transactions (``BEGIN IMMEDIATE`` on SQLite)."""
    return engine.execution_options(qcampus_write=True)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """Yield a session in one write transaction, committed on success."""
    with Session(writer(engine), expire_on_commit=False) as session, session.begin():
        yield session


def alembic_config(url: str, engine: Engine | None = None) -> Config:
    """Return an Alembic configuration for the certificates migrations on *url*."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


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
