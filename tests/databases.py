"""Throwaway PostgreSQL schemas for tests that run on both database backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

#: The PostgreSQL server that runs on this machine and in CI (trust authentication).
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def table_names(url: str) -> set[str]:
    """Return the names of the tables in the database (or schema) at *url*."""
    from sqlalchemy import inspect

    from qcampus.database import make_engine

    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@contextmanager
def postgres_schema(prefix: str = "t") -> Iterator[str]:
    """Yield the URL of a fresh schema on :data:`PG_SERVER`; drop it and everything in it after."""
    from sqlalchemy import create_engine, text

    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def postgres_database(prefix: str = "qc") -> Iterator[str]:
    """Yield the URL of a fresh database on :data:`PG_SERVER`'s server; drop it after.

    For a whole deployment (``database.url``), whose components keep fixed schema
    names (hub, submissions, ...) that must not meet another test's.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            # FORCE: a hub or service killed by a failing test may still hold a connection.
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
