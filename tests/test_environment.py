"""The Python environment `scripts/bootstrap` makes: what it leaves out, and why that is safe."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_jsonschema_imports_without_building_the_iri_grammar():
    """rfc3987-syntax builds a Lark grammar at import (about 1.1 s in every process that loads
    jsonschema: each qcampus command, service worker, Jupyter server and nbgrader run);
    scripts/bootstrap removes it after installing."""
    assert importlib.util.find_spec("rfc3987_syntax") is None, (
        "rfc3987-syntax is installed: run scripts/bootstrap, which removes it")
    loaded = subprocess.run([sys.executable, "-c", "import sys, jsonschema, jupyter_events\n"
                             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
                             "('lark', 'rfc3987_syntax')))"],
                            capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout


def _formats(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        return found.union(*(_formats(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_formats(value) for value in node))
    return set()


def test_no_schema_here_asks_for_the_formats_left_unchecked():
    schemas = sorted(p for p in REPO.glob("*/**/*.schema.yaml") if ".git" not in p.parts)
    assert len(schemas) >= 10, schemas
    used = {str(p.relative_to(REPO)): _formats(yaml.safe_load(p.read_text(encoding="utf-8")))
            for p in schemas}
    assert {name: formats & {"iri", "iri-reference"} for name, formats in used.items()
            if formats & {"iri", "iri-reference"}} == {}
