"""Fixtures shared by the whole suite.

- ``qcampus_home``: an empty deployment directory under a world-traversable
  temporary root (learners' system users must be able to reach it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def fresh_home() -> Iterator[Path]:
    """Yield a fresh deployment directory that system users can traverse; remove it afterwards."""
    root = Path(tempfile.mkdtemp(prefix="qcampus-test-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    try:
        yield root / "home"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def qcampus_home() -> Iterator[Path]:
    """Yield a fresh deployment directory that system users can traverse."""
    with fresh_home() as home:
        yield home
