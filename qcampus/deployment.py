"""Create or upgrade a deployment directory (``qcampus init``).

The directory holds the settings file, the databases, one nbgrader course
directory per track, the exchange's root-only store, the signing keys and the logs.
``init`` is idempotent: it creates what is missing, validates what exists and
never overwrites or deletes anything a previous run or a learner wrote. Other
packages add their own steps (keys, migrations) through the ``qcampus.init``
entry-point group: each entry point is a callable taking the
:class:`~qcampus.settings.Settings`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import click

from qcampus import DEPLOYMENT_VERSION
from qcampus import settings as settings_mod
from qcampus.database import create_schemas, schemas_on_server
from qcampus.errors import DeploymentError
from qcampus.permissions import close_history, close_tree, make_private
from qcampus.settings import Settings

INIT_HOOKS = "qcampus.init"

# (path relative to home, mode). The home is traversable by every learner (their
# servers read the Jupyter configuration in it); secrets and logs are for root alone.
_DIRECTORIES: tuple[tuple[str, int], ...] = (
    (".", 0o755),
    ("courses", 0o755),
    ("hub", 0o700),
    ("logs", 0o700),
    ("secrets", 0o700),
)


@dataclass
class InitReport:
    """What one ``init`` run created; empty lists mean nothing changed."""

    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)

    def note(self, path: Path, created: bool) -> None:
        (self.created if created else self.kept).append(path)


def check_version(values: dict) -> None:
    """Refuse a deployment written by a newer qcampus."""
    version = values["deployment"]["version"]
    if version > DEPLOYMENT_VERSION:
        raise DeploymentError(
            f"This deployment was written by a newer qcampus (layout version {version}; this "
            f"qcampus understands up to {DEPLOYMENT_VERSION}). Upgrade qcampus, or point "
            f"QCAMPUS_HOME at another directory. Nothing was changed."
        )


def tracks(source: Path) -> list[str]:
    """Return the track names found in a courses source directory, sorted."""
    if not source.is_dir():
        return []
    return sorted(p.name for p in source.iterdir() if p.is_dir() and (p / "track.yaml").is_file())


def _ensure_dir(path: Path, mode: int, report: InitReport, *, keep_group: bool = False) -> None:
    created = not path.exists()
    if path.exists() and not path.is_dir():
        raise DeploymentError(f"{path} exists but is not a directory. Move it away and run init again.")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkdir honours the umask; the mode is part of the security model, so set it.
    if keep_group and not created:
        # A course directory: the hub's step gave it to the instructors' group (2770);
        # only others' bits are ours to remove.
        mode = path.stat().st_mode & 0o7777 & ~0o007
    os.chmod(path, mode)
    report.note(path, created)


def close_course_sources(source: Path) -> None:
    """Close the course sources (solutions, hidden tests, answer keys) and their git history.

    Learners are local users: with the checkout's default modes (0644 files,
    0755 directories) each of them reads every solution and hidden test. The
    hub's init step then lets the instructors' group read the sources.
    """
    close_tree(source)
    close_history(source)


def _ensure_file(path: Path, text: str, mode: int, report: InitReport) -> None:
    if path.exists():
        report.note(path, False)
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    report.note(path, True)


def nbgrader_course_config(course_id: str) -> str:
    """Return the ``nbgrader_config.py`` of one course directory.

    No exchange root: transfers go through the qcampus service (the Jupyter
    configuration every server reads names its classes).
    """
    return (
        "# Written by `qcampus init`; edit freely, init never overwrites it.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {course_id!r}\n"
    )


def run_hooks(settings: Settings, hooks: Iterable[Callable[[Settings], None]] | None = None) -> None:
    """Run every package's init step (signing keys, database migrations, ...)."""
    if hooks is None:
        hooks = [ep.load() for ep in entry_points(group=INIT_HOOKS)]
    for hook in hooks:
        hook(settings)


def init(home: Path, environ: dict[str, str] | None = None, *, hooks=None) -> InitReport:
    """Create or upgrade the deployment in *home* and return what changed.

    Raises:
        DeploymentError: the directory belongs to a newer qcampus or cannot be written.
        SettingsError: the existing settings file is invalid.
    """
    home = home.resolve()
    # Validate before touching anything, so a bad file or a newer layout changes nothing.
    existing = settings_mod.read_file(home / settings_mod.SETTINGS_FILE)
    values = settings_mod.merge(existing, origin=str(home / settings_mod.SETTINGS_FILE))
    check_version(values)
    # Record where the courses are as an absolute path, so later commands work from any directory.
    if not existing.get("courses", {}).get("source"):
        values["courses"]["source"] = str(Path(values["courses"]["source"]).resolve())
    report = InitReport()
    try:
        for rel, mode in _DIRECTORIES:
            _ensure_dir(home / rel, mode, report)
            if mode == 0o700:
                # Hub state, logs and secrets written under a looser umask by older versions.
                make_private(home / rel)
        _ensure_file(home / settings_mod.SETTINGS_FILE, settings_mod.dump(values), 0o644, report)
        settings = settings_mod.load(home, os.environ if environ is None else environ)
        close_course_sources(settings.courses_source)
        for track in tracks(settings.courses_source):
            course_dir = settings.courses_root / track
            # Solutions, hidden tests and the gradebook: never open to learners.
            _ensure_dir(course_dir, 0o750, report, keep_group=True)
            _ensure_file(course_dir / "nbgrader_config.py",
                         nbgrader_course_config(track), 0o640, report)
        # Before the packages' steps, which migrate their own schemas.
        create_schemas(settings["database"]["url"], schemas_on_server(settings))
        run_hooks(settings, hooks)
    except PermissionError as exc:
        raise DeploymentError(f"Cannot write {exc.filename}: permission denied. Run init as root.") from exc
    return report


@click.command("init")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar="QCAMPUS_HOME",
              default="var", show_default=True, help="Deployment directory to create or upgrade.")
def init_command(home: Path) -> None:
    """Create or upgrade a deployment directory (safe to run again)."""
    report = init(home)
    for path in report.created:
        click.echo(f"created  {path}")
    click.echo(f"Deployment ready in {home.resolve()} ({len(report.created)} created, "
               f"{len(report.kept)} kept).")
