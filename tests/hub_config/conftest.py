"""Fixtures for the hub configuration tests.

- ``deployment_settings``: settings of an initialised deployment with two tracks
  (``alpha``, ``beta``) and an enrolled roster of one instructor, two learners
  and one examiner.
- ``hub_config``: that deployment's configuration applied to a bare
  ``traitlets.config.Config``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config.configurer import apply_config, config_from_settings
from qcampus import deployment, roster, settings

ROSTER = """username,role,tracks
teacher,instructor,
ada,learner,alpha
bob,learner,alpha;beta
eve,examiner,
"""


def make_courses(root: Path, *tracks: str) -> Path:
    """Create a courses source with an empty track directory per name."""
    for track in tracks:
        (root / track).mkdir(parents=True)
        (root / track / "track.yaml").write_text("title: {en: t, ja: t}\nlevel: A1\n")
    return root


@pytest.fixture
def deployment_settings(tmp_path, monkeypatch) -> settings.Settings:
    """Return settings of a deployment with tracks alpha, beta and an enrolled roster."""
    source = make_courses(tmp_path / "courses", "alpha", "beta")
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(source))
    home = tmp_path / "home"
    deployment.init(home, hooks=[])
    loaded = settings.load(home)
    roster.enrol(home, roster.parse_csv(ROSTER, ["alpha", "beta"]))
    return loaded


@pytest.fixture
def hub_config(deployment_settings) -> Config:
    """Return the deployment's hub configuration on a bare traitlets Config."""
    c = Config()
    apply_config(c, config_from_settings(deployment_settings))
    return c
