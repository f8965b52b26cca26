"""Open the deployment's databases: SQLite by default, PostgreSQL by one URL.

SQLite (a file in the deployment directory) runs in WAL mode with
``synchronous=FULL`` so a committed row survives a power cut, a
``busy_timeout`` so concurrent writers wait instead of failing, and
``BEGIN IMMEDIATE`` for write transactions so a writer never has to abandon a
read snapshot half-way ("database is locked"). The file is created 0600 before
SQLite first opens it, and SQLite gives its ``-wal``, ``-shm`` and
``-journal`` files the mode of the database, so no local user but root reads
any of them. PostgreSQL writers serialise on row and table locks.

Every package that keeps records (certificates, submissions) opens its engine
here, so both backends behave the same everywhere.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from qcampus.permissions import open_private, private_umask

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
