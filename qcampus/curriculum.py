"""Check a whole courses directory: framework, glossary, tracks, sources and plugged-in files.

Loading one track stops at its own problems; here every file is read and
every problem is collected, so ``qcampus courses validate`` lists them all in
one run. Other packages check their own course files through the
``qcampus.courses`` entry-point group (the core never imports them): the
entry point's name is the file (``achievements`` checks
``courses/achievements.yaml``) and its value is called as ``hook(path,
framework)``; a :class:`click.ClickException` it raises is a problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path

import click
import yaml

from qcampus import framework as framework_mod
from qcampus import schemas
from qcampus.courses import Track, build_track, prerequisite_problems, track_problems
from qcampus.framework import Framework, FrameworkError

#: A course-file check another package contributes: (file name without .yaml, callable).
Hook = tuple[str, Callable[[Path, Framework], object]]


def installed_hooks() -> list[Hook]:
    """Return the course-file checks of the ``qcampus.courses`` entry-point group."""
    return [(ep.name, ep.load()) for ep in entry_points(group="qcampus.courses")]


def problems(source: Path, hooks: Iterable[Hook] | None = None) -> tuple[list[str], list[Track]]:
    """Check the courses directory *source* whole.

    Args:
        source: The courses directory (``framework.yaml``, ``glossary.yaml``, tracks).
        hooks: Checks of further course files (default: :func:`installed_hooks`).

    Returns:
        Every problem found, one line each naming its file and field, and the
        tracks that passed their schema.
    """
    found: list[str] = []
    framework = None
    try:
        framework = framework_mod.load(source / "framework.yaml")
        framework_mod.load_glossary(source / "glossary.yaml", framework)
    except FrameworkError as exc:
        found += exc.message.splitlines()
    tracks = []
    for path in sorted(p for p in source.iterdir() if (p / "track.yaml").is_file()):
        try:
            track, more = build_track(schemas.read_yaml(path / "track.yaml"), path)
        except (OSError, yaml.YAMLError) as exc:
            track, more = None, [f"Cannot read {path / 'track.yaml'}: {exc}"]
        found += more
        if track is None:
            continue
        tracks.append(track)
        if framework is not None:
            found += track_problems(track, framework)
        found += [f"{track.path / 'track.yaml'}: assignments[{index}].id: {a.id!r} has no notebook "
                  f"under source/{a.id}/; add source/{a.id}/{a.id}.ipynb or remove the entry."
                  for index, a in enumerate(track.assignments)
                  if not any((track.path / "source" / a.id).glob("*.ipynb"))]
    found += prerequisite_problems(tracks, every_track=True)
    if framework is not None:
        found += _hook_problems(source, framework, installed_hooks() if hooks is None else hooks)
    return found, tracks


def _hook_problems(source: Path, framework: Framework, hooks: Iterable[Hook]) -> list[str]:
    found = []
    for name, check in hooks:
        path = source / f"{name}.yaml"
        if not path.is_file():
            continue
        try:
            check(path, framework)
        except click.ClickException as exc:
            found += exc.message.splitlines()
    return found
