"""Tracks of nbgrader source notebooks and their release into a deployment.

A track is a directory ``courses/<track>/`` with a ``track.yaml`` (titles in
English and Japanese, level, assignments and the competencies each trains) and
nbgrader source assignments under ``source/<assignment>/``. Each track is one
nbgrader course in the deployment (``QCAMPUS_HOME/courses/<track>``); releasing
copies the source in, then runs nbgrader's own ``generate_assignment`` and
``release_assignment`` there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click
import yaml

from qcampus import settings as settings_mod
from qcampus.errors import CourseError
from qcampus.settings import Settings


@dataclass(frozen=True)
class Assignment:
    """One nbgrader assignment of a track."""

    id: str
    title: dict[str, str]
    competencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Track:
    """A tier of the curriculum, served as one nbgrader course."""

    id: str
    path: Path
    title: dict[str, str]
    level: str
    audience: str
    assignments: tuple[Assignment, ...] = field(default=())

    def assignment(self, assignment_id: str) -> Assignment:
        for assignment in self.assignments:
            if assignment.id == assignment_id:
                return assignment
        known = ", ".join(a.id for a in self.assignments) or "none"
        raise CourseError(f"Track {self.id!r} has no assignment {assignment_id!r}; it has: {known}.")


def load_track(path: Path) -> Track:
    """Read ``track.yaml`` of the track in *path*."""
    try:
        data = yaml.safe_load((path / "track.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CourseError(f"Cannot read {path / 'track.yaml'}: {exc}") from exc
    if not isinstance(data, dict):
        raise CourseError(f"{path / 'track.yaml'} must be a mapping.")
    try:
        assignments = tuple(
            Assignment(id=a["id"], title=dict(a["title"]),
                       competencies=tuple(a.get("competencies", ())))
            for a in data.get("assignments", [])
        )
        return Track(id=path.name, path=path, title=dict(data["title"]), level=data["level"],
                     audience=data.get("audience", ""), assignments=assignments)
    except (KeyError, TypeError) as exc:
        raise CourseError(f"{path / 'track.yaml'} is missing or mistypes {exc}.") from exc


def load_tracks(source: Path) -> list[Track]:
    """Return every track under *source*, sorted by id."""
    if not source.is_dir():
        raise CourseError(f"Courses directory {source} does not exist. Set courses.source in "
                          f"settings.yaml or run qcampus from a checkout.")
    return [load_track(p) for p in sorted(source.iterdir()) if (p / "track.yaml").is_file()]


def find_track(source: Path, track_id: str) -> Track:
    for track in load_tracks(source):
        if track.id == track_id:
            return track
    known = ", ".join(t.id for t in load_tracks(source)) or "none"
    raise CourseError(f"There is no track {track_id!r}; known tracks: {known}.")


def environment_path_first() -> dict[str, str]:
    """Return os.environ with this interpreter's bin directory first on PATH.

    nbgrader runs ``alembic`` by name to create a gradebook, so the environment's
    scripts must be found even when qcampus was started by absolute path.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def nbgrader(course_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an nbgrader subcommand in *course_dir* with this interpreter's nbgrader."""
    # umask 007: what root writes (gradebook, autograded, feedback) stays writable by the
    # instructors' group that owns the course directory, and closed to everyone else.
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir,
                            env=environment_path_first(), capture_output=True, text=True,
                            check=False, umask=0o007)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise CourseError(f"nbgrader {' '.join(args)} failed in {course_dir}:\n{tail}")
    return result


def release(settings: Settings, track: Track, assignment: Assignment) -> Path:
    """Generate and release *assignment* of *track* into the deployment's nbgrader course.

    Returns:
        The released directory in the exchange.
    """
    course_dir = settings.courses_root / track.id
    if not (course_dir / "nbgrader_config.py").is_file():
        raise CourseError(f"{course_dir} is not set up. Run `qcampus init` first.")
    src = track.path / "source" / assignment.id
    if not src.is_dir():
        raise CourseError(f"{src} does not exist: the track lists {assignment.id!r} but has no source.")
    dest = course_dir / "source" / assignment.id
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    nbgrader(course_dir, "generate_assignment", assignment.id, "--force")
    nbgrader(course_dir, "release_assignment", assignment.id, "--force")
    return settings.exchange / track.id / "outbound" / assignment.id


@click.group("courses")
def courses() -> None:
    """List tracks and release their assignments into the deployment."""


@courses.command("list")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar="QCAMPUS_HOME",
              default="var", show_default=True)
def list_command(home: Path) -> None:
    """List tracks and their assignments."""
    settings = settings_mod.load(home)
    for track in load_tracks(settings.courses_source):
        click.echo(f"{track.id}  [{track.level}]  {track.title.get('en', '')} / "
                   f"{track.title.get('ja', '')}")
        for a in track.assignments:
            released = (settings.exchange / track.id / "outbound" / a.id).is_dir()
            mark = "released" if released else "not released"
            click.echo(f"  {a.id}  {a.title.get('en', '')}  ({mark})")


@courses.command("release")
@click.argument("track_id", metavar="TRACK")
@click.argument("assignment_id", metavar="[ASSIGNMENT]", required=False)
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar="QCAMPUS_HOME",
              default="var", show_default=True)
def release_command(track_id: str, assignment_id: str | None, home: Path) -> None:
    """Generate and release ASSIGNMENT of TRACK (every assignment when omitted)."""
    settings = settings_mod.load(home)
    track = find_track(settings.courses_source, track_id)
    chosen = [track.assignment(assignment_id)] if assignment_id else list(track.assignments)
    for assignment in chosen:
        where = release(settings, track, assignment)
        click.echo(f"released {track.id}/{assignment.id} -> {where}")
