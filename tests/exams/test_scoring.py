"""Part A responses scored on the server: all or nothing, numbers as candidates type them."""

from __future__ import annotations

import pytest

from exams import bank, scoring
from qcampus import framework
from tests.exams.conftest import COURSES, SINGLE, write_item


@pytest.fixture
def items(small_bank, tmp_path):
    root = small_bank
    write_item(root, {**SINGLE, "id": "t-multi", "type": "multiple", "key": ["a", "c"]})
    write_item(root, {**SINGLE, "id": "t-order", "type": "ordering", "key": ["c", "a", "b"]})
    left = [{"id": "x", "en": "X gate", "ja": "X ゲート"}, {"id": "z", "en": "Z gate", "ja": "Z ゲート"}]
    data = {k: v for k, v in SINGLE.items() if k != "options"}
    write_item(root, {**data, "id": "t-match", "type": "matching", "left": left,
                      "right": SINGLE["options"], "key": {"x": "a", "z": "b"}})
    found_items, found = bank.load(root, framework.load(COURSES / "framework.yaml"))
    assert found == []
    return found_items


@pytest.mark.parametrize(("item", "response", "right"), [
    ("t-single", "b", True), ("t-single", "a", False), ("t-single", ["b"], False),
    ("t-multi", ["c", "a"], True), ("t-multi", ["a"], False), ("t-multi", ["a", "c", "b"], False),
    ("t-multi", ["a", "a", "c"], False), ("t-multi", "a", False),
    ("t-order", ["c", "a", "b"], True), ("t-order", ["a", "b", "c"], False),
    ("t-match", {"x": "a", "z": "b"}, True), ("t-match", {"x": "a", "z": "a"}, False),
    ("t-match", [["x", "a"]], False), ("t-single", None, False),
])
def test_choice_items_are_all_or_nothing(items, item, response, right):
    assert scoring.points(items[item], 0, response) == (1.0 if right else 0.0)


def test_numeric_items_accept_what_candidates_type_within_the_tolerance(items):
    item = items["t-numeric"]
    for seed in range(10):
        value = bank.key_for(item, seed)["value"]
        for typed in (value, str(value), f" {value:.3f} ", f"{value:.3f}".replace(".", ","),
                      f"{value:.3f}".translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))):
            assert scoring.points(item, seed, typed) == 1.0, (seed, typed)
        for wrong in (value + 0.02, str(value + 0.02), "abc", "", "nan", "inf", True, [value]):
            assert scoring.points(item, seed, wrong) == 0.0, (seed, wrong)


@pytest.mark.parametrize(("typed", "value"), [
    ("1,250,000", 1250000.0), ("0,25", 0.25), ("−3.5", -3.5), ("2e-3", 0.002), ("１２", 12.0),
    ("0,750", 0.75), ("12,500.5", 12500.5), ("1.2.3", None), ("1,2,3", None), ("12abc", None),
    ("", None), ("1e400", None),
])
def test_parse_number(typed, value):
    assert scoring.parse_number(typed) == value
