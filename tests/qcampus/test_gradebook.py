"""nbgrader run by root opens the course's gradebook on PostgreSQL, its URL never on a command line."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from qcampus import database
from qcampus.courses import nbgrader
from qcampus.deployment import nbgrader_course_config
from qcampus.gradebook import gradebook_config, using_gradebook
from tests.databases import postgres_database

URL = "postgresql+psycopg://qc:s3cret@db/qc?options=-csearch_path%3Dgradebook_alpha"


def test_the_url_lives_in_a_root_only_file_removed_after_use():
    """The configuration directory is 0700, its file 0600, and both are gone after the block."""
    with gradebook_config(URL) as env:
        directory = Path(env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0])
        config = directory / "nbgrader_config.py"
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        assert repr(URL) in config.read_text()
    assert not directory.exists()


def test_using_gradebook_restores_the_environment(monkeypatch):
    """The process environment points at the gradebook only within the block."""
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/etc/elsewhere")
    with using_gradebook(URL):
        first, rest = os.environ["JUPYTER_CONFIG_PATH"].split(os.pathsep)
        assert rest == "/etc/elsewhere" and (Path(first) / "nbgrader_config.py").is_file()
    assert os.environ["JUPYTER_CONFIG_PATH"] == "/etc/elsewhere"


def test_nbgrader_writes_the_gradebook_schema_not_a_file(tmp_path):
    """`nbgrader db student add` in a course directory writes its row into the course's schema."""
    course = tmp_path / "alpha"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(nbgrader_course_config("alpha"))
    with postgres_database() as server:
        database.create_schemas(server, ["gradebook_alpha"])
        url = database.schema_url(server, "gradebook_alpha")
        result = nbgrader(course, "db", "student", "add", "ada", "--last-name=Lovelace", db_url=url)
        assert url not in " ".join(result.args)
        engine = create_engine(server)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, last_name FROM gradebook_alpha.student")).all()
        engine.dispose()
        assert rows == [("ada", "Lovelace")]
        assert not (course / "gradebook.db").exists()


def test_an_instructors_role_reaches_the_gradebook_and_nothing_else(tmp_path):
    """The role docs/operators.md grants opens the track's gradebook for formgrader, not the hub's schema."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import ProgrammingError

    course = tmp_path / "alpha"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(nbgrader_course_config("alpha"))
    role = f"qcx_{uuid.uuid4().hex[:12]}"
    with postgres_database() as server:
        database.create_schemas(server, ["gradebook_alpha", "hub"])
        nbgrader(course, "db", "student", "add", "ada", db_url=database.schema_url(server, "gradebook_alpha"))
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE TABLE hub.api_tokens (hashed text)"))
            connection.execute(text(f"CREATE ROLE {role} LOGIN"))
            connection.execute(text(f"GRANT USAGE ON SCHEMA gradebook_alpha TO {role}"))
            connection.execute(text("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "
                                    f"gradebook_alpha TO {role}"))
        instructors = make_url(server).set(username=role).render_as_string(hide_password=False)
        try:
            with Gradebook(database.schema_url(instructors, "gradebook_alpha"), "alpha") as gradebook:
                assert [s.id for s in gradebook.students] == ["ada"]
                gradebook.add_student("bob")
            engine = create_engine(database.schema_url(instructors, "hub"))
            with engine.connect() as connection, pytest.raises(ProgrammingError, match="permission denied"):
                connection.execute(text("SELECT * FROM hub.api_tokens"))
            engine.dispose()
        finally:
            with admin.connect() as connection:
                connection.execute(text(f"DROP OWNED BY {role}"))
                connection.execute(text(f"DROP ROLE {role}"))
            admin.dispose()
