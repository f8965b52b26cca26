"""A learner's answer of the wrong kind scores its item 0 through ``qcampus grade``.

Exporting a list where the key expects a model is the learner's mistake, not
the instructor's: the item scores 0 with feedback saying what was expected and
what was found, in English and Japanese; the cell's other items, the other
submissions and the run go on as usual.
"""

from __future__ import annotations

import json

import dimod
import pytest
from click.testing import CliRunner

from grader.cli import grade
from grader.verdict import decide, key_item
from tests.grader.autograde.conftest import ASSIGNMENT, build_course, source_notebook

MODEL = dimod.BinaryQuadraticModel({"a": 1.0, "b": -2.0}, {("a", "b"): 3.0}, 0.5, "BINARY")
MODEL_CODE = ("import dimod\ndef build_model():\n"
              "    return dimod.BinaryQuadraticModel({'a': 1.0, 'b': -2.0}, {('a', 'b'): 3.0}, "
              "0.5, 'BINARY')\n")
#: What each learner's build_model() returns; every square() is right.
MODELS = {"model": MODEL_CODE, "list": "def build_model():\n    return [1.0, -2.0, 3.0]\n",
          "none": "def build_model():\n    pass\n"}


def _key() -> dict:
    return {"items": [key_item("square_of_3", "number", 9, 1, cell="test_square"),
                      key_item("model", "bqm_equivalent", MODEL, 1, cell="test_square")]}


def test_the_verdict_scores_a_list_for_a_model_as_the_learners_answer():
    """decide() gives the model item 0 with learner feedback and keeps the other item's point."""
    verdict = decide(_key(), {"square_of_3": {"type": "json", "value": 9},
                              "model": {"type": "json", "value": [1.0, -2.0, 3.0]}})
    assert verdict["score"] == 1.0
    feedback = verdict["items"][1]["feedback"]
    assert "Expected a model" in feedback["en"] and "list of 3 items" in feedback["en"]
    assert "モデル" in feedback["ja"]


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_qcampus_grade_scores_a_list_for_a_model_0_and_grades_the_rest(tmp_path, sandbox_users):
    """Through qcampus grade: the list scores 0 for its item only; every submission is graded."""
    notebook = source_notebook()
    notebook.cells[2].source = ("from grader.export import export_answer\n"
                                "export_answer('square_of_3', square(3))\n"
                                "export_answer('model', build_model())")
    course = build_course(tmp_path / "course", notebook)
    key = course.root / "keys" / ASSIGNMENT / f"{ASSIGNMENT}.json"
    key.parent.mkdir(parents=True)
    key.write_text(json.dumps(_key()))
    for student, model in MODELS.items():
        course.submit(student, "return x * x", before=model)
    result = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root)])
    assert result.exit_code == 0, result.output
    assert "failed" not in result.output
    assert course.scores() == {"model": 2.0, "list": 1.0, "none": 1.0}
    for student, found in (("list", "list of 3 items"), ("none", "None")):
        text = "".join(course.autograded(student)["cells"][2]["outputs"][0]["text"])
        assert "Expected a model" in text and found in text
        assert "モデル" in text
