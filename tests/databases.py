"""Throwaway PostgreSQL schemas for tests that run on both database backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

#: The PostgreSQL server that runs on this machine and in CI (trust authentication).
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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
