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

With ``database.url`` set, every component keeps its tables in its own schema
of that one server (JupyterHub, nbgrader and Alembic each name a table
``alembic_version``, and generic names such as ``users`` would collide),
chosen by the connection's ``search_path``: :func:`schema_url`. Gradebooks get
one schema per course: nbgrader 0.9 keeps assignment names unique across every
course of a database and finds an assignment by name alone.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, Engine, TypeDecorator, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from qcampus.permissions import open_private, private_umask

if TYPE_CHECKING:
    from qcampus.settings import Settings

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


#: Schemas of the components that are not courses, on the ``database.url`` server.
HUB_SCHEMA, SUBMISSIONS_SCHEMA, CERTIFICATES_SCHEMA = "hub", "submissions", "certificates"
EXAMS_SCHEMA = "exams"
WEB_SCHEMA = "web"
GRADEBOOK_PREFIX = "gradebook_"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def gradebook_schema(track: str) -> str:
    """Return the schema of *track*'s gradebook: ``gradebook_<track>``, ``-`` as ``_``."""
    return GRADEBOOK_PREFIX + re.sub(r"[^a-z0-9_]", "_", track.lower())


def schema_url(url: str, schema: str) -> str:
    """Return PostgreSQL *url* with its connections' ``search_path`` set to *schema*.

    Other ``options`` of *url* are kept. Raises ValueError for a schema name that
    would need quoting, as ``search_path`` in a connection option is not quoted.
    """
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(f"{schema!r} is not a plain PostgreSQL schema name")
    parsed = make_url(url)
    options = " ".join(filter(None, [parsed.query.get("options", ""), f"-csearch_path={schema}"]))
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def describe(url: str) -> str:
    """Return *url* as ``qcampus status`` shows it: a SQLite file's path, never a password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def component_urls(settings: Settings) -> dict[str, str]:
    """Return the database URL of each component of the deployment in *settings*."""
    found = {"hub": settings.hub_database_url, "submissions": settings.submissions_database_url,
             "certificates": settings.certificates_database_url,
             "exams": settings.exams_database_url, "web": settings.web_database_url}
    for course in course_ids(settings):
        found[f"gradebook {course}"] = settings.gradebook_url(course)
    return found


def course_ids(settings: Settings) -> list[str]:
    """Return the ids of the deployment's course directories."""
    root = settings.courses_root
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def schemas_on_server(settings: Settings) -> list[str]:
    """Return the schemas the components keep on the ``database.url`` server (none without it)."""
    if not settings["database"]["url"]:
        return []
    names = [HUB_SCHEMA, *(gradebook_schema(course) for course in course_ids(settings))]
    # A component with a URL of its own keeps nothing here.
    if not settings["submissions"]["database_url"]:
        names.append(SUBMISSIONS_SCHEMA)
    if not settings["certificates"]["database_url"]:
        names.append(CERTIFICATES_SCHEMA)
    if not settings["exams"]["database_url"]:
        names.append(EXAMS_SCHEMA)
    if not settings["web"]["database_url"]:
        names.append(WEB_SCHEMA)
    return names


def create_schemas(url: str, names: list[str]) -> None:
    """Create each schema of *names* on the server at *url* unless it exists."""
    if not names:
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with engine.connect() as connection:
            for name in names:
                if not _SCHEMA_NAME.fullmatch(name):
                    raise ValueError(f"{name!r} is not a plain PostgreSQL schema name")
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{name}"'))
    finally:
        engine.dispose()


def missing_schemas(url: str, names: list[str]) -> list[str]:
    """Return the schemas of *names* that the server at *url* does not have."""
    engine = create_engine(url, pool_pre_ping=True)
    try:
        with engine.connect() as connection:
            present = set(connection.scalars(text("SELECT nspname FROM pg_namespace")))
    finally:
        engine.dispose()
    return [name for name in names if name not in present]


def run_alembic_environment(target_metadata, version_table: str = "alembic_version") -> None:
    """Run the migrations of an Alembic environment (a package's ``migrations/env.py``).

    The URL comes from the Alembic configuration; an engine passed in its
    ``attributes`` (tests, ``qcampus init``) is used as is. SQLite runs in batch
    mode, so column changes become table copies it understands. *version_table*
    lets two packages' migrations share one database.
    """
    from alembic import context

    config = context.config
    if context.is_offline_mode():
        url = config.get_main_option("sqlalchemy.url")
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                          render_as_batch=url.startswith("sqlite"), version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()
        return
    given = config.attributes.get("engine")
    engine = given or make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.execution_options(qcampus_write=True).connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=connection.dialect.name == "sqlite",
                              compare_type=True, version_table=version_table)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if given is None:
            engine.dispose()


def open_migrated(migrations: Path, url: str) -> Engine:
    """Return an engine on *url* with the Alembic migrations in *migrations* run to the newest revision."""
    from alembic import command

    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(migrations, url, engine), "head")
    except BaseException:
        # A server without the schema (before `qcampus init`) leaves no connection behind.
        engine.dispose()
        raise
    return engine


def sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite *url*, or None for another database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def alembic_config(script_location: Path, url: str, engine: Engine | None = None):
    """Return an Alembic configuration for the migrations in *script_location* on *url*."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


#: Constraint names of feature packages' tables, so Alembic can refer to (and alter) them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the server's clock in UTC, to the microsecond: the only clock records are timed by."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always returned time-zone aware.

    SQLite keeps no time zone and PostgreSQL converts to the session's zone;
    normalising here keeps hashed audit records byte-identical on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"Refusing a naive datetime {value!r}; pass a UTC time.")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
