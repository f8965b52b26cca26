"""How scripts/test splits the suite between its two pytest-xdist workers (tests/conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import E2E_MODULES, xdist_scope

REPO = Path(__file__).resolve().parents[1]


def test_every_end_to_end_test_is_in_the_unit_one_worker_runs_in_turn():
    """A module with an e2e test outside E2E_MODULES would start its hub beside another's."""
    marked = sorted(str(path.relative_to(REPO)) for path in (REPO / "tests").rglob("test_*.py")
                    if re.search(r"mark\.e2e\b", path.read_text(encoding="utf-8")))
    assert marked and all(xdist_scope(f"{module}::test_x") == "e2e" for module in marked), marked
    assert all((REPO / module).exists() for module in E2E_MODULES)


def test_other_modules_are_units_of_their_own():
    assert xdist_scope("tests/grader/autograde/test_courses.py::test_x[foundations/a]") == \
        "tests/grader/autograde/test_courses.py"
    assert xdist_scope("tests/e2e/test_hub.py::test_learner_loop") == "e2e"
    assert xdist_scope("tests/bench/test_grading_service.py::test_quantile_of_one_value_and_of_many") \
        == "e2e"
