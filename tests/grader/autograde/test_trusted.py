"""Scoring by verdict: test cells only export answers; the grader decides, outside the sandbox."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell
from nbgrader.utils import determine_grade

from grader.autograde.trusted import AnswerKeyError, load_key, verdict_outputs
from grader.cli import grade
from grader.verdict import decide, key_item
from tests.grader.autograde.conftest import ASSIGNMENT, Course, build_course, source_notebook

POINTS = {"test_square": 2.0}


def _write_key(path, items) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"items": items}))


@pytest.mark.parametrize(("items", "message"), [
    ([], "at least one item"),
    ([{"answer": "a", "check": "eval", "points": 2}], "unknown check 'eval'"),
    ([{"answer": "a", "check": "number", "points": -1, "cell": "test_square"}],
     "points must be a positive number"),
    ([{"answer": "a", "check": "number", "points": 2}], "'a' is not a test cell"),
    ([{"answer": "a", "check": "number", "points": 1, "cell": "test_square"}],
     "add up to 1 points; the cell is worth 2"),
    ([{"answer": "a", "check": "number", "points": 2, "cell": "test_square",
       "limits": {"qubits": 0}}], "limits of answer 'a' must map qubits and gates"),
])
def test_a_bad_key_is_refused_with_what_to_fix(tmp_path, items, message):
    path = tmp_path / "ps1.json"
    _write_key(path, items)
    with pytest.raises(AnswerKeyError, match=message):
        load_key(path, POINTS)


def test_a_key_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "ps1.json"
    path.write_text("{not json")
    with pytest.raises(AnswerKeyError, match="cannot read the answer key"):
        load_key(path, POINTS)


@pytest.mark.parametrize(("answer", "score"), [(9, 2.0), (6, 0.0), (None, 0.0)])
def test_verdict_outputs_give_nbgrader_the_verdicts_score(answer, score):
    item = key_item("square_of_3", "number", 9, 2, cell="test_square")
    answers = {} if answer is None else {"square_of_3": {"type": "json", "value": answer}}
    verdict = decide({"items": [item]}, answers)
    cell = new_code_cell("export_answer('square_of_3', square(3))", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "test_square",
        "points": 2, "schema_version": 3}})
    cell.outputs = verdict_outputs(verdict)
    assert determine_grade(cell)[0] == score == verdict["score"]
    text = cell.outputs[0]["text"]
    assert ("correct / 正解" in text) == (score == 2.0)
    if score == 0.0:
        assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("shares", [20, 7, 3])
def test_a_cell_split_into_many_shares_scores_exactly_its_points(shares):
    """1/20 twenty times is 1.0000000000000002 in floating point; nbgrader would refuse it."""
    items = [key_item(f"n{i}", "number", i, 1 / shares, cell="test_all") for i in range(shares)]
    answers = {f"n{i}": {"type": "json", "value": i} for i in range(shares)}
    cell = new_code_cell("", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "test_all",
        "points": 1, "schema_version": 3}})
    cell.outputs = verdict_outputs(decide({"items": items}, answers))
    assert determine_grade(cell)[0] == 1.0


def _exporting_course(root) -> Course:
    """A course whose test cell only exports square(3); the key says it must be 9."""
    notebook = source_notebook()
    notebook.cells[2].source = ("from grader.export import export_answer\n"
                                "export_answer('square_of_3', square(3))")
    return build_course(root, notebook)


#: Learner answers: the body of square(), or code that tries to get credit without it.
SUBMISSIONS = {
    "correct": "return x * x",
    "wrong": "return x + x",
    "always-equal": "class Nine(int):\n        __eq__ = lambda self, other: True\n"
                    "    return Nine(x + x)",
    "patched-check": "import grader.answers, grader.verdict\n"
                     "    grader.answers.assert_number = lambda *a, **k: None\n"
                     "    grader.verdict.CHECKS['number'] = lambda *a, **k: None\n"
                     "    return x + x",
    "fake-score": "import IPython.display as d, grader.export as e\n"
                  "    e.export_answer = lambda *a: d.display({'text/plain': '2.0'}, raw=True)\n"
                  "    return x + x",
    "raises": "raise RuntimeError('unfinished')",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, sandbox_users):
    """Grade every submission twice: without the key, then with it."""
    course = _exporting_course(tmp_path_factory.mktemp("trusted") / "course")
    for student, body in SUBMISSIONS.items():
        course.submit(student, body)
    without = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root)])
    assert without.exit_code == 0, without.output
    scores_without = course.scores()
    _write_key(course.root / "keys" / ASSIGNMENT / f"{ASSIGNMENT}.json",
               [key_item("square_of_3", "number", 9, 2, cell="test_square")])
    # No submission changed, but the key did: every submission is graded again.
    keyed = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root)])
    assert keyed.exit_code == 0, keyed.output
    assert "unchanged" not in keyed.output
    return course, scores_without, course.scores()


@pytest.mark.sandbox
@pytest.mark.slow
def test_without_a_key_exporting_tests_cannot_tell_right_from_wrong(graded):
    """The attack is real: an export-only test cell passes whatever the learner hands in."""
    _course, without, _with = graded
    assert without["wrong"] == without["correct"] == 2.0


@pytest.mark.sandbox
@pytest.mark.slow
def test_with_the_key_only_the_right_answer_scores(graded):
    """Patched checks, an always-equal object, a faked result: all score 0 by verdict."""
    _course, _without, scores = graded
    assert scores == {"correct": 2.0, "wrong": 0.0, "always-equal": 0.0, "patched-check": 0.0,
                      "fake-score": 0.0, "raises": 0.0}


@pytest.mark.sandbox
@pytest.mark.slow
def test_the_test_cell_shows_the_verdict_not_what_the_learner_printed(graded):
    course, _without, _with = graded
    test = course.autograded("fake-score")["cells"][2]
    assert [o["output_type"] for o in test["outputs"]] == ["stream", "execute_result"]
    assert "".join(test["outputs"][1]["data"]["text/plain"]) == "0.0"
    assert "square_of_3" in "".join(test["outputs"][0]["text"])
    correct = course.autograded("correct")["cells"][2]
    assert "correct / 正解" in "".join(correct["outputs"][0]["text"])


@pytest.mark.sandbox
@pytest.mark.slow
def test_a_key_that_does_not_fit_stops_the_run_before_grading(graded):
    course, _without, scores = graded
    key = course.root / "keys" / ASSIGNMENT / f"{ASSIGNMENT}.json"
    saved = key.read_text()
    try:
        _write_key(key, [key_item("square_of_3", "number", 9, 3, cell="test_square")])
        course.submit("late-comer", "return x * x")
        result = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root)])
        assert result.exit_code != 0
        assert "add up to 3 points; the cell is worth 2" in result.output
        assert course.scores() == scores  # nothing graded, nothing changed
    finally:
        key.write_text(saved)


#: Learner circuits for a Bell-state item whose key allows 30 qubits and 300 gates.
CIRCUITS = {
    "correct": "qc = QuantumCircuit(2)\n    qc.h(0)\n    qc.cx(0, 1)",
    # The reported attack: 22 qubits, 200 gates, about 25 s of state-vector simulation.
    "too-slow": "qc = QuantumCircuit(22)\n    for i in range(200):\n"
                "        qc.cx(i % 21, 21) if i % 2 else qc.h(i % 22)",
    # 30 qubits: a 16 GiB state vector.
    "too-much-memory": "qc = QuantumCircuit(30)\n    for i in range(30):\n        qc.h(i)",
    # Over the key's own limit: refused before anything simulates it.
    "too-wide": "qc = QuantumCircuit(31)\n    qc.h(0)",
}


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_verdict_over_its_limits_scores_0_and_the_batch_goes_on(tmp_path):
    """Slow, memory-hungry and oversized answers score 0, naming the limit; the rest is graded."""
    from qiskit import QuantumCircuit

    course = _exporting_course(tmp_path / "course")
    with (course.root / "nbgrader_config.py").open("a") as config:
        config.write("c.TrustedVerdict.timeout = 3\nc.TrustedVerdict.memory_mb = 2048\n")
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    _write_key(course.root / "keys" / ASSIGNMENT / f"{ASSIGNMENT}.json",
               [key_item("square_of_3", "state_close", bell, 2, cell="test_square",
                         limits={"qubits": 30, "gates": 300})])
    for student, body in CIRCUITS.items():
        course.submit(student, f"from qiskit import QuantumCircuit\n    {body}\n    return qc")
    result = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root),
                                        "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert course.scores() == {"correct": 2.0, "too-slow": 0.0, "too-much-memory": 0.0,
                               "too-wide": 0.0}

    def feedback(student: str) -> str:
        return "".join(course.autograded(student)["cells"][2]["outputs"][0]["text"])

    assert "took longer than 3 s (the grader's resource limit)" in feedback("too-slow")
    assert "more than 2048 MiB of memory (the grader's resource limit)" in \
        feedback("too-much-memory")
    assert "リソース制限" in feedback("too-slow") + feedback("too-much-memory")
    assert "at most 30 qubits" in feedback("too-wide") and "30 量子ビットまで" in feedback("too-wide")
