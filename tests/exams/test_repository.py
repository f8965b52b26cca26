"""The repository's item bank and catalog are valid, every key proved (code items run)."""

from __future__ import annotations

from collections import Counter

import pytest

from exams import forms
from exams.bank import render
from exams.validation import check

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report():
    return check()


def test_every_item_and_exam_is_valid(report):
    """Schema, framework, languages, keys for 25 seeds, code items, blueprint coverage."""
    assert report.problems == []
    assert len(report.items) >= 200
    assert {e.id for e in report.exams.values()} >= {
        "quantum-literacy", "quantum-programming-practitioner",
        "quantum-optimisation-practitioner", "quantum-security-practitioner",
        "quantum-business-practitioner"}


def test_every_exam_draws_forms_in_both_languages_without_keys(report):
    for exam in report.exams.values():
        for seed in range(20):
            slots = forms.draw(exam, report.items, seed)
            wanted = sum(r.items for p in exam.parts for r in p.blueprint) + \
                sum(len(p.tasks) for p in exam.parts)
            assert len(slots) == len({s.item for s in slots}) == wanted
            for slot in slots[:3]:
                for language in ("en", "ja"):
                    shown = render(report.items[slot.item], slot.seed, language)
                    assert "key" not in shown and "rationale" not in shown


def test_the_bank_mixes_difficulties_and_kinds(report):
    """No exam is all easy or all one kind of item (the authors' expected difficulty)."""
    levels = Counter(i.difficulty for i in report.items.values())
    assert all(levels[d] >= 0.1 * len(report.items) for d in ("easy", "medium", "hard")), levels
    assert sum(1 for i in report.items.values() if i.parameters) >= 0.2 * len(report.items)
