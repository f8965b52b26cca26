"""A fast, sandboxed, parallel drop-in for ``nbgrader autograde``.

nbgrader's own ``Autograde`` converter does everything it always does
(sanitising, overwriting read-only and test cells from the gradebook,
checksums, late penalties, saving grades); only its execution step is replaced
by :class:`~grader.autograde.execute.SandboxedExecute`. To let formgrader's
Autograde button use it too, put this in the course's ``nbgrader_config.py``::

    from grader.autograde import sandboxed_autograde_preprocessors
    c.Autograde.autograde_preprocessors = sandboxed_autograde_preprocessors()
"""

from __future__ import annotations


def sandboxed_autograde_preprocessors() -> list[type]:
    """Return nbgrader's autograde preprocessors with ``Execute`` replaced by ``SandboxedExecute``."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from grader.autograde.execute import SandboxedExecute

    stock = Autograde.class_traits()["autograde_preprocessors"].default()
    return [SandboxedExecute if pp is Execute else pp for pp in stock]
