"""The competency framework file and where it is found."""

from __future__ import annotations

from qcampus import framework
from qcampus.deployment import init
from tests.conftest import REPO


def test_checkout_framework_loads():
    """The repository's framework has the six CFQT levels in order."""
    assert tuple(framework.load().levels) == framework.LEVELS


def test_regular_install_finds_courses_through_the_deployment(qcampus_home, monkeypatch, tmp_path):
    """Without a checkout beside the package, the deployment's courses.source is used."""
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(REPO / "courses"))
    init(qcampus_home, hooks=[])
    monkeypatch.delenv("QCAMPUS_COURSES__SOURCE")
    monkeypatch.setenv("QCAMPUS_HOME", str(qcampus_home))
    monkeypatch.setattr(framework, "__file__", str(tmp_path / "site-packages" / "qcampus" / "framework.py"))
    assert framework.courses_dir() == REPO / "courses"
    assert framework.load().competencies
