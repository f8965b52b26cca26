"""Report what runs, where its data is and what is misconfigured (``qcampus status``).

Each finding is a :class:`Check` with a level (``ok``, ``warn``, ``error``) and a
message that says what to do. Paths learners could read or change, and settings
that weaken the separation of users, come from :mod:`qcampus.exposure`; what the
packages run (the hub, its proxy) comes from their ``qcampus.status`` entry points.
``status`` exits 1 when any check is an error, so operators can use it in
scripts and monitoring.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import click

from qcampus import DEPLOYMENT_VERSION, database, exposure
from qcampus import courses as courses_mod
from qcampus import settings as settings_mod
from qcampus.courses import load_tracks
from qcampus.errors import QcampusError
from qcampus.settings import Settings


@dataclass(frozen=True)
class Check:
    """One finding of ``qcampus status``."""

    level: str  # "ok", "warn" or "error"
    subject: str
    message: str


def traversable_by_others(path: Path) -> bool:
    """Return whether every directory from / down to *path* lets other users pass."""
    for directory in [path, *path.parents]:
        try:
            if not directory.stat().st_mode & stat.S_IXOTH:
                return False
        except FileNotFoundError:
            continue
    return True


def checks(settings: Settings) -> list[Check]:
    """Inspect the deployment described by *settings* without changing anything."""
    found: list[Check] = []
    home = settings.home
    if not settings.settings_file.is_file():
        found.append(Check("error", "deployment", f"{home} has no settings file. Run `qcampus init`."))
        return found
    version = settings["deployment"]["version"]
    if version != DEPLOYMENT_VERSION:
        found.append(Check("error", "deployment",
                           f"layout version {version}, this qcampus writes {DEPLOYMENT_VERSION}: "
                           f"run `qcampus init` with the matching qcampus."))
    else:
        found.append(Check("ok", "deployment", f"{home} (layout version {version})"))
    if not traversable_by_others(home):
        found.append(Check("error", "deployment",
                           f"learners cannot reach {home}: a parent directory is closed to other "
                           f"users (for example /root). Put QCAMPUS_HOME under /srv, /opt or /var."))
    venv = Path(settings["hub"]["venv"])
    if not (venv / "bin" / "jupyterhub-singleuser").is_file():
        found.append(Check("error", "environment",
                           f"{venv}/bin/jupyterhub-singleuser is missing: run scripts/bootstrap."))
    elif not traversable_by_others(venv):
        found.append(Check("error", "environment",
                           f"learners cannot run {venv}: move it out of a private directory."))
    else:
        found.append(Check("ok", "environment", str(venv)))
    try:
        tracks = load_tracks(settings.courses_source)
    except QcampusError as exc:
        found.append(Check("error", "courses", exc.message))
        tracks = []
    for track in tracks:
        try:
            offered = courses_mod.released(settings, track)
        except QcampusError as exc:
            found.append(Check("error", f"course {track.id}", exc.message))
            offered = set()
        released = [a.id for a in track.assignments if a.id in offered]
        course_dir = settings.courses_root / track.id
        if not course_dir.is_dir():
            found.append(Check("warn", f"course {track.id}", f"{course_dir} missing: run `qcampus init`."))
        else:
            found.append(Check("ok", f"course {track.id}",
                               f"{course_dir}; released: {', '.join(released) or 'nothing yet'}"))
    found += database_checks(settings)
    # The packages' checks (the hub and its proxy) apart from the core's exposures, so the
    # summary line below speaks only of the paths it names.
    found += exposure.run_hooks(settings)
    exposed = exposure.checks(settings, hooks=[])
    found += exposed
    if not any(c.level == "error" for c in exposed):
        found.append(Check("ok", "permissions", "course sources, course directories, databases, "
                                                "secrets, hub state and logs are closed to learners"))
    return found


def database_checks(settings: Settings) -> list[Check]:
    """Say where each component keeps its records, and whether its PostgreSQL schema exists."""
    from sqlalchemy.exc import SQLAlchemyError

    found = [Check("ok", f"database {component}", database.describe(url))
             for component, url in database.component_urls(settings).items()]
    server, wanted = settings["database"]["url"], database.schemas_on_server(settings)
    if server:
        try:
            missing = database.missing_schemas(server, wanted)
        except SQLAlchemyError as exc:
            return found + [Check("error", "database", f"{database.describe(server)} cannot be "
                                  f"reached ({exc.__class__.__name__}): start PostgreSQL or fix "
                                  f"database.url in settings.yaml.")]
        if missing:
            found.append(Check("error", "database", f"schemas {', '.join(missing)} are missing on "
                                                    f"{database.describe(server)}: run `qcampus init`."))
    return found


def component_database_checks(component: str, url: str, open_engine) -> list[Check]:
    """Check one component's database: a SQLite file learners cannot read, that opens and migrates.

    Args:
        component: The package whose ``<component>.database_url`` names the database.
        url: Its URL.
        open_engine: Opens (and migrates) the database at a URL, returning its engine.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from qcampus.permissions import inspect_tree

    subject = f"{component} database"
    found = []
    path = database.sqlite_file(url)
    if path is not None and path.exists():
        # Looked at before opening it: opening would not tell who else can read it.
        found += [Check("error", subject, problem.describe())
                  for problem in inspect_tree(path, f"chmod 600 {path}")]
    try:
        open_engine(url).dispose()
        found.append(Check("ok", subject, database.describe(url)))
    except SQLAlchemyError as exc:
        found.append(Check("error", subject,
                           f"{database.describe(url)} cannot be opened ({type(exc).__name__}): "
                           f"check {component}.database_url, then run `qcampus init`."))
    return found


@click.command("status")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar="QCAMPUS_HOME",
              default="var", show_default=True)
def status(home: Path) -> None:
    """Show what runs, where its data is, and what is misconfigured."""
    settings = settings_mod.load(home, os.environ)
    found = checks(settings)
    marks = {"ok": "ok   ", "warn": "warn ", "error": "ERROR"}
    for check in found:
        click.echo(f"{marks[check.level]} {check.subject}: {check.message}")
    if any(c.level == "error" for c in found):
        raise SystemExit(1)
