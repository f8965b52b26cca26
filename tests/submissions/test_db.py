"""The submissions database's schema is its Alembic migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from qcampus.database import alembic_config, make_engine
from submissions.db import MIGRATIONS, VERSION_TABLE, Base, open_engine, upgrade
from tests.submissions.conftest import BOTH_DATABASES


@BOTH_DATABASES
def test_migrations_build_exactly_the_models(submissions_url):
    """After the migrations, autogenerate finds nothing the models have and the database lacks."""
    engine = open_engine(submissions_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"exchange_releases", "exchange_submissions", "exchange_feedback",
                "grading_jobs", VERSION_TABLE} <= tables
        assert "alembic_version" not in tables  # another package's migrations may share the database
        command.check(alembic_config(MIGRATIONS, submissions_url, engine))
        command.downgrade(alembic_config(MIGRATIONS, submissions_url, engine), "base")
        assert set(inspect(engine).get_table_names()) <= {VERSION_TABLE}
        upgrade(engine, submissions_url)
    finally:
        engine.dispose()


def test_a_database_made_before_the_migrations_keeps_its_rows(submissions_url):
    """Tables created without migrations are stamped, not created again; their rows stay."""
    from submissions.exchange import models  # noqa: F401  (tables on Base)
    from submissions.grading import models as grading_models  # noqa: F401

    engine = make_engine(submissions_url)
    with engine.begin() as connection:
        Base.metadata.create_all(connection)
        connection.execute(text(
            "INSERT INTO exchange_releases (course, assignment, version, released_at, released_by,"
            " notebooks, directory, withdrawn) VALUES ('c', 'a', 1, '2026-11-30 00:00:00', 't',"
            " '[]', 'x', 0)"))
    upgrade(engine, submissions_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM exchange_releases")).scalar() == 1
        version = connection.execute(text("SELECT version_num FROM submissions_alembic_version"))
        assert version.scalar() == "0001"
    engine.dispose()
