"""Tests of grader.export and grader.verdict on exported JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import dimod
import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import QFTGate
from qiskit.quantum_info import Operator

from grader.errors import AnswerFormatError, ExportError
from grader.export import MAX_ANSWER_BYTES, MIME, answer_bundle, collect_answers, encode_answer
from grader.verdict import decide, decode, key_item


def _exported(value):
    return json.loads(json.dumps(encode_answer(value)))


def test_circuit_round_trip_keeps_the_unitary_and_phase():
    """A circuit with composite gates and a global phase decodes to the same unitary."""
    circuit = QuantumCircuit(3, global_phase=0.7)
    circuit.append(QFTGate(3), [0, 1, 2])
    circuit.unitary(np.array([[0, 1], [1, 0]]), [1])
    circuit.ryy(0.3, 0, 2)
    decoded = decode(_exported(circuit))
    np.testing.assert_allclose(Operator(decoded).data, Operator(circuit).data, atol=1e-9)


def test_bqm_and_sampleset_round_trip(small_bqm):
    """A BQM decodes equal; a sample set's energies are recomputed from the key's model."""
    assert decode(_exported(small_bqm)).is_almost_equal(small_bqm)
    sampleset = dimod.ExactSolver().sample(small_bqm)
    forged = _exported(sampleset)
    forged["energies"] = [-1e9] * len(sampleset)
    decoded = decode(forged, small_bqm)
    assert decoded.first.energy == pytest.approx(dimod.ExactSolver().sample(small_bqm).first.energy)


@pytest.mark.parametrize("statement", [
    'include "/etc/passwd"',
    "gate evil q { x q; }",
    "for int i in [0:1000000] { x q[0]; }",
    "input float theta",
])
def test_unexpected_openqasm_is_refused_before_parsing(statement):
    """OpenQASM statements the exporter never writes are refused."""
    payload = {"type": "circuit", "global_phase": 0.0,
               "qasm": f'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\n{statement};\n'}
    with pytest.raises(AnswerFormatError):
        decode(payload)


def test_pickle_like_and_oversized_payloads_are_refused():
    """Unknown answer types and byte-encoded models are refused."""
    with pytest.raises(AnswerFormatError):
        decode({"type": "pickle", "data": "gASVAAAA"})
    with pytest.raises(AnswerFormatError):
        decode({"type": "bqm", "model": {"use_bytes": True}})
    with pytest.raises(ExportError):
        answer_bundle("big", list(range(MAX_ANSWER_BYTES)))


def test_collect_reads_only_test_cells_and_marks_duplicates(bell):
    """Answers outside the named test cells are ignored; a repeated name is a conflict."""
    bundle = answer_bundle("bell", bell)
    output = {"output_type": "display_data", "data": bundle, "metadata": {}}
    notebook = {"cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [output]},
        {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "t1"}},
         "outputs": [output, output]},
    ]}
    assert collect_answers(notebook) == {"bell": {"type": "conflict"}}
    assert collect_answers(notebook, grade_ids=[]) == {}
    with pytest.raises(AnswerFormatError, match="more than once"):
        decode(collect_answers(notebook, grade_ids=["t1"])["bell"])


def test_decide_awards_points_and_feedback(bell, small_bqm):
    """Right answers earn their points; a wrong one earns 0 with bilingual feedback."""
    key = {"items": [key_item("bell", "circuit_equivalent", bell, 2),
                     key_item("model", "bqm_equivalent", small_bqm, 1),
                     key_item("freq", "number", 5.0, 1, unit="GHz"),
                     key_item("missing", "answer", [1, 2], 1)]}
    answers = {"bell": _exported(bell), "model": _exported(small_bqm.spin),
               "freq": _exported("5 MHz")}
    verdict = decide(key, answers)
    assert [item["points"] for item in verdict["items"]] == [2, 1, 0, 0]
    assert verdict["score"] == 3 and verdict["max_score"] == 5
    assert "単位" in verdict["items"][2]["feedback"]["ja"]
    assert "No answer named 'missing'" in verdict["items"][3]["feedback"]["en"]


def test_resource_bands_give_partial_points_in_the_verdict():
    """A resource band in the key gives partial points."""
    circuit = QuantumCircuit(3)
    circuit.ccx(0, 1, 2)
    key = {"items": [key_item("c", "resources", circuit, 4, basis_gates=["h", "t", "tdg", "cx"],
                              bands={"two_qubit_gates": [[4, 1.0], [8, 0.5]]})]}
    verdict = decide(key, {"c": _exported(circuit)})
    assert verdict["score"] == 2


def test_verdict_command_reads_json_files(tmp_path, bell):
    """python -I -m grader.verdict prints the verdict of a key on answers."""
    (tmp_path / "key.json").write_text(json.dumps(
        {"items": [key_item("bell", "circuit_equivalent", bell, 2)]}))
    (tmp_path / "answers.json").write_text(json.dumps({"bell": _exported(bell)}))
    done = subprocess.run([sys.executable, "-I", "-m", "grader.verdict", "key.json",
                           "answers.json"], cwd=tmp_path, capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout)["score"] == 2


def test_bundle_has_plain_text_and_the_answer_mime(bell):
    """The display bundle carries the answer JSON and a bilingual plain-text note."""
    bundle = answer_bundle("bell", bell)
    assert bundle[MIME]["name"] == "bell"
    assert "採点" in bundle["text/plain"]


def test_measured_circuit_is_graded_as_a_distribution(bell):
    """A measured circuit exports with its measurements and is sampled by the verdict."""
    measured = bell.measure_all(inplace=False)
    uniform = QuantumCircuit(2)
    uniform.h([0, 1])
    key = {"items": [key_item("counts", "distribution", {"00": 0.5, "11": 0.5}, 1)]}
    assert decide(key, {"counts": _exported(measured)})["score"] == 1
    assert decide(key, {"counts": _exported(uniform.measure_all(inplace=False))})["score"] == 0


def test_json_of_the_wrong_shape_scores_zero_and_key_errors_stop(small_bqm):
    """A number where a sample belongs earns 0 with feedback naming both; a bad key raises."""
    from grader.errors import InvalidCheckError

    key = {"items": [key_item("best", "optimal", small_bqm, 1)]}
    verdict = decide(key, {"best": {"type": "json", "value": 42}})
    feedback = verdict["items"][0]["feedback"]
    assert verdict["score"] == 0 and "Expected a sample" in feedback["en"] and "int 42" in feedback["en"]
    assert "サンプル" in feedback["ja"]
    bad_key = {"items": [key_item("x", "state_close", [1, 0], 1, min_fidelity=2)]}
    with pytest.raises(InvalidCheckError):
        decide(bad_key, {"x": _exported([1, 0])})


def test_numpy_values_export_as_json():
    """NumPy scalars, arrays of text and arrays inside dicts export instead of raising."""
    import numpy as np

    assert encode_answer(np.int64(3)) == {"type": "json", "value": 3}
    assert encode_answer(np.array(["a", "b"])) == {"type": "json", "value": ["a", "b"]}
    assert encode_answer({"p": np.array([0.5, 0.5])}) == {"type": "json", "value": {"p": [0.5, 0.5]}}


@pytest.mark.parametrize(("value", "named"), [(print, "builtin_function_or_method"),
                                              (float("nan"), "nan")])
def test_unexportable_answers_say_what_to_do_in_both_languages(value, named):
    """A value with no JSON form raises ExportError naming it, in English and Japanese."""
    with pytest.raises(ExportError, match=named) as error:
        answer_bundle("x", value)
    assert "解答" in str(error.value)
