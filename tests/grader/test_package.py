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


def _documented_signatures() -> dict[str, str]:
    """Return each ``name(arguments)`` the package docstring writes out, by name."""
    import re

    text = " ".join(grader.__doc__.split())
    return {m.group(1): m.group(2) for m in re.finditer(r"``(\w+)\((.*?)\)``", text)}


def test_docstring_signatures_match_the_code():
    """Every signature in grader's docstring names the real keyword arguments and defaults."""
    import inspect

    documented = _documented_signatures()
    assert {"assert_number", "assert_answer", "assert_state_close"} <= set(documented)
    for name, arguments in documented.items():
        signature = inspect.signature(getattr(grader, name))
        written = {}
        for part in arguments.split("*,", 1)[1].split(",") if "*," in arguments else []:
            keyword, _, default = part.strip().partition("=")
            written[keyword] = default
        wanted = {p.name: p.default for p in signature.parameters.values()
                  if p.kind is p.KEYWORD_ONLY}
        assert set(written) == set(wanted), name
        for keyword, default in written.items():
            if default:
                value = eval(default)  # noqa: S307 - our own docstring
                if isinstance(wanted[keyword], float):
                    value, wanted[keyword] = pytest.approx(value), wanted[keyword]
                assert value == wanted[keyword], (name, keyword)
