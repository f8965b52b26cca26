"""Start the platform in the foreground (``qcampus up``)."""

from __future__ import annotations

import click


@click.command("up")
@click.option("--demo", is_flag=True, help="Create demo accounts and release the sample assignments.")
def up(demo: bool) -> None:
    """Start JupyterHub, the proxy and every managed service."""
    raise click.ClickException("`qcampus up` is not built yet.")
