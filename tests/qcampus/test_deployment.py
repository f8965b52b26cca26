"""qcampus init: creates a deployment, is idempotent, refuses what it cannot handle."""

from __future__ import annotations

import stat

import pytest
import yaml

from qcampus import DEPLOYMENT_VERSION
from qcampus.deployment import init
from qcampus.errors import DeploymentError, SettingsError
from tests.conftest import REPO


def _environ():
    return {"QCAMPUS_COURSES__SOURCE": str(REPO / "courses")}


def _snapshot(root):
    return {p.relative_to(root): (p.stat().st_mode, p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def test_init_creates_the_layout_with_safe_modes(qcampus_home):
    """Secrets and hub state are private; there is no shared exchange directory for learners to write."""
    init(qcampus_home, _environ(), hooks=[])
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(qcampus_home / "secrets") == 0o700
    assert mode(qcampus_home / "hub") == 0o700
    assert not (qcampus_home / "exchange").exists()
    assert (qcampus_home / "courses" / "foundations" / "nbgrader_config.py").is_file()
    written = yaml.safe_load((qcampus_home / "settings.yaml").read_text())
    assert written["deployment"]["version"] == DEPLOYMENT_VERSION


def test_init_twice_changes_nothing(qcampus_home):
    """A second init creates nothing and leaves every file and mode as it was."""
    init(qcampus_home, _environ(), hooks=[])
    (qcampus_home / "courses" / "foundations" / "gradebook.db").write_bytes(b"learner work")
    before = _snapshot(qcampus_home)
    report = init(qcampus_home, _environ(), hooks=[])
    assert report.created == []
    assert _snapshot(qcampus_home) == before


def test_init_keeps_edited_settings(qcampus_home):
    """An operator's edit of settings.yaml survives a later init."""
    init(qcampus_home, _environ(), hooks=[])
    path = qcampus_home / "settings.yaml"
    path.write_text(path.read_text().replace("port: 8000", "port: 8010"))
    init(qcampus_home, _environ(), hooks=[])
    assert "port: 8010" in path.read_text()


def test_init_refuses_a_newer_deployment(qcampus_home):
    """A directory written by a newer layout is refused and left untouched."""
    qcampus_home.mkdir()
    (qcampus_home / "settings.yaml").write_text(f"deployment:\n  version: {DEPLOYMENT_VERSION + 1}\n")
    before = _snapshot(qcampus_home)
    with pytest.raises(DeploymentError, match="newer qcampus"):
        init(qcampus_home, _environ(), hooks=[])
    assert _snapshot(qcampus_home) == before


def test_init_refuses_a_corrupt_settings_file(qcampus_home):
    """A corrupt settings file stops init before anything is created."""
    qcampus_home.mkdir()
    (qcampus_home / "settings.yaml").write_text("hub: {port: [\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        init(qcampus_home, _environ(), hooks=[])
    assert sorted(p.name for p in qcampus_home.iterdir()) == ["settings.yaml"]


def test_init_runs_package_hooks(qcampus_home):
    """Every init hook receives the loaded settings of the deployment."""
    seen = []
    init(qcampus_home, _environ(), hooks=[seen.append])
    assert [s.home for s in seen] == [qcampus_home.resolve()]
