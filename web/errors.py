"""Errors of the web service.

One root, :class:`WebError`; like the core's errors it is a
:class:`click.ClickException`, so the command line shows it and exits with its code.
"""

from __future__ import annotations

import click


class WebError(click.ClickException):
    """Root of every error the web package raises."""

    exit_code = 40


class RateLimitStoreError(WebError):
    """The rate-limit store cannot be prepared safely."""

    exit_code = 41
