"""Every component keeps its records where the settings say: SQLite files, or one PostgreSQL server.

Run with ``QCAMPUS_TEST_DATABASE=postgresql`` for the server; by default it
checks the SQLite files.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from qcampus.database import component_urls
from tests.e2e.conftest import wait_for_service

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


def test_every_component_keeps_its_records_where_the_settings_say(running_hub):
    """Hub users, the released assignment's gradebook, exchange releases and certificate migrations."""
    dep = running_hub.dep
    wait_for_service(f"{dep.service_url}/")
    urls = component_urls(dep.settings)
    track, assignment = dep.track.id, dep.track.assignments[0].id
    server = dep.settings["database"]["url"]
    expected = {"hub": ("hub", "SELECT name FROM users"),
                "submissions": ("submissions", "SELECT assignment FROM exchange_releases"),
                "certificates": ("certificates", "SELECT version_num FROM alembic_version"),
                f"gradebook {track}": (f"gradebook_{track}", "SELECT name FROM assignment")}
    found = {component: _rows(urls[component], query) for component, (_, query) in expected.items()}
    assert set(dep.people.all) <= set(found["hub"][1])
    assert found["submissions"][1] == [assignment]
    assert len(found["certificates"][1]) == 1
    assert found[f"gradebook {track}"][1] == [assignment]
    # Each in its own schema: JupyterHub, nbgrader and Alembic all name a table alembic_version.
    for component, (schema, _) in expected.items():
        assert found[component][0] == (schema if server else "main"), component
    sqlite_files = sorted(p.name for p in dep.settings.home.rglob("*")
                          if p.suffix in (".sqlite", ".db") and p.is_file())
    if server:
        assert sqlite_files == [], sqlite_files
    else:
        assert {"jupyterhub.sqlite", "submissions.sqlite", "certificates.sqlite",
                "gradebook.db"} <= set(sqlite_files)
