"""Errors of the grader package."""

from __future__ import annotations


class GraderError(Exception):
    """Root of every error the grader raises."""
