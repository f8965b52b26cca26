"""Draw a candidate's form from an exam's blueprint with a recorded seed.

The same exam and seed always give the same form, so a form is stored as its
seed and redrawn, never kept as a copy that could drift from the bank. Each
item on a form has its own seed (for its parameters) derived from the form's,
so two candidates rarely see the same numbers either.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from exams.bank import Item
from exams.catalog import Exam, pool_of


@dataclass(frozen=True)
class Slot:
    """One place on a form: the item, the seed its parameters are drawn with, and its part."""

    part: str
    item: str
    seed: int


def item_seed(form_seed: int, item_id: str) -> int:
    """Return the seed of *item_id*'s parameters on the form drawn with *form_seed*."""
    digest = hashlib.sha256(f"{form_seed}:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def draw(exam: Exam, items: dict[str, Item], seed: int) -> list[Slot]:
    """Return the form of *exam* for *seed*: Part A rows in blueprint order, then Part B tasks.

    Items within a part are shuffled, so the blueprint's order of competencies does not
    give away what the next item is about.
    """
    rng = random.Random(f"{exam.id}:{seed}")
    slots = []
    for part in exam.parts:
        chosen: list[str] = []
        for row in part.blueprint:
            chosen += [item.id for item in rng.sample(pool_of(items, row), row.items)]
        rng.shuffle(chosen)
        chosen += [rng.choice(sorted(pool)) for pool in part.tasks]
        slots += [Slot(part.id, item_id, item_seed(seed, item_id)) for item_id in chosen]
    return slots
