"""The exam catalog: one YAML file per exam in ``courses/exams/catalog/``, checked with the bank.

An exam's blueprint says how many items of each competency and level a form
draws; the bank must hold three times as many for each row, so forms differ
between candidates and a retake meets mostly new items. Part B tasks each
draw one code item from a pool of at least three.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exams.bank import Item, read_checked
from exams.errors import BankError
from qcampus.framework import Framework, FrameworkError, courses_dir

#: Items the bank needs per item a blueprint row draws.
BANK_FACTOR = 3


@dataclass(frozen=True)
class Row:
    """One blueprint row: *items* items of *competency* at *level*."""

    competency: str
    level: str
    items: int


@dataclass(frozen=True)
class Part:
    """Part A (items in the page) or Part B (code tasks in notebooks)."""

    id: str
    kind: str
    title: dict[str, str]
    minutes: int
    blueprint: tuple[Row, ...] = ()
    tasks: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Exam:
    """One certification exam as its catalog file says (``exams/schemas/exam.schema.yaml``)."""

    id: str
    title: dict[str, str]
    level: str
    audience: dict[str, str]
    achievement: str
    parts: tuple[Part, ...]
    scoring: dict[str, Any]
    standard_setting: dict[str, Any]
    retake: dict[str, int]
    path: Path

    def part(self, part_id: str) -> Part:
        """Return the part *part_id* (A or B)."""
        for part in self.parts:
            if part.id == part_id:
                return part
        raise BankError(f"{self.id} has no part {part_id}; it has "
                        f"{', '.join(p.id for p in self.parts)}.")

    @property
    def minutes(self) -> int:
        """Return the time of all parts together."""
        return sum(part.minutes for part in self.parts)


def read(path: Path) -> tuple[Exam | None, list[str]]:
    """Read the exam file at *path*; return the exam (None if unusable) and its problems."""
    data, found = read_checked(path, "exam")
    if data is None:
        return None, found
    parts = []
    for index, part in enumerate(data["parts"]):
        need = "blueprint" if part["kind"] == "items" else "tasks"
        other = "tasks" if need == "blueprint" else "blueprint"
        if need not in part or other in part:
            found.append(f"{path}: parts[{index}]: a part of kind {part['kind']} has a {need} "
                         f"and no {other}.")
            continue
        parts.append(Part(id=part["id"], kind=part["kind"], title=part["title"],
                          minutes=part["minutes"],
                          blueprint=tuple(Row(**row) for row in part.get("blueprint", ())),
                          tasks=tuple(tuple(task["pool"]) for task in part.get("tasks", ()))))
    ids = [p["id"] for p in data["parts"]]
    if len(ids) != len(set(ids)):
        found.append(f"{path}: parts: two parts share an id.")
    if found:
        return None, found
    return Exam(**{**data, "parts": tuple(parts), "path": path}), []


def default_catalog() -> Path:
    """Return the exam catalog of the courses directory (next to the bank)."""
    return courses_dir() / "exams" / "catalog"


def load(catalog: Path | None = None) -> tuple[dict[str, Exam], list[str]]:
    """Read every exam of *catalog* (default: :func:`default_catalog`); return them and problems."""
    catalog = catalog or default_catalog()
    exams, found = {}, []
    for path in sorted(catalog.glob("*.yaml")):
        exam, more = read(path)
        found += more
        if exam is not None:
            exams[exam.id] = exam
    return exams, found


def exam_problems(exam: Exam, items: dict[str, Item], framework: Framework | None,
                  achievements: set[str] | None) -> list[str]:
    """Return what keeps *exam* from drawing forms from *items*, or from leading anywhere."""
    where = str(exam.path)
    found = []
    if achievements is not None and exam.achievement not in achievements:
        found.append(f"{where}: achievement: {exam.achievement!r} is not in "
                     f"courses/achievements.yaml ({', '.join(sorted(achievements))}).")
    scoring = exam.scoring
    if not scoring["part_minimum"] <= scoring["cut_score"] <= scoring["scale"]:
        found.append(f"{where}: scoring: needs part_minimum ≤ cut_score ≤ scale.")
    for part in exam.parts:
        for index, row in enumerate(part.blueprint):
            field = f"parts[{part.id}].blueprint[{index}]"
            if framework is not None:
                try:
                    framework.check_reference(row.competency, row.level, where=f"{where}: {field}")
                except FrameworkError as exc:
                    found.append(exc.message)
            pool = pool_of(items, row)
            if len(pool) < BANK_FACTOR * row.items:
                found.append(f"{where}: {field}: draws {row.items} {row.competency} items at "
                             f"{row.level}; the bank has {len(pool)}, needs "
                             f"{BANK_FACTOR * row.items}.")
        for index, pool in enumerate(part.tasks):
            for item_id in pool:
                item = items.get(item_id)
                if item is None or item.type != "code":
                    found.append(f"{where}: parts[{part.id}].tasks[{index}]: {item_id!r} is not "
                                 "a code item of the bank.")
    return found


def pool_of(items: dict[str, Item], row: Row) -> list[Item]:
    """Return the bank's Part A items a blueprint row draws from (code items are Part B's)."""
    return sorted((item for item in items.values() if item.competency == row.competency
                   and item.level == row.level and item.type != "code"), key=lambda i: i.id)
