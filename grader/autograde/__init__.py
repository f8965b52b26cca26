"""A fast, sandboxed, parallel drop-in for ``nbgrader autograde``.

nbgrader's own ``Autograde`` converter does everything it always does
(sanitising, overwriting read-only and test cells from the gradebook,
checksums, late penalties, saving grades); its execution step is replaced by
:class:`~grader.autograde.execute.SandboxedExecute`, and its two gradebook
preprocessors by subclasses that read a notebook's rows at once and save its
grades in one transaction (:mod:`grader.autograde.gradebook`); a notebook with
an answer key has its test cells scored outside the learner's process
(:mod:`grader.autograde.trusted`). To let
formgrader's Autograde button use them too, put this in the course's
``nbgrader_config.py``::

    from grader.autograde import autograde_preprocessors, sanitize_preprocessors
    c.Autograde.sanitize_preprocessors = sanitize_preprocessors()
    c.Autograde.autograde_preprocessors = autograde_preprocessors()
"""

from __future__ import annotations

#: Where answer keys live, relative to the course directory (``TrustedVerdict.keys_directory``).
KEYS_DIRECTORY = "keys"


def converter_coursedir(preprocessor):
    """Return the ``CourseDirectory`` of the nbgrader converter running *preprocessor*, or None.

    A preprocessor's parent is the converter's exporter, whose parent is the converter.
    """
    return getattr(getattr(preprocessor.parent, "parent", None), "coursedir", None)


def _replaced(trait: str, replacements: dict[type, type]) -> list[type]:
    from nbgrader.converters import Autograde

    stock = Autograde.class_traits()[trait].default()
    return [replacements.get(pp, pp) for pp in stock]


def sanitize_preprocessors() -> list[type]:
    """Return nbgrader's sanitising preprocessors with ``OverwriteCells`` batched."""
    from nbgrader.preprocessors import OverwriteCells

    from grader.autograde.gradebook import BatchedOverwriteCells

    return _replaced("sanitize_preprocessors", {OverwriteCells: BatchedOverwriteCells})


def autograde_preprocessors() -> list[type]:
    """Return nbgrader's autograde preprocessors: ``Execute`` sandboxed and followed by
    ``TrustedVerdict``, ``SaveAutoGrades`` batched."""
    from nbgrader.preprocessors import Execute, SaveAutoGrades

    from grader.autograde.execute import SandboxedExecute
    from grader.autograde.gradebook import BatchedSaveAutoGrades
    from grader.autograde.trusted import TrustedVerdict

    replaced = _replaced("autograde_preprocessors",
                         {Execute: SandboxedExecute, SaveAutoGrades: BatchedSaveAutoGrades})
    at = replaced.index(SandboxedExecute) + 1
    return [*replaced[:at], TrustedVerdict, *replaced[at:]]
