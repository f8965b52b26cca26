"""`qcampus status` says where each component keeps its records, on SQLite and on PostgreSQL."""

from __future__ import annotations

from click.testing import CliRunner

from qcampus.cli import cli
from qcampus.deployment import init
from tests.databases import postgres_database
from tests.qcampus.test_permissions import make_sources


def _status(home, environ) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["status", "--home", str(home)], env=environ)
    return result.exit_code, [line for line in result.output.splitlines() if "database" in line]


def test_sqlite_files_are_listed_by_component(qcampus_home, tmp_path, monkeypatch):
    """By default each component's SQLite file is shown, every gradebook included."""
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(make_sources(tmp_path / "checkout")))
    init(qcampus_home, hooks=[])
    _code, lines = _status(qcampus_home, {})
    assert f"ok    database hub: {qcampus_home / 'hub' / 'jupyterhub.sqlite'}" in lines
    assert f"ok    database certificates: {qcampus_home / 'certificates.sqlite'}" in lines
    assert f"ok    database web: {qcampus_home / 'web.sqlite'}" in lines
    gradebooks = [line for line in lines if "database gradebook" in line]
    assert gradebooks and all(line.endswith("/gradebook.db") for line in gradebooks)


def test_postgresql_schemas_are_created_by_init_and_checked(qcampus_home, tmp_path, monkeypatch):
    """Missing schemas are an error until `qcampus init` creates them; no password is shown."""
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(make_sources(tmp_path / "checkout")))
    init(qcampus_home, hooks=[])
    with postgres_database() as server:
        url = server.replace("postgres@", "postgres:never-shown@")
        environ = {"QCAMPUS_DATABASE__URL": url}
        code, lines = _status(qcampus_home, environ)
        assert code == 1
        assert any(line.startswith("ERROR database: schemas hub, gradebook_") and
                   "run `qcampus init`" in line for line in lines), lines
        monkeypatch.setenv("QCAMPUS_DATABASE__URL", url)
        init(qcampus_home, hooks=[])
        init(qcampus_home, hooks=[])  # idempotent
        code, lines = _status(qcampus_home, environ)
        assert not [line for line in lines if line.startswith("ERROR")], lines
        assert any(line.startswith("ok    database hub: postgresql+psycopg://postgres:***@")
                   and line.endswith("options=-csearch_path%3Dhub") for line in lines), lines
        assert all("never-shown" not in line for line in lines)


def test_an_unreachable_server_is_an_error(qcampus_home, tmp_path, monkeypatch):
    """A database.url nobody answers at is an error that says what to do."""
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(make_sources(tmp_path / "checkout")))
    init(qcampus_home, hooks=[])
    code, lines = _status(qcampus_home,
                          {"QCAMPUS_DATABASE__URL": "postgresql+psycopg://qc@127.0.0.1:1/qc"})
    assert code == 1
    assert any("cannot be reached" in line and "database.url" in line for line in lines), lines
