"""Enrolling a roster from CSV: all rows or none."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from qcampus import deployment, roster
from qcampus.cli import cli
from qcampus.roster import RosterError, parse_csv

GOOD = "username,role,tracks\nada,learner,alpha\nbob,learner,alpha;beta\nteach,instructor,\n"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """Return an initialised deployment whose courses source has tracks alpha and beta."""
    for track in ("alpha", "beta"):
        (tmp_path / "src" / track).mkdir(parents=True)
        (tmp_path / "src" / track / "track.yaml").write_text("title: {en: t}\nlevel: A1\n")
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(tmp_path / "src"))
    deployment.init(tmp_path / "home", hooks=[])
    return tmp_path / "home"


def test_parse_good_roster():
    """A valid CSV gives one member per row with its tracks."""
    members = parse_csv(GOOD, ["alpha", "beta"])
    assert [(m.username, m.role, m.tracks) for m in members] == [
        ("ada", "learner", ("alpha",)), ("bob", "learner", ("alpha", "beta")),
        ("teach", "instructor", ())]


def test_every_bad_line_is_named():
    """Each bad row is reported with its line number and problem."""
    text = ("username,role,tracks\nada,learner,alpha\nRoot!,learner,alpha\nbob,wizard,alpha\n"
            "cy,learner,gamma\nada,learner,alpha\ndee,learner,\n")
    with pytest.raises(RosterError) as info:
        parse_csv(text, ["alpha"])
    message = info.value.message
    assert "line 3: username 'Root!'" in message
    assert "line 4: role 'wizard'" in message
    assert "line 5: unknown track(s) gamma" in message
    assert "line 6: username 'ada' already on line 2" in message
    assert "line 7: a learner needs at least one track" in message
    assert "nothing was enrolled" in message


def test_missing_column_is_named():
    """A CSV without the role column is refused naming it."""
    with pytest.raises(RosterError, match="missing: role"):
        parse_csv("username,tracks\nada,alpha\n", ["alpha"])


def test_cli_bad_roster_stores_nothing(home, tmp_path):
    """`qcampus roster add` with one bad row exits non-zero and writes no roster."""
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD + "zed,learner,nope\n")
    result = CliRunner().invoke(cli, ["roster", "add", str(bad), "--home", str(home)])
    assert result.exit_code == RosterError.exit_code
    assert "line 5: unknown track(s) nope" in result.output
    assert not (home / "roster.yaml").exists()


def test_cli_enrols_and_merges(home, tmp_path):
    """Enrolling twice merges rows; the roster file is private to root."""
    first = tmp_path / "a.csv"
    first.write_text(GOOD)
    second = tmp_path / "b.csv"
    second.write_text("username,role,tracks\nada,learner,beta\neve,examiner,\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["roster", "add", str(first), "--home", str(home)]).exit_code == 0
    result = runner.invoke(cli, ["roster", "add", str(second), "--home", str(home)])
    assert result.exit_code == 0, result.output
    members = roster.load(home)
    assert sorted(members) == ["ada", "bob", "eve", "teach"]
    assert members["ada"].tracks == ("beta",)
    assert os.stat(home / "roster.yaml").st_mode & 0o777 == 0o600
    listing = runner.invoke(cli, ["roster", "list", "--home", str(home)]).output
    assert "eve\texaminer\t-" in listing


def test_cli_needs_deployment(tmp_path):
    """Enrolling into a directory that is not a deployment says to run init."""
    csv_file = tmp_path / "a.csv"
    csv_file.write_text(GOOD)
    result = CliRunner().invoke(cli, ["roster", "add", str(csv_file), "--home", str(tmp_path / "x")])
    assert result.exit_code != 0
    assert "qcampus init" in result.output
