"""Score a candidate's response to a Part A item against its key, on the server.

Responses arrive as JSON from the exam page: an option id, a list of option
ids, a mapping, or a number typed by hand (full-width digits, a decimal comma
and spaces are read as the candidate meant them). Every item is scored all or
nothing: a multiple-choice item needs every right option and no other.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from exams.bank import Item, key_for

#: Digits grouped by thousands, the first group not 0: 1,250,000 or 12,500.75.
THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d*)?$")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_number(text: Any) -> float | None:
    """Return the number a candidate typed, or None if it is not one."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text) if math.isfinite(text) else None
    if not isinstance(text, str):
        return None
    cleaned = unicodedata.normalize("NFKC", text).strip().replace(" ", "").replace("−", "-")
    if THOUSANDS.match(cleaned):
        cleaned = cleaned.replace(",", "")  # thousands separators: 1,250,000
    elif cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")  # a decimal comma: 0,25 or 0,750
    if not NUMBER.match(cleaned):
        return None
    value = float(cleaned)
    return value if math.isfinite(value) else None


def correct(item: Item, seed: int, response: Any) -> bool:
    """Return True when *response* answers *item* (drawn with *seed*) exactly as its key."""
    key = key_for(item, seed)
    if item.type == "single":
        return isinstance(response, str) and response == key
    if item.type == "multiple":
        return isinstance(response, list) and all(isinstance(r, str) for r in response) \
            and len(set(response)) == len(response) and set(response) == set(key)
    if item.type == "ordering":
        return isinstance(response, list) and response == list(key)
    if item.type == "matching":
        return isinstance(response, dict) and response == dict(key)
    if item.type == "numeric":
        value = parse_number(response)
        if value is None:
            return False
        tolerance = key.get("tolerance", 0)
        if key.get("relative"):
            tolerance *= abs(key["value"])
        return abs(value - key["value"]) <= tolerance + 1e-12
    raise ValueError(f"{item.id}: a {item.type} item is not scored in the page")


def points(item: Item, seed: int, response: Any) -> float:
    """Return the points *response* earns on *item* (0 or the item's points)."""
    return float(item.points) if response is not None and correct(item, seed, response) else 0.0
