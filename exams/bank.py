"""The item bank: one YAML file per item in ``courses/exams/bank/<domain>/``, loaded and checked.

The bank holds keys and rationales, so it lives in the course sources, which
``qcampus init`` closes to learners (root and the instructors' group only), never
in this package, which every learner's kernel can read.

:func:`load` reads every item and lists every problem with its file and field
(schema, framework reference, language, key against options, parametrised keys
for many seeds) so an author fixes them in one pass. :func:`render` turns an
item into what a candidate sees for a seed — never the key, the rationale or
the checks — and :func:`key_for` gives the key the response is scored against.
"""

from __future__ import annotations

import importlib
import json
import random
import re
import string
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from exams.errors import BankError
from exams.generators import registry
from qcampus import schemas
from qcampus.framework import Framework, FrameworkError, courses_dir

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"
#: Seeds every parametrised item is rendered and checked with by ``qcampus exam validate``.
CHECKED_SEEDS = range(25)
CHOICE_TYPES = ("single", "multiple", "ordering")
#: Hiragana, katakana and CJK ideographs: Japanese text contains at least one.
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


@dataclass(frozen=True)
class Item:
    """One bank item as its file says (see ``exams/schemas/item.schema.yaml``)."""

    id: str
    type: str
    competency: str
    level: str
    difficulty: str
    prompt: dict[str, str]
    rationale: dict[str, str]
    path: Path
    key: Any = None
    options: tuple[dict[str, str], ...] = ()
    left: tuple[dict[str, str], ...] = ()
    right: tuple[dict[str, str], ...] = ()
    unit: str = ""
    parameters: str = ""
    code: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def points(self) -> int:
        """Return the item's points: 1, or a code task's own."""
        return int(self.code.get("points", 1)) if self.type == "code" else 1


def read_checked(path: Path, kind: str) -> tuple[dict[str, Any] | None, list[str]]:
    """Read a bank or catalog file: YAML, its ``<kind>`` schema, and its id as its file name.

    Returns the data (None if unusable) and the problems found.
    """
    try:
        data = schemas.read_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        return None, [f"{path}: cannot be read as YAML: {exc}"]
    found = schemas.problems(data, kind, str(path), SCHEMAS)
    if found:
        return None, found
    if data["id"] != path.stem:
        return None, [f"{path}: id: {data['id']!r} differs from the file name; name the file "
                      f"{data['id']}.yaml or change the id."]
    return data, []


def read(path: Path) -> tuple[Item | None, list[str]]:
    """Read the item file at *path*; return the item (None if unusable) and its schema problems."""
    data, found = read_checked(path, "item")
    if data is None:
        return None, found
    data = {**data, "path": path}
    for name in ("options", "left", "right"):
        if name in data:
            data[name] = tuple(data[name])
    return Item(**data), []


def key_for(item: Item, seed: int) -> Any:
    """Return the key of *item* for the candidate seed *seed* (a parametrised item's is computed)."""
    if item.parameters:
        generator = registry()[item.parameters]
        return generator.key(generator.draw(random.Random(seed)))
    return item.key


def parameters_for(item: Item, seed: int) -> dict[str, Any]:
    """Return the parameters *item* is shown with for *seed* ({} when it has none)."""
    if not item.parameters:
        return {}
    return registry()[item.parameters].draw(random.Random(seed))


def render(item: Item, seed: int, language: str) -> dict[str, Any]:
    """Return what a candidate sees of *item* in *language*: prompt, options, unit; no key.

    Ordering items list their options in an order drawn from *seed* (never the key's), and
    matching items their right-hand entries.
    """
    params = parameters_for(item, seed)
    shown: dict[str, Any] = {"id": item.id, "type": item.type,
                             "prompt": _fill(item.prompt[language], params), "unit": item.unit}
    options = [{"id": o["id"], "text": _fill(o[language], params)} for o in item.options]
    if item.type == "ordering":
        rng = random.Random(f"{seed}:{item.id}:order")
        while len(options) > 1 and [o["id"] for o in options] == list(key_for(item, seed)):
            rng.shuffle(options)
    if options:
        shown["options"] = options
    if item.type == "matching":
        shown["left"] = [{"id": o["id"], "text": _fill(o[language], params)} for o in item.left]
        right = [{"id": o["id"], "text": _fill(o[language], params)} for o in item.right]
        # Shuffled per candidate, so no author's order sets a partner level with its entry.
        random.Random(f"{seed}:{item.id}:right").shuffle(right)
        shown["right"] = right
    if item.type == "code":
        shown["setup"] = _fill(item.code.get("setup", ""), params)
        shown["stub"] = _fill(item.code["stub"], params)
    return shown


def _fill(text: str, params: dict[str, Any]) -> str:
    """Put *params* into *text*'s ``{name}`` fields; LaTeX braces are written ``{{`` ``}}``."""
    return text.format(**params) if params else text


def default_bank() -> Path:
    """Return the item bank of the courses directory (the checkout's, else ``courses.source``)."""
    return courses_dir() / "exams" / "bank"


def load(bank: Path | None = None,
         framework: Framework | None = None) -> tuple[dict[str, Item], list[str]]:
    """Read every item of *bank* (default: :func:`default_bank`); return them by id and problems.

    With *framework*, each item's competency and level must be described there.
    """
    bank = bank or default_bank()
    items: dict[str, Item] = {}
    found: list[str] = []
    for path in sorted(bank.glob("*/*.yaml")):
        item, more = read(path)
        found += more
        if item is None:
            continue
        if item.id in items:
            found.append(f"{path}: id: {item.id!r} is also the id of {items[item.id].path}.")
            continue
        items[item.id] = item
        found += item_problems(item, framework)
    stray = sorted(p for p in bank.glob("*.yaml")) + sorted(bank.glob("*/*/*.yaml"))
    found += [f"{p}: items live one level down, in the bank's <domain>/<id>.yaml." for p in stray]
    return items, found


def item_problems(item: Item, framework: Framework | None) -> list[str]:
    """Return the problems of one schema-valid item beyond its schema."""
    where = str(item.path)
    found = []
    if framework is not None:
        try:
            framework.check_reference(item.competency, item.level, where=f"{where}: competency")
        except FrameworkError as exc:
            found.append(exc.message)
    domain = item.competency.split(".")[0]
    if item.path.parent.name != domain:
        found.append(f"{where}: lives in {item.path.parent.name}/ but measures {item.competency}; "
                     f"move it to the bank's {domain}/.")
    found += _language_problems(item)
    found += _shape_problems(item)
    if found or item.type == "code":
        return found
    if item.parameters:
        return _generated_problems(item, prove=False)
    return [f"{where}: key: {p}" for p in key_problems(item, item.key)]


def _language_problems(item: Item) -> list[str]:
    where = str(item.path)
    found = []
    texts = [("prompt", item.prompt), ("rationale", item.rationale)]
    texts += [(f"{kind}[{o['id']}]", o) for kind in ("options", "left", "right")
              for o in getattr(item, kind)]
    for name, text in texts:
        if text["en"] != text["ja"] and not JAPANESE.search(text["ja"]):
            found.append(f"{where}: {name}.ja has no Japanese text; write it in Japanese (text the "
                         "same in both languages, such as a formula, may be copied).")
        if JAPANESE.search(text["en"]):
            found.append(f"{where}: {name}.en contains Japanese; the English text is English only.")
    if not JAPANESE.search(item.prompt["ja"]):
        found.append(f"{where}: prompt.ja has no Japanese text.")
    return found


def _shape_problems(item: Item) -> list[str]:
    """Check that the item has the fields its type needs, and only those."""
    where = str(item.path)
    needs = {"single": {"options", "key"}, "multiple": {"options", "key"},
             "ordering": {"options", "key"}, "matching": {"left", "right", "key"},
             "numeric": {"key"}, "code": {"code"}}[item.type]
    has = {name for name in ("options", "left", "right", "key", "code")
           if getattr(item, name) not in (None, (), {}, "")}
    found = [f"{where}: {name}: a {item.type} item needs it." for name in sorted(needs - has)]
    found += [f"{where}: {name}: a {item.type} item has none; remove it."
              for name in sorted(has - needs)]
    if item.parameters and item.key != "generated" and item.type != "code":
        found.append(f"{where}: key: a parametrised item's key is computed; write key: generated.")
    if not item.parameters and item.key == "generated":
        found.append(f"{where}: key: 'generated' needs parameters: <generator>.")
    if item.parameters and item.parameters not in registry():
        found.append(f"{where}: parameters: there is no generator {item.parameters!r}; known: "
                     f"{', '.join(sorted(registry())) or 'none'}.")
    for kind in ("options", "left", "right"):
        ids = [o["id"] for o in getattr(item, kind)]
        if len(ids) != len(set(ids)):
            found.append(f"{where}: {kind}: two entries share an id.")
    return found


def key_problems(item: Item, key: Any) -> list[str]:
    """Return what is wrong with *key* as the key of *item* ([] when it is a valid key)."""
    options = [o["id"] for o in item.options]
    if item.type == "single":
        if not isinstance(key, str) or key not in options:
            return [f"{key!r} is not one of the option ids {options}."]
    elif item.type == "multiple":
        if not isinstance(key, list) or not key or not set(key) <= set(options) \
                or len(set(key)) != len(key):
            return [f"{key!r} is not a non-empty list of distinct option ids of {options}."]
    elif item.type == "ordering":
        if not isinstance(key, list) or sorted(key) != sorted(options):
            return [f"{key!r} does not list every option id {options} once."]
    elif item.type == "matching":
        left, right = [o["id"] for o in item.left], [o["id"] for o in item.right]
        if not isinstance(key, dict) or sorted(key) != sorted(left) \
                or not set(key.values()) <= set(right):
            return [f"{key!r} does not map every left id {left} to a right id of {right}."]
    elif item.type == "numeric":
        return _numeric_key_problems(key, item.unit)
    return []


def _numeric_key_problems(key: Any, unit: str) -> list[str]:
    if not isinstance(key, dict) or not set(key) <= {"value", "tolerance", "relative", "unit"}:
        return [f"{key!r} is not {{value, tolerance, relative?, unit?}}."]
    if unit and key.get("unit", unit) != unit:
        return [f"its unit {key['unit']!r} differs from the item's unit {unit!r}."]
    value, tolerance = key.get("value"), key.get("tolerance", 0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f"value {value!r} is not a number."]
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
        return [f"tolerance {tolerance!r} is not a number ≥ 0."]
    return []


def _generated_problems(item: Item, *, prove: bool) -> list[str]:
    """Render *item* and check its computed key for every seed of :data:`CHECKED_SEEDS`.

    With *prove*, each key is also proved by its generator's own check (see :func:`prove_keys`).
    """
    where = str(item.path)
    generator = registry()[item.parameters]
    fields = set()
    for text in [item.prompt, *item.options, *item.left, *item.right]:
        for language in ("en", "ja"):
            fields |= {name for _, name, _, _ in string.Formatter().parse(text[language]) if name}
    for seed in CHECKED_SEEDS:
        try:
            params = generator.draw(random.Random(seed))
            missing = fields - set(params)
            if missing:
                return [f"{where}: prompt: fields {sorted(missing)} are not parameters of "
                        f"{item.parameters} (it draws {sorted(params)}); LaTeX braces are "
                        "written {{ and }}."]
            for language in ("en", "ja"):
                render(item, seed, language)
            key = generator.key(params)
            wrong = key_problems(item, key)
            if wrong:
                return [f"{where}: generator {item.parameters}, seed {seed}: key: {wrong[0]}"]
            if prove:
                generator.check(params, key)
        except AssertionError as exc:
            return [f"{where}: generator {item.parameters}, seed {seed}: its check says the key "
                    f"is wrong: {exc or 'assertion failed'}"]
        except Exception as exc:  # noqa: BLE001 - any failure of author code is a problem to list
            return [f"{where}: generator {item.parameters}, seed {seed}: "
                    f"{type(exc).__name__}: {exc}"]
    return []


def prove_keys(items: Iterable[Item]) -> list[str]:
    """Prove every parametrised item's key with its generator's check, in a child interpreter.

    The checks simulate (Qiskit, Aer), and Aer's OpenMP pool does not survive a fork:
    a process that later forks sandboxes (a grader, the test run) must never start it.
    """
    paths = [str(item.path) for item in items if item.parameters in registry()]
    if not paths:
        return []
    modules = sorted({type(g).__module__ for g in registry().values()})
    done = subprocess.run([sys.executable, "-c", "from exams.bank import _prove_child; _prove_child()"],
                          input=json.dumps({"modules": modules, "paths": paths}),
                          capture_output=True, text=True, check=False,
                          timeout=60 + 5 * len(paths) * len(CHECKED_SEEDS))
    if done.returncode != 0 or not done.stdout.strip():
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        return [f"generated keys: the proving process failed: {tail}"]
    return json.loads(done.stdout)


def _prove_child() -> None:
    """The child of :func:`prove_keys`: read item paths on stdin, print their problems as JSON."""
    request = json.load(sys.stdin)
    for module in request["modules"]:
        importlib.import_module(module)
    found: list[str] = []
    for path in request["paths"]:
        item, problems = read(Path(path))
        found += problems if item is None else _generated_problems(item, prove=True)
    print(json.dumps(found))


def require(bank: Path | None = None, framework: Framework | None = None) -> dict[str, Item]:
    """Return the bank's items, or raise :class:`BankError` listing every problem."""
    items, found = load(bank, framework)
    if found:
        raise BankError("\n".join(found))
    return items
