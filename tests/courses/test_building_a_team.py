"""The role profiles copied into business/building-a-team are those of the framework.

A graded notebook cannot read ``courses/framework.yaml``, so the lesson holds a copy
of the roles in its locked cell ``framework-data``; this keeps the copy honest.
"""

from __future__ import annotations

import json

import yaml

from tests.courses.conftest import COURSES

NOTEBOOK = COURSES / "business" / "source" / "building-a-team" / "building-a-team.ipynb"


def _copied() -> dict:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    (cell,) = [c for c in cells if c["metadata"]["nbgrader"]["grade_id"] == "framework-data"]
    namespace: dict = {}
    exec("".join(cell["source"]), namespace)  # a locked data cell: literals only
    return namespace


def test_building_a_team_role_profiles_mirror_the_framework():
    """Every role of the framework, with its competencies and levels, and nothing else."""
    framework = yaml.safe_load((COURSES / "framework.yaml").read_text(encoding="utf-8"))
    roles = {r["id"]: {c["competency"]: c["level"] for c in r["competencies"]} for r in framework["roles"]}
    copied = _copied()
    assert copied["ROLES"] == roles
    assert copied["ROLE_NAMES"] == {r["id"]: (r["name"]["en"], r["name"]["ja"]) for r in framework["roles"]}
    assert copied["LEVELS"] == [level["id"] for level in framework["levels"]]
