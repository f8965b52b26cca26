"""Errors of the qcampus core.

Every error is a :class:`click.ClickException` so the command line shows it
and exits with its code; library callers catch :class:`QcampusError`.
"""

from __future__ import annotations

import click


class QcampusError(click.ClickException):
    """Root of every error the qcampus core raises."""

    exit_code = 1


class SettingsError(QcampusError):
    """The settings file or an environment override is invalid."""

    exit_code = 2


class DeploymentError(QcampusError):
    """The deployment directory cannot be created, upgraded or used."""

    exit_code = 3


class CourseError(QcampusError):
    """A course, track or assignment is missing or cannot be released."""

    exit_code = 4


class ServiceError(QcampusError):
    """A process of the platform cannot start or stopped unexpectedly."""

    exit_code = 5
