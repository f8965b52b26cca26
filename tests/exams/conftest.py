"""A small bank and catalog written per test, and a generator whose key can be made wrong."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import yaml

from exams.generators import Generator

REPO = Path(__file__).resolve().parents[2]
COURSES = REPO / "courses"


class HalfAngle(Generator):
    """P(1) after RY(theta) on |0⟩ = sin²(θ/2), proved by a state-vector simulation."""

    name = "test-half-angle"

    def draw(self, rng: random.Random) -> dict:
        return {"theta": rng.choice([30, 60, 90, 120, 150])}

    def key(self, p: dict) -> dict:
        return {"value": round(math.sin(math.radians(p["theta"]) / 2) ** 2, 4), "tolerance": 0.005}

    def check(self, p: dict, key: dict) -> None:
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Statevector

        circuit = QuantumCircuit(1)
        circuit.ry(math.radians(p["theta"]), 0)
        assert abs(Statevector(circuit).probabilities()[1] - key["value"]) < 1e-3


class WrongHalfAngle(HalfAngle):
    """The same item with a wrong key (cos² instead of sin²), which its check must catch."""

    name = "test-half-angle-wrong"

    def key(self, p: dict) -> dict:
        return {"value": round(math.cos(math.radians(p["theta"]) / 2) ** 2, 4), "tolerance": 0.005}


SINGLE = {
    "id": "t-single", "type": "single", "competency": "concepts.qubits", "level": "A2",
    "difficulty": "easy",
    "prompt": {"en": "How many outcomes has measuring one qubit?",
               "ja": "1 量子ビットの測定結果は何通りですか。"},
    "options": [{"id": "a", "en": "one", "ja": "1 通り"}, {"id": "b", "en": "two", "ja": "2 通り"},
                {"id": "c", "en": "infinitely many", "ja": "無限に多い"}],
    "key": "b",
    "rationale": {"en": "0 or 1; the amplitudes are continuous, outcomes are not.",
                  "ja": "0 か 1 です。振幅は連続ですが、測定結果は連続ではありません。"},
}
NUMERIC = {
    "id": "t-numeric", "type": "numeric", "competency": "concepts.qubits", "level": "A2",
    "difficulty": "medium", "parameters": "test-half-angle", "key": "generated", "unit": "",
    "prompt": {"en": "RY({theta}°) acts on $|0\\rangle$. P(1)?",
               "ja": "$|0\\rangle$ に RY({theta}°) を作用させます。1 が出る確率は？"},
    "rationale": {"en": "sin²(θ/2).", "ja": "sin²(θ/2) です。"},
}
CODE = {
    "id": "t-code", "type": "code", "competency": "concepts.qubits", "level": "A2",
    "difficulty": "medium",
    "prompt": {"en": "Write double(x).", "ja": "double(x) を書いてください。"},
    "code": {"stub": "def double(x):\n    raise NotImplementedError\n",
             "solution": "def double(x):\n    return 2 * x\n",
             "checks": "for x in (1, 5, -3):\n    assert double(x) == 2 * x\n"},
    "rationale": {"en": "Twice x.", "ja": "x の 2 倍です。"},
}


def write_item(bank: Path, data: dict) -> Path:
    """Write *data* as an item file of *bank* in its competency's domain folder."""
    folder = bank / data["competency"].split(".")[0]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def exam_data(**changes) -> dict:
    """Return a valid one-part exam drawing 1 concepts.qubits A2 item."""
    data = {
        "id": "t-exam", "title": {"en": "Test", "ja": "テスト"}, "level": "A2",
        "audience": {"en": "Everyone.", "ja": "すべての人。"}, "achievement": "foundations-a2",
        "parts": [{"id": "A", "kind": "items", "title": {"en": "Knowledge", "ja": "知識"},
                   "minutes": 10,
                   "blueprint": [{"competency": "concepts.qubits", "level": "A2", "items": 1}]}],
        "scoring": {"scale": 1000, "cut_score": 600, "part_minimum": 500, "method": "linear"},
        "standard_setting": {"method": "modified-angoff",
                             "description": {"en": "A panel.", "ja": "パネルで設定。"}},
        "retake": {"wait_days": 14, "per_year": 4},
    }
    data.update(changes)
    return data


def write_exam(catalog: Path, data: dict) -> Path:
    catalog.mkdir(parents=True, exist_ok=True)
    path = catalog / f"{data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def small_bank(tmp_path) -> Path:
    """Return a bank with a single-choice, a parametrised numeric and a third item."""
    root = tmp_path / "bank"
    write_item(root, SINGLE)
    write_item(root, NUMERIC)
    write_item(root, {**SINGLE, "id": "t-single-2", "key": "b"})
    return root
