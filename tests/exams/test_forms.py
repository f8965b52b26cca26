"""Forms: the same seed draws the same form; seeds differ; the blueprint is kept."""

from __future__ import annotations

from collections import Counter

from exams import bank, catalog, forms
from qcampus import framework
from tests.exams.conftest import COURSES, SINGLE, exam_data, write_exam, write_item


def _setup(tmp_path):
    root = tmp_path / "bank"
    for index in range(9):
        write_item(root, {**SINGLE, "id": f"q-{index}"})
    gate = {**SINGLE, "competency": "gate.circuits"}
    for index in range(6):
        write_item(root, {**gate, "id": f"g-{index}"})
    data = exam_data()
    data["parts"][0]["blueprint"] = [{"competency": "concepts.qubits", "level": "A2", "items": 3},
                                     {"competency": "gate.circuits", "level": "A2", "items": 2}]
    write_exam(tmp_path / "catalog", data)
    items, found = bank.load(root, framework.load(COURSES / "framework.yaml"))
    assert found == []
    exams, found = catalog.load(tmp_path / "catalog")
    assert found == []
    return exams["t-exam"], items


def test_a_seed_always_draws_the_same_form_and_keeps_the_blueprint(tmp_path):
    exam, items = _setup(tmp_path)
    first = forms.draw(exam, items, 42)
    assert first == forms.draw(exam, items, 42)
    counts = Counter(items[s.item].competency for s in first)
    assert counts == {"concepts.qubits": 3, "gate.circuits": 2}
    assert len({s.item for s in first}) == 5 and {s.part for s in first} == {"A"}


def test_different_seeds_draw_different_forms_and_item_seeds(tmp_path):
    exam, items = _setup(tmp_path)
    drawn = {tuple(s.item for s in forms.draw(exam, items, seed)) for seed in range(30)}
    assert len(drawn) > 20
    seeds = {s.seed for seed in range(30) for s in forms.draw(exam, items, seed)}
    assert len(seeds) > 100
    assert forms.item_seed(1, "q-1") != forms.item_seed(2, "q-1") != forms.item_seed(1, "q-2")
