"""Removing people from the roster, and the steps packages run after a roster change."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from qcampus import deployment, roster
from qcampus import settings as settings_mod
from qcampus.cli import cli
from qcampus.errors import ServiceError

COHORT = "username,role,tracks\nada,learner,alpha\nbob,learner,alpha\nteach,instructor,\n"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """Return an initialised deployment (track alpha) with two learners and an instructor enrolled."""
    (tmp_path / "src" / "alpha").mkdir(parents=True)
    (tmp_path / "src" / "alpha" / "track.yaml").write_text("title: {en: t}\nlevel: A1\n")
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(tmp_path / "src"))
    deployment.init(tmp_path / "home", hooks=[])
    roster.enrol(tmp_path / "home", roster.parse_csv(COHORT, ["alpha"]))
    return tmp_path / "home"


def test_remove_takes_names_off_the_roster(home):
    """`roster remove` drops the named people and says their work is kept."""
    result = CliRunner().invoke(cli, ["roster", "remove", "bob", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert sorted(roster.load(home)) == ["ada", "teach"]
    assert "submissions and grades are kept" in result.output
    # No hub of this deployment runs: nothing else changes until its next start.
    assert "next start" in result.output


def test_remove_of_someone_not_enrolled_changes_nothing(home):
    """An unknown name is refused (exit 6) and nobody is removed."""
    result = CliRunner().invoke(cli, ["roster", "remove", "bob", "zed", "--home", str(home)])
    assert result.exit_code == 6
    assert "Not enrolled: zed" in result.output
    assert sorted(roster.load(home)) == ["ada", "bob", "teach"]


def test_hooks_report_what_they_changed(home):
    """run_hooks returns what each step says it changed, skipping steps with nothing to do."""
    settings = settings_mod.load(home)
    said = roster.run_hooks(settings, hooks=[lambda s: None, lambda s: f"updated {s.home.name}"])
    assert said == ["updated home"]


def test_a_failed_hub_update_comes_after_the_codes_and_the_roster(home, tmp_path, monkeypatch):
    """When the hub update fails, the roster is saved and the new staff code was already shown."""
    def failing(settings, hooks=None):
        raise ServiceError("updating the running hub failed: HTTP 403. Run the command again.")

    monkeypatch.setattr(roster, "run_hooks", failing)
    late = tmp_path / "late.csv"
    late.write_text("username,role,tracks\nexa,examiner,\n")
    result = CliRunner().invoke(cli, ["roster", "add", str(late), "--home", str(home)])
    assert result.exit_code == ServiceError.exit_code
    assert re.search(r"^  exa\texaminer\t[A-Z0-9-]{19}\t", result.output, re.M)
    assert "Run the command again" in result.output
    assert "exa" in roster.load(home)
