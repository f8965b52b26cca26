"""The catalog: exams read with their schema, checked against the bank and the achievements."""

from __future__ import annotations

import pytest

from exams import bank, catalog
from exams.validation import achievement_ids
from qcampus import framework
from tests.exams.conftest import COURSES, SINGLE, exam_data, write_exam, write_item


@pytest.fixture(scope="module")
def fw():
    return framework.load(COURSES / "framework.yaml")


def _problems(tmp_path, small_bank, fw, data):
    write_exam(tmp_path / "catalog", data)
    exams, found = catalog.load(tmp_path / "catalog")
    items, _ = bank.load(small_bank, fw)
    for exam in exams.values():
        found += catalog.exam_problems(exam, items, fw, achievement_ids(COURSES))
    return exams, found


def test_a_blueprint_the_bank_covers_three_times_is_valid(tmp_path, small_bank, fw):
    exams, found = _problems(tmp_path, small_bank, fw, exam_data())
    assert found == [] and exams["t-exam"].minutes == 10


def test_a_row_the_bank_cannot_fill_three_times_is_named(tmp_path, small_bank, fw):
    data = exam_data()
    data["parts"][0]["blueprint"][0]["items"] = 2
    _, found = _problems(tmp_path, small_bank, fw, data)
    assert any("draws 2 concepts.qubits items at A2; the bank has 3, needs 6" in p for p in found)


@pytest.mark.parametrize(("change", "expected"), [
    ({"achievement": "nobody-b9"}, "'nobody-b9' is not in courses/achievements.yaml"),
    ({"scoring": {"scale": 1000, "cut_score": 400, "part_minimum": 500, "method": "linear"}},
     "part_minimum ≤ cut_score ≤ scale"),
    ({"level": "Z9"}, "level: 'Z9' is not one of"),
])
def test_exam_problems_are_named(tmp_path, small_bank, fw, change, expected):
    _, found = _problems(tmp_path, small_bank, fw, exam_data(**change))
    assert any(expected in p and "t-exam" in p for p in found), found


def test_a_task_pool_must_name_code_items(tmp_path, small_bank, fw):
    data = exam_data()
    data["parts"].append({"id": "B", "kind": "tasks", "title": {"en": "Practice", "ja": "実技"},
                          "minutes": 30, "tasks": [{"pool": ["t-single", "x", "y"]}]})
    _, found = _problems(tmp_path, small_bank, fw, data)
    assert any("'t-single' is not a code item" in p for p in found)
    assert any("'x' is not a code item" in p for p in found)


def test_a_part_with_the_wrong_contents_for_its_kind_is_refused(tmp_path, small_bank, fw):
    data = exam_data()
    data["parts"][0]["kind"] = "tasks"
    _, found = _problems(tmp_path, small_bank, fw, data)
    assert any("a part of kind tasks has a tasks and no blueprint" in p for p in found)


def test_code_items_are_not_drawn_into_part_a(tmp_path, fw):
    root = tmp_path / "bank"
    write_item(root, SINGLE)
    code = {k: v for k, v in SINGLE.items() if k not in ("key", "options")}
    write_item(root, {**code, "id": "c1", "type": "code",
                      "code": {"stub": "x = 0", "solution": "x = 1", "checks": "assert x == 1"}})
    items, _ = bank.load(root, fw)
    row = catalog.Row("concepts.qubits", "A2", 1)
    assert [i.id for i in catalog.pool_of(items, row)] == ["t-single"]


def test_each_exams_achievement_says_what_passing_it_means():
    """A certificate issued on a pass claims exactly that: its criteria name the exam, in both
    languages, and claim no track completion the exam pages do not check."""
    import yaml

    exams, found = catalog.load()
    assert found == []
    achievements = {a["id"]: a for a in yaml.safe_load(
        (COURSES / "achievements.yaml").read_text(encoding="utf-8"))["achievements"]}
    for exam in exams.values():
        criteria = achievements[exam.achievement]["criteria"]
        assert exam.title["en"] in " ".join(criteria["en"].split()), exam.id
        assert exam.title["ja"].removesuffix("検定") in criteria["ja"], exam.id
        assert "Completed" not in criteria["en"] and "修了" not in criteria["ja"], exam.id
