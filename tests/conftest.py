"""Fixtures shared by the whole suite, and how it is split between pytest-xdist workers.

- ``qcampus_home``: an empty deployment directory under a world-traversable
  temporary root (learners' system users must be able to reach it).

``scripts/test`` runs the suite on two workers (``-n 2 --dist loadscope``). Every
end-to-end module is in one unit of work, so one worker runs them one after
another (a real hub at a time: its system users, ports and JupyterLab servers
never meet another's), while the other runs the rest; every other module is a
unit of its own, so a module's fixtures (a stock-graded course, a sandbox) are
made once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Where the end-to-end tests live; one module elsewhere has its own (a benchmark's quick run).
E2E_MODULES = ("tests/e2e/", "tests/bench/test_grading_service.py")


def xdist_scope(nodeid: str) -> str:
    """Return the unit of work a test belongs to: ``e2e`` for every end-to-end module, else its module."""
    module = nodeid.split("::", 1)[0]
    return "e2e" if module.startswith(E2E_MODULES) else module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With ``--dist loadscope``: one unit per module, and every end-to-end module in one unit."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class EndToEndInTurn(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return EndToEndInTurn(config, log)


@pytest.fixture
def qcampus_home() -> Iterator[Path]:
    """Yield a fresh deployment directory that system users can traverse."""
    root = Path(tempfile.mkdtemp(prefix="qcampus-test-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    try:
        yield root / "home"
    finally:
        shutil.rmtree(root, ignore_errors=True)
