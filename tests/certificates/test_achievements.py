"""Tests of the achievement catalogue and its Open Badges ``Achievement`` objects."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from certificates import achievements
from certificates.errors import AchievementError
from qcampus import framework

from .conftest import BASE


@pytest.fixture
def raw() -> dict:
    """Return the parsed catalogue file."""
    return yaml.safe_load(achievements.default_path().read_text(encoding="utf-8"))


def test_catalogue_loads_every_certificate_type(catalogue):
    """The checkout's catalogue names the six certificate types."""
    assert set(catalogue.achievements) == {
        "foundations-a2", "gate-engineer-b1", "optimisation-b1", "business-a2",
        "quantum-literacy-a2", "security-b1"}


def test_every_reference_points_into_the_framework(catalogue):
    """Every level and competency of every achievement exists in the framework."""
    spine = framework.load()
    for achievement in catalogue:
        assert achievement.level in spine.levels
        for competency in achievement.competencies:
            assert competency in spine.competencies


def test_dangling_competency_is_an_error(raw):
    """A competency id missing from the framework fails the load, naming it."""
    raw["achievements"][0]["alignment"].append("gate.teleportation")
    with pytest.raises(AchievementError, match="gate.teleportation"):
        achievements.parse(raw, framework.load())


def test_unknown_level_is_an_error(raw):
    """A level that is not a CFQT level fails the load."""
    raw["achievements"][0]["level"] = "D1"
    with pytest.raises(AchievementError, match="D1"):
        achievements.parse(raw, framework.load())


def test_texts_must_be_bilingual(raw):
    """A name without Japanese fails the load."""
    del raw["achievements"][1]["name"]["ja"]
    with pytest.raises(AchievementError, match="English and Japanese"):
        achievements.parse(raw, framework.load())


@pytest.mark.parametrize("change", [
    lambda a: a.update(points=3),
    lambda a: a.pop("criteria"),
    lambda a: a.update(id="Gate Engineer"),
    lambda a: a.update(alignment=[]),
])
def test_malformed_entries_are_errors(raw, change):
    """Unknown or missing fields, a bad id or an empty alignment fail the load."""
    change(raw["achievements"][0])
    with pytest.raises(AchievementError):
        achievements.parse(raw, framework.load())


def test_duplicate_ids_are_an_error(raw):
    """Two achievements with one id fail the load."""
    raw["achievements"].append(copy.deepcopy(raw["achievements"][0]))
    with pytest.raises(AchievementError, match="twice"):
        achievements.parse(raw, framework.load())


def test_load_reads_a_given_file(tmp_path: Path, raw):
    """load() reads the catalogue at the path it is given."""
    raw["achievements"] = raw["achievements"][:1]
    path = tmp_path / "achievements.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert list(achievements.load(path).achievements) == ["foundations-a2"]


def test_unknown_achievement_lists_the_known_ones(catalogue):
    """Asking for an unknown id says which ids exist, in both languages."""
    with pytest.raises(AchievementError, match="gate-engineer-b1") as caught:
        catalogue.get("wizard-c2")
    assert "存在しません" in caught.value.message


def test_achievement_json_follows_open_badges(catalogue):
    """The Achievement object has OB 3.0 types, criteria and one alignment per competency."""
    achievement = catalogue.get("optimisation-b1")
    data = achievement.to_json(BASE + "/")
    assert data["id"] == f"{BASE}/achievements/optimisation-b1"
    assert data["type"] == ["Achievement"]
    assert "量子最適化" in data["name"] and "Optimisation" in data["name"]
    assert "\n\n" in data["criteria"]["narrative"]
    competencies = [a for a in data["alignment"]
                    if a["targetType"] == achievements.COMPETENCY_TARGET_TYPE]
    assert [a["targetCode"] for a in competencies] == [
        "optimisation.qubo-modelling", "optimisation.sampling"]
    for alignment in data["alignment"]:
        assert alignment["type"] == ["Alignment"]
        assert set(alignment) == {"type", "targetName", "targetUrl", "targetCode",
                                  "targetFramework", "targetType"}
        assert alignment["targetType"].startswith("ext:")
    level = [a for a in data["alignment"] if a["targetType"] == achievements.LEVEL_TARGET_TYPE]
    assert [a["targetCode"] for a in level] == ["B1"]
