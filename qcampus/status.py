"""Report what runs, where its data is and what is misconfigured (``qcampus status``)."""

from __future__ import annotations

import click


@click.command("status")
def status() -> None:
    """Show what runs, where its data is, and what is misconfigured."""
    raise click.ClickException("`qcampus status` is not built yet.")
