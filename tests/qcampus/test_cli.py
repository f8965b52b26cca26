"""The qcampus command: core subcommands and entry-point plugins."""

from __future__ import annotations

from click.testing import CliRunner

from qcampus.cli import cli
from tests.conftest import REPO


def test_help_lists_core_and_plugin_commands():
    """Help shows the core commands and those packages add through entry points."""
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("init", "up", "status", "courses", "grade", "cert"):
        assert name in result.output


def test_unknown_command_fails():
    """An unknown subcommand exits non-zero and says so."""
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_init_then_status(qcampus_home, monkeypatch):
    """init reports what it created; status then finds the deployment and the course."""
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(REPO / "courses"))
    runner = CliRunner()
    result = runner.invoke(cli, ["init", "--home", str(qcampus_home)])
    assert result.exit_code == 0, result.output
    assert "Deployment ready" in result.output
    result = runner.invoke(cli, ["status", "--home", str(qcampus_home)])
    assert "deployment:" in result.output and "course foundations" in result.output


def test_status_of_missing_deployment_exits_1(tmp_path):
    """status of a directory without settings is an error telling to run init."""
    result = CliRunner().invoke(cli, ["status", "--home", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "qcampus init" in result.output


def test_courses_list_shows_tracks(qcampus_home, monkeypatch):
    """courses list shows each track with both titles and its assignments."""
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(REPO / "courses"))
    result = CliRunner().invoke(cli, ["courses", "list", "--home", str(qcampus_home)])
    assert result.exit_code == 0, result.output
    assert "foundations" in result.output and "量子" in result.output
    assert "first-circuits" in result.output and "not released" in result.output


def test_release_of_unknown_track_is_a_clear_error(qcampus_home, monkeypatch):
    """Releasing a track that does not exist names the known tracks."""
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(REPO / "courses"))
    result = CliRunner().invoke(cli, ["courses", "release", "nope", "--home", str(qcampus_home)])
    assert result.exit_code != 0
    assert "no track 'nope'" in result.output and "foundations" in result.output


def test_status_reports_a_missing_proxy(qcampus_home, monkeypatch):
    """status names a missing configurable-http-proxy, says how to install it, and exits 1."""
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(REPO / "courses"))
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--home", str(qcampus_home)]).exit_code == 0
    monkeypatch.setenv("QCAMPUS_HUB__PROXY_COMMAND", str(qcampus_home / "no-such-proxy"))
    result = runner.invoke(cli, ["status", "--home", str(qcampus_home)])
    assert result.exit_code == 1
    assert "ERROR proxy: configurable-http-proxy not found" in result.output
    assert "scripts/bootstrap" in result.output
