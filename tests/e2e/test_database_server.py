"""Every component keeps its records where the settings say: SQLite files, or one PostgreSQL server.

Run with ``QCAMPUS_TEST_DATABASE=postgresql`` for the server; by default it
checks the SQLite files.
"""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import create_engine, text

from qcampus.database import component_urls
from tests.e2e.conftest import HubUser, wait_for_service
from tests.e2e.test_hub import open_formgrader

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _rows(url: str, query: str) -> tuple[str, list]:
    """Return the schema a connection to *url* works in and the rows of *query* there."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            schema = connection.scalar(text("SELECT current_schema()")) \
                if engine.dialect.name == "postgresql" else "main"
            return schema, list(connection.scalars(text(query)))
    finally:
        engine.dispose()


def _is_sqlite(path) -> bool:
    """Tell whether *path* is a SQLite database file (by its header, whatever its name)."""
    if not path.is_file() or path.is_symlink():
        return False
    with open(path, "rb") as handle:
        return handle.read(16) == b"SQLite format 3\0"


def test_every_component_keeps_its_records_where_the_settings_say(shared_hub):
    """Hub users, the gradebook (formgrader's too), exchange releases, certificate and web migrations."""
    dep = shared_hub.dep
    wait_for_service(f"{dep.service_url}/")
    # Formgrader, in the instructor's own server, opens the track's gradebook: with
    # database.url it must be the server's schema, or a gradebook.db file would appear.
    instructor = HubUser(dep.url, dep.people.instructor)
    assert instructor.login(secrets.token_urlsafe(12)).status_code == 200
    listed = open_formgrader(dep, instructor, dep.track.id).json()
    assert dep.track.assignments[0].id in [a["name"] for a in listed]
    urls = component_urls(dep.settings)
    track, assignment = dep.track.id, dep.track.assignments[0].id
    server = dep.settings["database"]["url"]
    expected = {"hub": ("hub", "SELECT name FROM users"),
                "submissions": ("submissions", "SELECT assignment FROM exchange_releases"),
                "certificates": ("certificates", "SELECT version_num FROM alembic_version"),
                "web": ("web", "SELECT version_num FROM web_alembic_version"),
                f"gradebook {track}": (f"gradebook_{track}", "SELECT name FROM assignment")}
    found = {component: _rows(urls[component], query) for component, (_, query) in expected.items()}
    assert set(dep.people.all) <= set(found["hub"][1])
    assert found["submissions"][1] == [assignment]
    assert len(found["certificates"][1]) == 1
    assert len(found["web"][1]) == 1
    assert found[f"gradebook {track}"][1] == [assignment]
    # Each in its own schema: JupyterHub, nbgrader and Alembic all name a table alembic_version.
    for component, (schema, _) in expected.items():
        assert found[component][0] == (schema if server else "main"), component
    sqlite_files = sorted(p.name for p in dep.settings.home.rglob("*") if _is_sqlite(p))
    if server:
        assert sqlite_files == [], sqlite_files
    else:
        assert {"jupyterhub.sqlite", "submissions.sqlite", "certificates.sqlite", "web.sqlite",
                "gradebook.db"} <= set(sqlite_files)
