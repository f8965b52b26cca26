"""Tracks of nbgrader source notebooks and their release into a deployment.

A track is a directory ``courses/<track>/`` with a ``track.yaml`` (titles in
English and Japanese, starting level, and per assignment its level, time,
prerequisites, feedback, deadline and the competency descriptors it trains;
schema ``qcampus/schemas/track.schema.yaml``) and nbgrader source assignments
under ``source/<assignment>/``. Loading checks the schema, every objective
against the framework, and prerequisites for dangling ids and cycles. Each track is one
nbgrader course in the deployment (``QCAMPUS_HOME/courses/<track>``); releasing
copies the source in, then runs nbgrader's own ``generate_assignment`` and
``release_assignment`` there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import traceback
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click
import yaml

from qcampus import framework as framework_mod
from qcampus import schemas
from qcampus import settings as settings_mod
from qcampus.errors import CourseError
from qcampus.framework import Framework, FrameworkError
from qcampus.gradebook import gradebook_config
from qcampus.settings import Settings


@dataclass(frozen=True)
class Objective:
    """A competency descriptor an assignment trains: a competency id at one level."""

    competency: str
    level: str


@dataclass(frozen=True)
class Assignment:
    """One nbgrader assignment of a track."""

    id: str
    title: dict[str, str]
    level: str = "A2"
    minutes: int = 0
    prerequisites: tuple[str, ...] = ()
    feedback: str = "manual"
    due: datetime | None = None
    objectives: tuple[Objective, ...] = ()

    @property
    def competencies(self) -> tuple[str, ...]:
        """Return the ids of the competencies the assignment trains, in objective order."""
        return tuple(dict.fromkeys(o.competency for o in self.objectives))


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


def _framework_beside(source: Path) -> Framework:
    """Return the framework of the courses directory *source*, else the installed one."""
    path = source / "framework.yaml"
    return framework_mod.load(path if path.is_file() else None)


def _assignment(raw: dict, origin: str, index: int) -> Assignment:
    due = None
    if "due" in raw:
        try:
            due = datetime.fromisoformat(raw["due"])
        except ValueError as exc:
            raise CourseError(f"{origin}: assignments[{index}].due: {raw['due']!r} is not a real "
                              f"date and time ({exc}).") from exc
    return Assignment(
        id=raw["id"], title=dict(raw["title"]), level=raw["level"], minutes=raw["minutes"],
        prerequisites=tuple(raw.get("prerequisites", ())), feedback=raw.get("feedback", "manual"),
        due=due, objectives=tuple(Objective(o["competency"], o["level"]) for o in raw["objectives"]))


def track_problems(track: Track, framework: Framework | None = None) -> list[str]:
    """Return what is wrong inside *track*: repeated assignment ids and objectives the framework lacks.

    Args:
        track: A track whose file passed its schema.
        framework: The framework objectives must point into (default: the one beside the track).
    """
    origin = str(track.path / "track.yaml")
    ids = [a.id for a in track.assignments]
    found = [f"{origin}: assignments: the id {repeated!r} is used twice."
             for repeated in sorted({i for i in ids if ids.count(i) > 1})]
    if any(a.objectives for a in track.assignments) and framework is None:
        try:
            framework = _framework_beside(track.path.parent)
        except FrameworkError as exc:
            return [*found, f"{origin}: objectives cannot be checked: {exc.message}"]
    for index, assignment in enumerate(track.assignments):
        for number, objective in enumerate(assignment.objectives):
            try:
                framework.check_reference(objective.competency, objective.level,
                                          where=f"{origin}: assignments[{index}].objectives[{number}]")
            except FrameworkError as exc:
                found.append(exc.message)
    return found


def prerequisite_problems(tracks: list[Track], *, every_track: bool = False) -> list[str]:
    """Return dangling prerequisites and prerequisite cycles among the assignments of *tracks*.

    Args:
        tracks: The tracks to check together.
        every_track: *tracks* is the whole curriculum, so a ``<track>/<assignment>``
            naming another track is an error; otherwise it is left to a check that
            sees every track.
    """
    by_id = {t.id: t for t in tracks}
    graph: dict[str, list[str]] = {}
    found = []
    for track in tracks:
        for index, assignment in enumerate(track.assignments):
            node = f"{track.id}/{assignment.id}"
            graph[node] = []
            for needed in assignment.prerequisites:
                other, _, name = needed.rpartition("/")
                target = by_id.get(other or track.id)
                where = f"{track.path / 'track.yaml'}: assignments[{index}].prerequisites"
                if target is None:
                    if every_track:
                        found.append(f"{where}: {needed!r} names no track of the curriculum.")
                elif name not in {a.id for a in target.assignments}:
                    found.append(f"{where}: {needed!r} is not an assignment of track {target.id!r}.")
                else:
                    graph[node].append(f"{target.id}/{name}")
    found += [f"prerequisites form a cycle: {' -> '.join(cycle)}; remove one of them."
              for cycle in _cycles(graph)]
    return found


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Return the cycles a depth-first search meets, each with its first node repeated at the end."""
    state: dict[str, str] = {}
    cycles = []

    def visit(trail: list[str]) -> None:
        node = trail[-1]
        state[node] = "open"
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(trail + [nxt])
        state[node] = "done"

    for start in graph:
        if start not in state:
            visit([start])
    return cycles


def build_track(data: object, path: Path) -> tuple[Track | None, list[str]]:
    """Return the track that parsed ``track.yaml`` *data* describes, and the problems found.

    The track is None when *data* breaks the schema; references are not checked
    here (see :func:`track_problems` and :func:`prerequisite_problems`).
    """
    origin = str(path / "track.yaml")
    found = schemas.problems(data, "track", origin)
    if found:
        return None, found
    assignments = []
    for index, raw in enumerate(data.get("assignments", [])):
        try:
            assignments.append(_assignment(raw, origin, index))
        except CourseError as exc:
            found.append(exc.message)
    return Track(id=path.name, path=path, title=dict(data["title"]), level=data["level"],
                 audience=data.get("audience", ""), assignments=tuple(assignments)), found


def parse_track(data: object, path: Path, framework: Framework | None = None) -> Track:
    """Validate parsed ``track.yaml`` of the track directory *path* and build the :class:`Track`."""
    track, found = build_track(data, path)
    if track is not None:
        found += track_problems(track, framework) + prerequisite_problems([track])
    if found:
        raise CourseError("\n".join(found))
    return track


def load_track(path: Path, framework: Framework | None = None) -> Track:
    """Read and validate ``track.yaml`` of the track in *path*.

    Args:
        path: The track directory.
        framework: The framework its objectives must point into (default: the
            ``framework.yaml`` beside the track, else the installed one).

    Raises:
        CourseError: the file is unreadable, breaks its schema, or refers to a
            missing competency descriptor or assignment; the message names each problem.
    """
    try:
        data = schemas.read_yaml(path / "track.yaml")
    except (OSError, yaml.YAMLError) as exc:
        raise CourseError(f"Cannot read {path / 'track.yaml'}: {exc}") from exc
    return parse_track(data, path, framework)


def load_tracks(source: Path, framework: Framework | None = None) -> list[Track]:
    """Return every track under *source*, sorted by id, with prerequisites checked across tracks."""
    if not source.is_dir():
        raise CourseError(f"Courses directory {source} does not exist. Set courses.source in "
                          f"settings.yaml or run qcampus from a checkout.")
    if framework is None and (source / "framework.yaml").is_file():
        # Read once for all tracks rather than once per track that has objectives.
        framework = framework_mod.load(source / "framework.yaml")
    tracks = [load_track(p, framework) for p in sorted(source.iterdir()) if (p / "track.yaml").is_file()]
    found = prerequisite_problems(tracks, every_track=True)
    if found:
        raise CourseError("\n".join(found))
    return tracks


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


def nbgrader(course_dir: Path, *args: str, db_url: str = "") -> subprocess.CompletedProcess[str]:
    """Run an nbgrader subcommand in *course_dir* with this interpreter's nbgrader.

    *db_url* is the course's gradebook (``Settings.gradebook_url``); "" leaves
    nbgrader's default, ``gradebook.db`` in the course directory. A process that
    runs one thread (a grading worker, the command line) forks and runs nbgrader in
    the child, which keeps what this process has imported (seconds less than a new
    interpreter); a threaded one starts ``python -m nbgrader``, since a fork copies
    locks other threads may hold.
    """
    env = environment_path_first()
    with gradebook_config(db_url) if db_url else nullcontext({}) as gradebook_env:
        # umask 007: what root writes (gradebook, autograded, feedback) stays writable by the
        # instructors' group that owns the course directory, and closed to everyone else.
        if threading.active_count() == 1:
            result = _forked_nbgrader(course_dir, args, {**env, **gradebook_env})
        else:
            result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir,
                                    env={**env, **gradebook_env}, capture_output=True,
                                    text=True, check=False, umask=0o007)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise CourseError(f"nbgrader {' '.join(args)} failed in {course_dir}:\n{tail}")
    return result


def _forked_nbgrader(course_dir: Path, args: tuple[str, ...],
                     env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``nbgrader *args*`` in a forked child as ``python -m nbgrader`` would; collect its output."""
    # Imported here, once per process, not in every child: a second of imports per command.
    from nbgrader.apps.nbgraderapp import NbGraderApp

    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as output:
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.dup2(output.fileno(), 1)
                os.dup2(output.fileno(), 2)
                sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the child's to the end
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
                os.chdir(course_dir)
                os.umask(0o007)
                os.environ.clear()
                os.environ.update(env)
                # A new interpreter's warning filters, not the caller's (a test's may turn
                # warnings into errors, which changes how traitlets reads some options).
                warnings.resetwarnings()
                for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning,
                                 ResourceWarning):
                    warnings.simplefilter("ignore", category)
                NbGraderApp.launch_instance(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        output.seek(0)
        text = output.read().decode(errors="replace")
    return subprocess.CompletedProcess(["nbgrader", *args], os.waitstatus_to_exitcode(status),
                                       text, "")


#: Entry point group of the exchange: a module with ``release(settings, course, assignment,
#: directory) -> str`` and ``released(settings, course) -> set[str]``.
EXCHANGE_GROUP = "qcampus.exchange"


def exchange():
    """Return the installed exchange (the ``qcampus.exchange`` entry point)."""
    from importlib.metadata import entry_points

    found = list(entry_points(group=EXCHANGE_GROUP))
    if not found:
        raise CourseError("No exchange is installed, so nothing can be released. Reinstall qcampus "
                          "(scripts/bootstrap).")
    return found[0].load()


def released(settings: Settings, track: Track) -> set[str]:
    """Return the ids of *track*'s assignments that learners can fetch now."""
    return exchange().released(settings, track.id)


def generate_assignment(course_dir: Path, assignment_id: str, db_url: str = "") -> None:
    """Make the student version of *assignment_id* in ``release/`` with nbgrader, root's and the
    course group's only (nbgrader's default, 644, opens it to every local user: what a live
    deployment generates is not closed again until the next ``qcampus init``).

    Raises:
        CourseError: nbgrader failed.
    """
    nbgrader(course_dir, "generate_assignment", assignment_id, "--force",
             "--GenerateAssignment.permissions=640", db_url=db_url)


def release(settings: Settings, track: Track, assignment: Assignment) -> str:
    """Generate *assignment* of *track* in the deployment's nbgrader course and release it.

    Returns:
        Where learners fetch it from, in words.
    """
    course_dir = settings.courses_root / track.id
    if not (course_dir / "nbgrader_config.py").is_file():
        raise CourseError(f"{course_dir} is not set up. Run `qcampus init` first.")
    src = track.path / "source" / assignment.id
    if not src.is_dir():
        raise CourseError(f"{src} does not exist: the track lists {assignment.id!r} but has no source.")
    dest = course_dir / "source" / assignment.id
    dest.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    shutil.copytree(src, dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    generate_assignment(course_dir, assignment.id, settings.gradebook_url(track.id))
    return exchange().release(settings, track.id, assignment.id, course_dir / "release" / assignment.id)


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
        offered = released(settings, track)
        for a in track.assignments:
            mark = "released" if a.id in offered else "not released"
            click.echo(f"  {a.id}  {a.title.get('en', '')}  ({mark})")


source_option = click.option(
    "--source", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Courses directory [default: the checkout's courses/, else the deployment's courses.source].")


def _checked_tracks(source: Path | None) -> tuple[Path, list[Track]]:
    """Return the courses directory (*source*, else the default one) and its tracks, all checked.

    Raises:
        CourseError: something in the directory is invalid; each problem was printed to
            stderr first, one line naming its file and field.
    """
    from qcampus import curriculum

    source = source or framework_mod.courses_dir()
    if not source.is_dir():
        raise CourseError(f"Courses directory {source} does not exist; pass --source.")
    found, tracks = curriculum.problems(source)
    for problem in found:
        click.echo(problem, err=True)
    if found:
        raise CourseError(f"{len(found)} problem(s) in {source}: fix each line above and run this "
                          f"again. / {source} に {len(found)} 件の問題があります。上の各行を直してから、"
                          f"もう一度実行してください。")
    return source, tracks


@courses.command("validate")
@source_option
def validate_command(source: Path | None) -> None:
    """Check the framework, glossary, every track and every reference; list each problem.

    When all is valid, print each track's assignments (level, minutes, feedback,
    competency@level) and the track's total time.
    """
    from qcampus import catalogue

    source, tracks = _checked_tracks(source)
    if tracks:
        click.echo(catalogue.table(tracks) + "\n")
    count = sum(len(t.assignments) for t in tracks)
    click.echo(f"{source}: the framework, the glossary, {len(tracks)} track(s) and {count} "
               f"assignment(s) are valid.")


@courses.command("docs")
@source_option
@click.option("--write", is_flag=True,
              help="Rewrite the generated list in --file instead of printing it.")
@click.option("--file", "document", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Document with the generated list [default: the checkout's docs/courses.md].")
def docs_command(source: Path | None, write: bool, document: Path | None) -> None:
    """Render the track list of docs/courses.md from framework.yaml and every track.yaml.

    The course files are validated first. Without --write the list is printed;
    with it, the part of the document between the generated-list markers is
    replaced and the rest is left as written.
    """
    from qcampus import catalogue

    source, tracks = _checked_tracks(source)
    block = catalogue.render(tracks, framework_mod.load(source / "framework.yaml"))
    if not write:
        click.echo(block, nl=False)
        return
    document = document or catalogue.DOCUMENT
    try:
        text = document.read_text(encoding="utf-8")
    except OSError as exc:
        raise CourseError(f"Cannot read {document}: {exc.strerror}; pass --file.") from exc
    updated = catalogue.replace(text, block, str(document))
    if updated == text:
        click.echo(f"{document}: the track list is up to date.")
        return
    document.write_text(updated, encoding="utf-8")
    count = sum(len(t.assignments) for t in tracks)
    click.echo(f"{document}: the track list now shows {len(tracks)} track(s) and {count} assignment(s).")


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
