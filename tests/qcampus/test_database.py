"""One PostgreSQL server for every component: schema URLs, what status shows, schema creation."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from qcampus import database, settings
from qcampus.errors import SettingsError
from tests.databases import postgres_database

SERVER = "postgresql+psycopg://qcampus:s3cret@db.example.org:5432/qcampus"


def _load(tmp_path, **environ):
    return settings.load(tmp_path, environ={f"QCAMPUS_{k.upper()}": v for k, v in environ.items()})


def test_schema_url_selects_the_schema_and_keeps_other_options():
    """The derived URL sets search_path to the schema without dropping the operator's options."""
    url = database.schema_url(f"{SERVER}?options=-c%20statement_timeout%3D5000", "hub")
    parsed = create_engine(url).url  # parses, does not connect
    assert parsed.query["options"] == "-c statement_timeout=5000 -csearch_path=hub"
    assert parsed.password == "s3cret" and parsed.database == "qcampus"


@pytest.mark.parametrize("schema", ["Hub", "hub; drop", "", "1hub", "a" * 64])
def test_schema_url_refuses_names_that_need_quoting(schema):
    """A schema name that search_path would need quoted is refused."""
    with pytest.raises(ValueError, match="schema name"):
        database.schema_url(SERVER, schema)


def test_gradebook_schemas_are_per_track():
    """Each track has its own gradebook schema, with - as _ (nbgrader's names are unique per database)."""
    assert database.gradebook_schema("foundations") == "gradebook_foundations"
    assert database.gradebook_schema("quantum-engineer") == "gradebook_quantum_engineer"


def test_every_component_uses_the_one_server(tmp_path):
    """With database.url, the hub, submissions, certificates, exams, web and each gradebook get a schema."""
    (tmp_path / "courses" / "foundations").mkdir(parents=True)
    loaded = _load(tmp_path, database__url=SERVER)
    urls = database.component_urls(loaded)
    assert set(urls) == {"hub", "submissions", "certificates", "exams", "web",
                         "gradebook foundations"}
    schemas = {name: create_engine(url).url.query["options"] for name, url in urls.items()}
    assert schemas == {"hub": "-csearch_path=hub", "submissions": "-csearch_path=submissions",
                       "certificates": "-csearch_path=certificates", "exams": "-csearch_path=exams",
                       "web": "-csearch_path=web",
                       "gradebook foundations": "-csearch_path=gradebook_foundations"}
    assert all(url.startswith("postgresql+psycopg://qcampus:s3cret@db.example.org")
               for url in urls.values())
    assert database.schemas_on_server(loaded) == ["hub", "gradebook_foundations", "submissions",
                                                  "certificates", "exams", "web"]


def test_without_database_url_every_component_keeps_its_sqlite_file(tmp_path):
    """database.url "" keeps today's files: hub/jupyterhub.sqlite, gradebook.db per course, ..."""
    loaded = _load(tmp_path)
    assert loaded.hub_database_url == f"sqlite:///{tmp_path / 'hub' / 'jupyterhub.sqlite'}"
    assert loaded.gradebook_url("foundations") == \
        f"sqlite:///{tmp_path / 'courses' / 'foundations' / 'gradebook.db'}"
    assert loaded.submissions_database_url == f"sqlite:///{tmp_path / 'submissions.sqlite'}"
    assert loaded.exams_database_url == f"sqlite:///{tmp_path / 'exams.sqlite'}"
    assert loaded.certificates_database_url == f"sqlite:///{tmp_path / 'certificates.sqlite'}"
    assert loaded.web_database_url == f"sqlite:///{tmp_path / 'web.sqlite'}"
    assert database.schemas_on_server(loaded) == []


def test_component_urls_win_over_database_url(tmp_path):
    """certificates, submissions, exams and web database_url keep their component elsewhere."""
    own = "postgresql+psycopg://certs@other:5432/certs"
    loaded = _load(tmp_path, database__url=SERVER, certificates__database_url=own,
                   submissions__database_url="sqlite:////srv/submissions.sqlite",
                   exams__database_url="sqlite:////srv/exams.sqlite",
                   web__database_url="sqlite:////srv/web.sqlite")
    assert loaded.certificates_database_url == own
    assert loaded.submissions_database_url == "sqlite:////srv/submissions.sqlite"
    assert loaded.exams_database_url == "sqlite:////srv/exams.sqlite"
    assert loaded.web_database_url == "sqlite:////srv/web.sqlite"
    assert database.schemas_on_server(loaded) == ["hub"]


def test_instructors_url_names_its_own_role(tmp_path):
    """database.instructors_url gives formgrader another role on the same gradebook schema."""
    loaded = _load(tmp_path, database__url=SERVER,
                   database__instructors_url="postgresql+psycopg://graders:g@db.example.org/qcampus")
    url = create_engine(loaded.instructors_gradebook_url("foundations")).url
    assert (url.username, url.query["options"]) == ("graders", "-csearch_path=gradebook_foundations")
    assert _load(tmp_path, database__url=SERVER).instructors_gradebook_url("foundations") == \
        loaded.gradebook_url("foundations")


@pytest.mark.parametrize("url", ["sqlite:////srv/qcampus.sqlite", "mysql://db/qcampus", "qcampus"])
def test_database_url_must_be_postgresql(tmp_path, url):
    """A database.url that is not PostgreSQL is refused, naming the key."""
    with pytest.raises(SettingsError, match=r"database\.url"):
        _load(tmp_path, database__url=url)


def test_describe_never_shows_a_password(tmp_path):
    """What status prints: a SQLite file's path, or the URL with its password hidden."""
    assert database.describe(f"sqlite:///{tmp_path / 'a.sqlite'}") == str(tmp_path / "a.sqlite")
    shown = database.describe(database.schema_url(SERVER, "hub"))
    assert "s3cret" not in shown and "db.example.org:5432/qcampus" in shown


def test_create_schemas_is_idempotent_on_a_real_server():
    """Schemas are created once; a second run changes nothing; missing ones are reported."""
    with postgres_database() as url:
        assert database.missing_schemas(url, ["hub", "certificates"]) == ["hub", "certificates"]
        database.create_schemas(url, ["hub", "certificates"])
        engine = database.make_engine(database.schema_url(url, "hub"))
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE users (id integer)"))
        database.create_schemas(url, ["hub", "certificates"])
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT current_schema()")) == "hub"
            assert connection.scalar(text("SELECT count(*) FROM users")) == 0
        engine.dispose()
        assert database.missing_schemas(url, ["hub", "certificates", "submissions"]) == ["submissions"]
