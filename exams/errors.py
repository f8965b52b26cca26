"""Errors of the exams package.

One root, :class:`ExamError`; like the core's errors they are
:class:`click.ClickException` subclasses, so the command line shows them and
exits with their code; library callers catch :class:`ExamError`.
"""

from __future__ import annotations

import click


class ExamError(click.ClickException):
    """Root of every error the exams package raises; the message says what to do."""

    exit_code = 30


class BankError(ExamError):
    """The item bank or the catalog is not usable: a file, a field or a key is wrong."""

    exit_code = 31
