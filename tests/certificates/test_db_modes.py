"""The certificates database and its SQLite side files are readable by their owner only."""

from __future__ import annotations

import os
import stat

from sqlalchemy import text

from certificates.db import backup, make_engine, write_session


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_database_and_wal_files_are_0600(tmp_path):
    """Under a 022 umask the database, -wal and -shm are still created 0600."""
    database = tmp_path / "certificates.sqlite"
    old = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{database}")
        with write_session(engine) as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:  # keeps the WAL and shared memory open
            connection.execute(text("SELECT x FROM t")).all()
            sides = [database.with_name(database.name + s) for s in ("-wal", "-shm")]
            assert all(p.exists() for p in sides)
            assert [mode(p) for p in [database, *sides]] == [0o600, 0o600, 0o600]
        engine.dispose()
    finally:
        os.umask(old)


def test_existing_world_readable_database_is_tightened(tmp_path):
    """A database an older qcampus left 0644 is 0600 once the service opens it."""
    database = tmp_path / "certificates.sqlite"
    database.write_bytes(b"")
    os.chmod(database, 0o644)
    wal = database.with_name(database.name + "-wal")
    wal.write_bytes(b"")
    os.chmod(wal, 0o644)
    make_engine(f"sqlite:///{database}").dispose()
    assert (mode(database), mode(wal)) == (0o600, 0o600)


def test_backup_copy_is_0600(tmp_path):
    """A backup holds the same credentials: it is created 0600 too."""
    database = tmp_path / "certificates.sqlite"
    engine = make_engine(f"sqlite:///{database}")
    with write_session(engine) as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    copy = backup(f"sqlite:///{database}", tmp_path / "copy.sqlite")
    assert mode(copy) == 0o600
