"""JSON Schemas of the course files and the one way to read and check them.

Each YAML file under ``courses/`` has a schema here (``<kind>.schema.yaml``,
written in YAML as z2jh's ``values.schema.yaml`` is). :func:`problems` lists
every violation with its file and field path, so a file with three mistakes
is fixed in one pass instead of three.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent


class CourseFileLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Read YAML 1.1 but keep timestamps as text, so a schema sees what the author wrote.

    libyaml's parser where PyYAML has it (ten times faster: the framework alone took
    0.3 s to read with the pure-Python one), the same safe constructor either way.
    """


# PyYAML turns an unquoted ``2026-12-31T23:59:00+09:00`` into a datetime, which no JSON
# Schema type describes; the loaders parse due dates themselves after the schema passed.
CourseFileLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path) -> Any:
    """Parse the YAML file at *path* with :class:`CourseFileLoader`.

    Raises:
        OSError: the file cannot be read.
        yaml.YAMLError: the text is not YAML.
    """
    return yaml.load(path.read_text(encoding="utf-8"), Loader=CourseFileLoader)  # noqa: S506


@cache
def schema(kind: str, directory: Path = HERE) -> dict[str, Any]:
    """Return the checked JSON Schema ``<kind>.schema.yaml`` of *directory* (default: the core's)."""
    loaded = yaml.safe_load((directory / f"{kind}.schema.yaml").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(loaded)
    return loaded


def field_path(parts: Any) -> str:
    """Render a jsonschema path such as ``['assignments', 0, 'level']`` as ``assignments[0].level``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def problems(instance: Any, kind: str, origin: str, directory: Path = HERE) -> list[str]:
    """Return one message per schema violation of *instance*, naming *origin* and the field.

    *directory* holds ``<kind>.schema.yaml`` (a feature package passes its own).
    """
    validator = jsonschema.Draft202012Validator(schema(kind, directory))
    found = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        found.append(f"{origin}: {field_path(error.absolute_path)}: {_message(error)}")
    return found


def _message(error: jsonschema.ValidationError) -> str:
    """Say what is wrong in words an author acts on, without dumping the whole schema."""
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return f"unknown key(s) {', '.join(map(repr, unknown))}; allowed keys: {', '.join(allowed)}."
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}."
    if error.validator == "pattern" and "description" in error.schema:
        return f"{error.instance!r} does not match: {error.schema['description']}"
    return error.message + "."
