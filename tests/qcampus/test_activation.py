"""One-time activation codes: hashed, single use, expiring; printed by qcampus roster."""

from __future__ import annotations

import json
import re
import stat

from click.testing import CliRunner

from hub_config.authenticator import for_deployment
from qcampus import settings
from qcampus.activation import Activations, digest, needs_activation, new_code
from qcampus.cli import cli
from qcampus.deployment import init
from tests.conftest import REPO

CSV = "username,role,tracks\nprof,instructor,\nexa,examiner,\nada,learner,foundations\n"
CODE = re.compile(r"^  (\w+)\t(\w+)\t([A-Z0-9-]{19})\tvalid until ", re.M)


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def test_staff_always_need_a_code_learners_by_setting():
    """Instructors and examiners never use first use; learners only when the setting says so."""
    assert needs_activation("instructor", True) and needs_activation("examiner", True)
    assert not needs_activation("learner", True)
    assert needs_activation("learner", False)


def test_codes_are_random_and_read_loosely():
    """Codes differ; dashes, spaces and case do not change what they match."""
    code = new_code()
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code) and code != new_code()
    assert digest(code.lower().replace("-", " ")) == digest(code)


def test_code_is_stored_hashed_and_works_once(tmp_path):
    """Only the hash is on disk (0600); the right code works once, then never again."""
    store = Activations(tmp_path)
    code, _ = store.issue(["prof"], hours=1)["prof"]
    text = store.path.read_text()
    assert code not in text and code.replace("-", "") not in text
    assert json.loads(text)["prof"]["sha256"] == digest(code)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.redeem("prof", "AAAA-BBBB-CCCC-DDDD").reason == "wrong"
    assert store.redeem("prof", code).ok
    assert store.redeem("prof", code).reason == "unknown"


def test_code_expires(tmp_path):
    """After its lifetime a code is refused and dropped."""
    clock = Clock()
    store = Activations(tmp_path, clock=clock)
    code, expires = store.issue(["prof"], hours=2)["prof"]
    assert expires == clock.now + 7200
    clock.now = expires
    assert store.redeem("prof", code).reason == "expired"
    assert store.pending() == set()


def test_code_of_one_account_does_not_open_another(tmp_path):
    """A code is bound to the name it was issued for."""
    store = Activations(tmp_path)
    issued = store.issue(["prof", "exa"], hours=1)
    assert store.redeem("exa", issued["prof"][0]).reason == "wrong"


def deployment(qcampus_home, monkeypatch, tmp_path):
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(REPO / "courses"))
    init(qcampus_home, hooks=[])
    roster_csv = tmp_path / "cohort.csv"
    roster_csv.write_text(CSV)
    return roster_csv


def test_roster_add_prints_a_code_per_staff_member(qcampus_home, monkeypatch, tmp_path):
    """Staff get a code each (shown once); first-use learners get none; the codes work."""
    roster_csv = deployment(qcampus_home, monkeypatch, tmp_path)
    result = CliRunner().invoke(cli, ["roster", "add", str(roster_csv), "--home", str(qcampus_home)])
    assert result.exit_code == 0, result.output
    codes = {m[0]: (m[1], m[2]) for m in CODE.findall(result.output)}
    assert set(codes) == {"prof", "exa"} and codes["prof"][0] == "instructor"
    assert "/hub/activate" in result.output
    store = Activations(qcampus_home / "hub")
    assert store.redeem("prof", codes["prof"][1]).ok
    # Enrolling the same file again keeps the pending code of exa and issues none to prof,
    # whose code is used (the hub then holds a password for prof).
    for_deployment(settings.load(qcampus_home)).preset_password("prof", "chosen-password")
    again = CliRunner().invoke(cli, ["roster", "add", str(roster_csv), "--home", str(qcampus_home)])
    assert CODE.findall(again.output) == []
    assert store.redeem("exa", codes["exa"][1]).ok


def test_learners_get_codes_when_first_use_is_off(qcampus_home, monkeypatch, tmp_path):
    """With accounts.learner_first_use false, learners activate with a code too."""
    roster_csv = deployment(qcampus_home, monkeypatch, tmp_path)
    monkeypatch.setenv("QCAMPUS_ACCOUNTS__LEARNER_FIRST_USE", "false")
    result = CliRunner().invoke(cli, ["roster", "add", str(roster_csv), "--home", str(qcampus_home)])
    assert {m[0] for m in CODE.findall(result.output)} == {"prof", "exa", "ada"}


def test_roster_activate_renews_a_code(qcampus_home, monkeypatch, tmp_path):
    """roster activate replaces a lost code; the old one stops working."""
    roster_csv = deployment(qcampus_home, monkeypatch, tmp_path)
    runner = CliRunner()
    first = CODE.findall(runner.invoke(cli, ["roster", "add", str(roster_csv), "--home",
                                             str(qcampus_home)]).output)
    old = dict((m[0], m[2]) for m in first)["prof"]
    result = runner.invoke(cli, ["roster", "activate", "prof", "--home", str(qcampus_home)])
    assert result.exit_code == 0, result.output
    [(name, _, new)] = CODE.findall(result.output)
    store = Activations(qcampus_home / "hub")
    assert name == "prof" and store.redeem("prof", old).reason == "wrong"
    assert store.redeem("prof", new).ok


def test_roster_activate_refuses_unknown_and_active_accounts(qcampus_home, monkeypatch, tmp_path):
    """Unknown names and accounts that already have a password are errors naming them."""
    roster_csv = deployment(qcampus_home, monkeypatch, tmp_path)
    runner = CliRunner()
    runner.invoke(cli, ["roster", "add", str(roster_csv), "--home", str(qcampus_home)])
    result = runner.invoke(cli, ["roster", "activate", "nobody", "--home", str(qcampus_home)])
    assert result.exit_code == 6 and "Not enrolled: nobody" in result.output
    for_deployment(settings.load(qcampus_home)).preset_password("prof", "chosen-password")
    result = runner.invoke(cli, ["roster", "activate", "prof", "--home", str(qcampus_home)])
    assert result.exit_code == 6 and "Already activated: prof" in result.output
