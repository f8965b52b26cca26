"""The examples in docs/grader.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "grader.md"


def _checks_blocks() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Checks", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_checks_section_has_examples():
    """The Checks section holds at least one example per check family."""
    assert len(_checks_blocks()) >= 8


def test_checks_examples_run(capsys, monkeypatch, tmp_path):
    """Every Python block of the Checks section runs, in order, in one namespace."""
    monkeypatch.setenv("QCAMPUS_LANG", "en")
    monkeypatch.chdir(tmp_path)  # examples that write a course's files write them here
    namespace: dict = {}
    for block in _checks_blocks():
        try:
            exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
        except Exception as error:  # noqa: BLE001 - re-raised as a test failure with the block
            pytest.fail(f"example failed: {error!r}\n{block}")
    printed = capsys.readouterr().out
    assert "global phase" in printed and "differ on the input" in printed
    from grader.autograde.trusted import load_key

    key = tmp_path / "keys" / "first-circuits" / "first-circuits.json"
    assert list(load_key(key, {"test-bell": 2.0})) == ["test-bell"]
