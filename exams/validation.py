"""Check the item bank and the exam catalog whole, as ``qcampus exam validate`` does.

Every problem is collected with its file and field: each item's schema,
framework reference, languages and key (computed keys for many seeds, code
items run), then each exam's achievement and blueprint coverage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from exams import bank, catalog, codeitems
from exams.bank import Item
from exams.catalog import Exam
from qcampus import framework as framework_mod
from qcampus import schemas
from qcampus.framework import FrameworkError


@dataclass
class Report:
    """What validation found: the items and exams that could be read, and every problem."""

    items: dict[str, Item] = field(default_factory=dict)
    exams: dict[str, Exam] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def achievement_ids(courses: Path) -> set[str]:
    """Return the ids of ``courses/achievements.yaml`` (what a pass can be certified as)."""
    data = schemas.read_yaml(courses / "achievements.yaml") or {}
    return {entry["id"] for entry in data.get("achievements", []) if "id" in entry}


def check(bank_dir: Path | None = None, catalog_dir: Path | None = None,
          courses: Path | None = None, *, run_code: bool = True) -> Report:
    """Check *bank_dir* and *catalog_dir* against the framework in *courses*.

    Args:
        courses: The courses directory (framework, achievements); default the checkout's.
        run_code: Run every code item's solution and stub (seconds per item).
    """
    report = Report()
    courses = courses or framework_mod.courses_dir()
    bank_dir = bank_dir or courses / "exams" / "bank"
    catalog_dir = catalog_dir or courses / "exams" / "catalog"
    framework = achievements = None
    try:
        framework = framework_mod.load(courses / "framework.yaml")
    except FrameworkError as exc:
        report.problems += exc.message.splitlines()
    try:
        achievements = achievement_ids(courses)
    except OSError as exc:
        report.problems.append(f"{courses / 'achievements.yaml'}: cannot be read: {exc}")
    report.items, found = bank.load(bank_dir, framework)
    report.problems += found
    # Keys are proved only for items whose form is right (a wrong one is listed already).
    report.problems += bank.prove_keys(i for i in report.items.values()
                                       if not any(str(i.path) in p for p in found))
    if run_code:
        report.problems += codeitems.prove(report.items.values())
    report.exams, found = catalog.load(catalog_dir)
    report.problems += found
    for exam in report.exams.values():
        report.problems += catalog.exam_problems(exam, report.items, framework, achievements)
    return report
