"""``qcampus exam validate``, ``form``, ``close`` and ``export`` on a small bank and catalog."""

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


def test_close_scores_attempts_whose_time_is_up_and_export_feeds_analyze(tmp_path, small_bank):
    """`close` submits an expired attempt with its saved answers; `export` writes it for analyze."""
    from datetime import UTC, datetime, timedelta

    from exams import analysis, attempts, bank, catalog, forms
    from exams.cli import exam as exam_cli
    from exams.db import open_engine
    from exams.models import Attempt
    from qcampus import settings as settings_module
    from qcampus.database import write_session
    from tests.exams.conftest import exam_data, write_exam

    home = tmp_path / "home"
    home.mkdir()
    (home / settings_module.SETTINGS_FILE).write_text(settings_module.dump(settings_module.merge({})))
    write_exam(tmp_path / "catalog", exam_data())
    exam = catalog.load(tmp_path / "catalog")[0]["t-exam"]
    items = bank.load(small_bank)[0]
    engine = open_engine(settings_module.load(home, {}).exams_database_url)
    past = datetime.now(UTC) - timedelta(hours=1)
    with write_session(engine) as session:
        running = attempts.start(session, exam, "ada", "en", past)
        item = next(s.item for s in forms.draw(exam, items, running.seed))
        attempts.save(session, running.id, "ada", exam, items, item, "b", past)
        late = attempts.start(session, exam, "bob", "ja", datetime.now(UTC))
    places = ["--bank", str(small_bank), "--catalog", str(tmp_path / "catalog"), "--home", str(home)]
    closed = CliRunner().invoke(exam_cli, ["close", *places])
    assert closed.exit_code == 0 and f"closed 1 attempt(s): {running.id}" in closed.output
    with write_session(engine) as session:
        assert session.get(Attempt, running.id).submitted_by == "deadline"
        assert session.get(Attempt, late.id).state == "active"
    engine.dispose()
    out = tmp_path / "t-exam.jsonl"
    exported = CliRunner().invoke(exam_cli, ["export", "t-exam", "--home", str(home), "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    [row] = analysis.read_attempts(out)
    assert row == {"candidate": "ada", "language": "en", "seed": running.seed, "answers": {item: "b"}}
    assert out.stat().st_mode & 0o777 == 0o600
    none = CliRunner().invoke(exam_cli, ["export", "other", "--home", str(home), "--out", str(out)])
    assert none.exit_code == 31 and "no scored attempts" in none.output


def test_prepare_makes_the_part_b_tasks_once(tmp_path, small_bank):
    """`prepare` makes every task of the exams' pools before anyone starts; then nothing again."""
    from qcampus import settings as settings_module
    from submissions.exchange import deployment as exchange_deployment
    from tests.exams.conftest import CODE

    exports = [{"answer": "double-3", "expression": "double(3)", "check": "number"}]
    for suffix in ("", "-2", "-3"):
        write_item(small_bank, {**CODE, "id": f"t-code{suffix}",
                                "code": {**CODE["code"], "exports": exports}})
    practical = exam_data(id="t-practical")
    practical["parts"].append({"id": "B", "kind": "tasks", "title": {"en": "Practice", "ja": "実技"},
                               "minutes": 30, "tasks": [{"pool": ["t-code", "t-code-2", "t-code-3"]}]})
    write_exam(tmp_path / "catalog", practical)
    home = tmp_path / "home"
    home.mkdir()
    (home / settings_module.SETTINGS_FILE).write_text(settings_module.dump(settings_module.merge({})))
    exchange_deployment.init(settings_module.load(home, {}))
    places = ["--bank", str(small_bank), "--catalog", str(tmp_path / "catalog"), "--home", str(home)]
    made = CliRunner().invoke(exam, ["prepare", "t-practical", *places])
    assert made.exit_code == 0, made.output
    assert "3 task(s); made now: t-code, t-code-2, t-code-3" in made.output
    again = CliRunner().invoke(exam, ["prepare", *places])
    assert "made now: none, all were ready" in again.output
    unknown = CliRunner().invoke(exam, ["prepare", "nope", *places])
    assert unknown.exit_code == 31 and "Unknown exam(s) nope" in unknown.output
