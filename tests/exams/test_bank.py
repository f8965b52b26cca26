"""Loading the item bank finds every problem with its file and field, and renders no key."""

from __future__ import annotations

import json

import pytest

from exams import bank
from qcampus import framework
from tests.exams.conftest import COURSES, NUMERIC, SINGLE, write_item


@pytest.fixture(scope="module")
def fw():
    return framework.load(COURSES / "framework.yaml")


def test_a_valid_bank_loads_without_problems(small_bank, fw):
    """Three valid items load; the parametrised one is checked for every seed and passes."""
    items, found = bank.load(small_bank, fw)
    assert found == []
    assert sorted(items) == ["t-numeric", "t-single", "t-single-2"]
    assert bank.prove_keys(items.values()) == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"key": "z"}, "key: 'z' is not one of the option ids"),
    ({"type": "multiple", "key": ["a", "a"]}, "not a non-empty list of distinct option ids"),
    ({"type": "ordering", "key": ["a", "b"]}, "does not list every option id"),
    ({"competency": "concepts.nothing"}, "unknown competency 'concepts.nothing'"),
    ({"level": "C2"}, "describes concepts.qubits only at"),
    ({"prompt": {"en": "How many?", "ja": "How many?"}}, "prompt.ja has no Japanese text"),
    ({"options": [{"id": "a", "en": "one", "ja": "one"}, {"id": "b", "en": "two", "ja": "2 通り"}]},
     None),  # an option the same in both languages is allowed (a number, a formula, a name)
    ({"options": [{"id": "a", "en": "one", "ja": "ひとつ"}, {"id": "b", "en": "二", "ja": "2 通り"}]},
     "options[b].en contains Japanese"),
    ({"colour": "red"}, "unknown key(s) 'colour'"),
    ({"key": "generated"}, "'generated' needs parameters"),
    ({"parameters": "no-such-generator", "key": "generated"}, "there is no generator 'no-such-generator'"),
    ({"type": "numeric", "options": None, "key": {"value": "x"}}, "value 'x' is not a number"),
    ({"type": "matching", "key": {"a": "b"}}, "left: a matching item needs it"),
])
def test_each_problem_names_its_file_and_field(tmp_path, fw, change, expected):
    """A broken item is reported with its path and what to change; valid ones are not."""
    data = {**SINGLE, **change}
    data = {k: v for k, v in data.items() if v is not None}
    path = write_item(tmp_path / "bank", data)
    items, found = bank.load(tmp_path / "bank", fw)
    if expected is None:
        assert found == []
        return
    assert any(expected in problem and str(path) in problem for problem in found), found


def test_a_file_named_unlike_its_id_and_duplicate_ids_are_refused(tmp_path, fw):
    root = tmp_path / "bank"
    path = write_item(root, SINGLE)
    path.rename(path.with_name("other.yaml"))
    write_item(root, SINGLE)
    (root / "gate").mkdir()
    (root / "gate" / "t-single.yaml").write_text((root / "concepts" / "t-single.yaml").read_text())
    _, found = bank.load(root, fw)
    assert any("differs from the file name" in p for p in found)
    assert any("is also the id of" in p for p in found)


def test_an_item_in_another_domains_folder_is_refused(tmp_path, fw):
    root = tmp_path / "bank"
    path = write_item(root, SINGLE)
    (root / "gate").mkdir()
    path.rename(root / "gate" / path.name)
    _, found = bank.load(root, fw)
    assert any("move it to the bank's concepts/" in p for p in found), found


def test_a_wrong_generated_key_is_caught_by_the_generators_own_check(small_bank, fw):
    """A generator computing cos² instead of sin² is found by its simulation, naming the seed.

    Keys are proved in a child interpreter, so this process never starts Aer's OpenMP pool.
    """
    write_item(small_bank, {**NUMERIC, "id": "t-wrong", "parameters": "test-half-angle-wrong"})
    items, found = bank.load(small_bank, fw)
    assert found == []  # its key has the right form; only the proof finds it wrong
    proved = bank.prove_keys(items.values())
    assert len(proved) == 1 and "t-wrong" in proved[0], proved
    assert "its check says the key is wrong" in proved[0] and "seed" in proved[0]


def test_a_prompt_field_the_generator_does_not_draw_is_named(tmp_path, fw):
    data = {**NUMERIC, "prompt": {"en": "RY({phi}) P(1)?", "ja": "RY({phi}) で 1 が出る確率は？"}}
    write_item(tmp_path / "bank", data)
    _, found = bank.load(tmp_path / "bank", fw)
    assert any("fields ['phi'] are not parameters" in p for p in found), found


def test_render_fills_parameters_and_never_shows_the_key_or_rationale(small_bank, fw):
    items, _ = bank.load(small_bank, fw)
    item = items["t-numeric"]
    for seed in range(10):
        shown = bank.render(item, seed, "ja")
        theta = bank.parameters_for(item, seed)["theta"]
        assert f"RY({theta}°)" in shown["prompt"] and "確率" in shown["prompt"]
        text = json.dumps(shown, ensure_ascii=False)
        key = bank.key_for(item, seed)
        assert str(key["value"]) not in text and "sin" not in text and "rationale" not in text
    single = bank.render(items["t-single"], 0, "en")
    assert [o["id"] for o in single["options"]] == ["a", "b", "c"] and "key" not in single


def test_ordering_items_are_never_shown_in_the_key_order(tmp_path, fw):
    data = {**SINGLE, "type": "ordering", "key": ["a", "b", "c"]}
    write_item(tmp_path / "bank", data)
    items, found = bank.load(tmp_path / "bank", fw)
    assert found == []
    for seed in range(20):
        shown = [o["id"] for o in bank.render(items["t-single"], seed, "en")["options"]]
        assert sorted(shown) == ["a", "b", "c"] and shown != ["a", "b", "c"]


def test_matching_entries_are_shuffled_per_candidate(tmp_path, fw):
    left = [{"id": f"l{i}", "en": f"left {i}", "ja": f"左 {i}"} for i in range(4)]
    right = [{"id": f"r{i}", "en": f"right {i}", "ja": f"右 {i}"} for i in range(4)]
    data = {k: v for k, v in SINGLE.items() if k != "options"}
    write_item(tmp_path / "bank", {**data, "type": "matching", "left": left, "right": right,
                                   "key": {f"l{i}": f"r{i}" for i in range(4)}})
    items, found = bank.load(tmp_path / "bank", fw)
    assert found == []
    orders = {tuple(o["id"] for o in bank.render(items["t-single"], seed, "en")["right"])
              for seed in range(20)}
    assert len(orders) > 5 and all(sorted(o) == ["r0", "r1", "r2", "r3"] for o in orders)
