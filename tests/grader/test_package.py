"""Tests of the grader package surface: lazy imports and the documented names."""

from __future__ import annotations

import subprocess
import sys

import pytest

import grader


def test_import_grader_loads_no_quantum_stack():
    """Importing grader and grader.errors loads neither NumPy, Qiskit nor dimod."""
    code = ("import sys, grader, grader.errors; "
            "print(sorted(m for m in ('numpy', 'qiskit', 'dimod') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(grader.__all__))
def test_every_public_name_resolves_and_is_documented(name):
    """Each name in grader.__all__ resolves and appears in the package docstring."""
    assert getattr(grader, name) is not None
    if name not in ("CheckFailed", "GraderError"):
        assert name in grader.__doc__


def test_unknown_name_raises_attribute_error():
    """A name grader does not export raises AttributeError."""
    with pytest.raises(AttributeError):
        _ = grader.assert_everything_fine
