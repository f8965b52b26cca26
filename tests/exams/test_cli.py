"""``qcampus exam validate`` and ``qcampus exam form`` on a small bank and catalog."""

from __future__ import annotations

import json

from click.testing import CliRunner

from exams.cli import exam
from tests.exams.conftest import NUMERIC, exam_data, write_exam, write_item


def test_validate_prints_the_bank_and_exams_when_all_is_valid(tmp_path, small_bank):
    write_exam(tmp_path / "catalog", exam_data())
    result = CliRunner().invoke(exam, ["validate", "--bank", str(small_bank),
                                       "--catalog", str(tmp_path / "catalog")])
    assert result.exit_code == 0, result.output
    assert "concepts.qubits" in result.output and "3 items (1 numeric, 2 single); 1 parametrised" \
        in result.output
    assert "t-exam (A2): Part A: 1 items, 10 min; cut 600/1000 → foundations-a2" in result.output


def test_validate_lists_every_problem_and_exits_31(tmp_path, small_bank):
    write_item(small_bank, {**NUMERIC, "id": "t-bad", "parameters": "nope"})
    write_exam(tmp_path / "catalog", exam_data(achievement="nobody"))
    result = CliRunner().invoke(exam, ["validate", "--bank", str(small_bank),
                                       "--catalog", str(tmp_path / "catalog")])
    assert result.exit_code == 31
    assert "t-bad.yaml: parameters: there is no generator 'nope'" in result.output
    assert "'nobody' is not in courses/achievements.yaml" in result.output
    assert "2 problem(s)" in result.output and "2 件の問題" in result.output


def test_form_prints_what_a_candidate_sees_without_keys(tmp_path, small_bank):
    write_exam(tmp_path / "catalog", exam_data())
    args = ["form", "t-exam", "--seed", "7", "--language", "ja", "--bank", str(small_bank),
            "--catalog", str(tmp_path / "catalog")]
    result = CliRunner().invoke(exam, args)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["seed"] == 7 and len(shown["items"]) == 1
    assert "key" not in result.output and "rationale" not in result.output
    assert CliRunner().invoke(exam, args).output == result.output
    missing = CliRunner().invoke(exam, ["form", "nope", "--seed", "1", "--bank", str(small_bank),
                                        "--catalog", str(tmp_path / "catalog")])
    assert missing.exit_code == 31 and "There is no exam 'nope'; exams: t-exam" in missing.output
