"""The ``qcampus`` command.

The core defines ``init``, ``status``, ``courses`` and ``roster``; every other
package adds its subcommands through the ``qcampus.commands`` entry-point group
(the hub package ``up``, the grader ``grade``, certificates ``cert``), loaded
only when that subcommand runs (as JupyterHub finds authenticators), so adding a
package never edits the core.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from pathlib import Path

import click

from qcampus import __version__


class EntryPointGroup(click.Group):
    """A click group that also lists and lazily loads entry-point subcommands."""

    group_name = "qcampus.commands"
    #: The core's own commands, imported only when they run.
    core = {
        "init": "qcampus.deployment:init_command",
        "status": "qcampus.status:status",
        "courses": "qcampus.courses:courses",
        "roster": "qcampus.roster:roster",
    }

    def _plugins(self) -> dict[str, object]:
        return {ep.name: ep for ep in entry_points(group=self.group_name)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.core) | set(self._plugins()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        if cmd_name in self.core:
            module, _, attr = self.core[cmd_name].partition(":")
            return getattr(importlib.import_module(module), attr)
        plugin = self._plugins().get(cmd_name)
        if plugin is None:
            return None
        try:
            loaded = plugin.load()
        except ImportError as exc:
            return _unavailable(cmd_name, exc)
        if not isinstance(loaded, click.Command):
            raise click.ClickException(f"Entry point {plugin.value} is not a click command.")
        return loaded


def _unavailable(name: str, exc: ImportError) -> click.Command:
    """Return a stand-in that explains why the *name* subcommand cannot load."""
    message = (
        f"The `{name}` command is installed but cannot load ({exc}). "
        f"Reinstall qcampus with its extras: pip install 'qcampus[all]'."
    )

    def fail() -> None:
        raise click.ClickException(message)

    return click.Command(name, callback=fail, short_help="(unavailable: missing dependency)",
                         help=message, context_settings={"ignore_unknown_options": True})


home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="QCAMPUS_HOME",
    default="var",
    show_default=True,
    help="Deployment directory (settings, databases, courses, exchange, keys, logs).",
)


@click.group(cls=EntryPointGroup)
@click.version_option(__version__, prog_name="qcampus")
def cli() -> None:
    """Train and certify the quantum-technology workforce."""


def main() -> None:
    """Run the ``qcampus`` command line."""
    cli()
