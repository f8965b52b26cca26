"""Exam analysis proved on synthetic candidates whose abilities and items' parameters are known.

1,000 candidates with known abilities sit the Quantum Literacy exam through the
real code: each draws the form of its seed from the repository's bank and
catalog, answers each item right with the two-parameter probability of its
true (a, b) — the key, or a wrong answer of the item's kind — and the answers
are scored and analysed as an examiner's would be.
"""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytest
from scipy.stats import spearmanr

from exams import analysis, bank, catalog, forms, irt
from qcampus import framework
from tests.exams.conftest import COURSES

pytestmark = pytest.mark.slow

EXAM = "quantum-literacy"
CANDIDATES = 1000


def answer(item, seed: int, right: bool, rng: random.Random):
    """Return a response to *item* (drawn with *seed*) that is right or wrong as asked."""
    key = bank.key_for(item, seed)
    if item.type == "single":
        return key if right else rng.choice([o["id"] for o in item.options if o["id"] != key])
    if item.type == "multiple":
        return list(key) if right else list(key)[:-1] or [o["id"] for o in item.options
                                                          if o["id"] not in key][:1]
    if item.type == "ordering":
        return list(key) if right else list(reversed(key))
    if item.type == "matching":
        if right:
            return dict(key)
        lefts = sorted(key)
        wrong = dict(key)
        wrong[lefts[0]], wrong[lefts[1]] = key[lefts[1]], key[lefts[0]]
        if wrong == key:  # two entries matched to the same right entry
            wrong[lefts[0]] = next(o["id"] for o in item.right if o["id"] != key[lefts[0]])
        return wrong
    value, tolerance = key["value"], key.get("tolerance", 0)
    if key.get("relative"):
        tolerance *= abs(value)
    return value if right else value + 10 * tolerance + abs(value) + 1


@pytest.fixture(scope="module")
def sitting():
    """Return the exam, the bank, true item parameters, true abilities and the attempts."""
    items = bank.require(None, framework.load(COURSES / "framework.yaml"))
    exam = catalog.load()[0][EXAM]
    pool = sorted({i.id for row in exam.part("A").blueprint for i in catalog.pool_of(items, row)})
    rng = random.Random(2026)
    centre = {"easy": -1.0, "medium": 0.0, "hard": 1.0}
    truth = {i: (rng.uniform(0.8, 2.2), centre[items[i].difficulty] + rng.gauss(0, 0.6))
             for i in pool}
    abilities = [rng.gauss(0, 1) for _ in range(CANDIDATES)]
    attempts = []
    for candidate, theta in enumerate(abilities):
        seed = 10_000 + candidate
        answers = {}
        for slot in forms.draw(exam, items, seed):
            a, b = truth[slot.item]
            right = rng.random() < 1 / (1 + math.exp(-a * (theta - b)))
            answers[slot.item] = answer(items[slot.item], slot.seed, right, rng)
        attempts.append({"candidate": f"c{candidate}", "language": "ja" if candidate % 2 else "en",
                         "seed": seed, "answers": answers})
    return exam, items, truth, np.array(abilities), attempts


def test_difficulty_is_recovered_and_pass_fail_follows_true_ability(sitting):
    """Calibrated b ranks items as the truth does (ρ ≥ 0.8); IRT pass/fail agrees for ≥ 90 %.

    Scored as calibrated forms are (``irt-2pl``: the form's own items' difficulty counts);
    first forms are scored linearly, which this checks too, more loosely (forms differ).
    """
    exam, items, truth, abilities, attempts = sitting
    linear = analysis.analyse(exam, items, attempts)
    calibrated = dataclasses.replace(exam, scoring={**exam.scoring, "method": "irt-2pl"})
    result = analysis.analyse(calibrated, items, attempts)
    recovered = {s.item: s.irt_b for s in result.items}
    common = sorted(recovered)
    rho = spearmanr([truth[i][1] for i in common], [recovered[i] for i in common]).statistic
    assert rho >= 0.8, rho
    a_true = np.array([truth[i][0] for i in common])
    b_true = np.array([truth[i][1] for i in common])
    share = exam.scoring["cut_score"] / exam.scoring["scale"]
    cut = irt.theta_for_fraction(share, a_true, b_true)
    agreement = float(np.mean(result.passed == (abilities >= cut)))
    assert agreement >= 0.9, agreement
    assert float(np.mean(linear.passed == (abilities >= cut))) >= 0.85
    assert 0.5 < result.marginal_reliability < 1
    assert len(result.form_difficulty) == len(analysis.FORM_SEEDS)


def test_a_wrong_key_and_a_translation_problem_are_flagged(sitting, tmp_path):
    """An item answered 'right' at random is flagged; one harder in Japanese shows DIF."""
    exam, items, truth, abilities, attempts = sitting
    pool = sorted(truth)
    noisy, unfair = pool[0], pool[1]
    rng = random.Random(7)
    changed = []
    for attempt, theta in zip(attempts, abilities, strict=True):
        answers = dict(attempt["answers"])
        for slot in forms.draw(exam, items, attempt["seed"]):
            if slot.item == noisy:  # as if the key were wrong: right by chance only
                answers[noisy] = answer(items[noisy], slot.seed, rng.random() < 0.5, rng)
            if slot.item == unfair and attempt["language"] == "ja":
                a, b = truth[unfair]
                p = 1 / (1 + math.exp(-a * (theta - (b + 1.5))))
                answers[unfair] = answer(items[unfair], slot.seed, rng.random() < p, rng)
        changed.append({**attempt, "answers": answers})
    result = {s.item: s for s in analysis.analyse(exam, items, changed).items}
    assert any("low discrimination" in f for f in result[noisy].flags), result[noisy]
    assert any("DIF: harder for Japanese" in f for f in result[unfair].flags), result[unfair]
    clean = [s for s in result.values() if s.item not in (noisy, unfair)]
    assert sum(any("DIF" in f for f in s.flags) for s in clean) <= 0.1 * len(clean)


def test_the_report_is_written_and_a_bad_attempts_file_is_refused(sitting, tmp_path):
    exam, items, _, _, attempts = sitting
    import json

    from click.testing import CliRunner

    from exams.cli import exam as exam_command

    responses = tmp_path / "attempts.jsonl"
    responses.write_text("\n".join(json.dumps(a) for a in attempts[:300]) + "\n")
    result = CliRunner().invoke(exam_command, ["analyze", EXAM, "--responses", str(responses),
                                               "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report" / "report.html").read_text()
    assert "Marginal reliability" in page and "data:image/png;base64," in page
    rows = (tmp_path / "report" / "items.csv").read_text().splitlines()
    assert rows[0].startswith("item,competency") and len(rows) > 20
    responses.write_text('{"candidate": "x"}\n')
    refused = CliRunner().invoke(exam_command, ["analyze", EXAM, "--responses", str(responses),
                                                "--out", str(tmp_path / "other")])
    assert refused.exit_code != 0 and "attempts.jsonl:1: not an attempt" in refused.output
    assert not (tmp_path / "other").exists()
