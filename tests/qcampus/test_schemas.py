"""The JSON Schemas of the course files and how their violations read."""

from __future__ import annotations

import pytest

from qcampus import schemas

KINDS = ("framework", "glossary", "track")


def properties(node: object, path: str = ""):
    """Yield (path, schema) for every named property of a schema, at any depth."""
    if isinstance(node, dict):
        for name, child in node.get("properties", {}).items():
            yield f"{path}.{name}", child
        for key, child in node.items():
            yield from properties(child, f"{path}.{key}" if key != "properties" else path)
    elif isinstance(node, list):
        for child in node:
            yield from properties(child, path)


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_and_closed(kind):
    """Each schema is a valid JSON Schema, refuses unknown keys and describes every key."""
    loaded = schemas.schema(kind)
    assert loaded["additionalProperties"] is False
    missing = [path for path, child in properties(loaded) if "description" not in child]
    assert missing == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_object_with_properties_is_closed(kind):
    """No object of a schema that lists its keys lets an unlisted key through."""
    def objects(node):
        if isinstance(node, dict):
            if "properties" in node:
                yield node
            for child in node.values():
                yield from objects(child)
        elif isinstance(node, list):
            for child in node:
                yield from objects(child)
    assert all(obj.get("additionalProperties") is False for obj in objects(schemas.schema(kind)))


def test_timestamps_stay_text(tmp_path):
    """An unquoted date and time is read as the text the author wrote, for the schema to check."""
    path = tmp_path / "t.yaml"
    path.write_text("due: 2026-12-31T23:59:00+09:00\nday: 2026-12-31\n")
    assert schemas.read_yaml(path) == {"due": "2026-12-31T23:59:00+09:00", "day": "2026-12-31"}


def test_field_path_reads_like_the_file():
    """A path of keys and indexes renders as it would be written in code."""
    assert schemas.field_path(["assignments", 2, "objectives", 0, "level"]) == \
        "assignments[2].objectives[0].level"
    assert schemas.field_path([]) == "(top level)"


def test_problems_lists_each_violation_with_origin():
    """Two violations give two messages, each starting with the file."""
    found = schemas.problems({"title": {"en": "t"}, "level": "Z9"}, "track", "x/track.yaml")
    assert len(found) == 2
    assert all(line.startswith("x/track.yaml: ") for line in found)
    assert any("level: 'Z9' is not one of A1" in line for line in found)
