"""Find what a deployment exposes to learners, for ``qcampus status``.

Each unsafe path becomes an error naming the path, its mode and owner, and the
command that fixes it; unsafe settings and the shared exchange directory an
older version left become warnings. Packages add their own checks through the
``qcampus.status`` entry-point group: each entry point is a callable taking the
:class:`~qcampus.settings.Settings` and returning :class:`~qcampus.status.Check`
objects, so the core never imports them.
"""

from __future__ import annotations

import importlib.util
import stat
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from qcampus.permissions import (
    MAX_NAMED,
    OTHERS,
    Exposure,
    git_dirs,
    inspect_tree,
    inspect_writable,
    trusted_gids,
)
from qcampus.settings import read_file

if TYPE_CHECKING:
    from qcampus.settings import Settings
    from qcampus.status import Check

STATUS_HOOKS = "qcampus.status"
#: The project's packages: the hub imports them as root, learners' kernels import grader.
PACKAGES = ("qcampus", "hub_config", "grader", "certificates", "submissions", "exams", "web")
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
#: Settings that may hold a database password (a URL with one is for root alone to read).
DATABASE_URLS = (("database", "url"), ("database", "instructors_url"),
                 ("certificates", "database_url"), ("submissions", "database_url"),
                 ("exams", "database_url"), ("web", "database_url"))


def _check(level: str, subject: str, message: str) -> Check:
    from qcampus.status import Check

    return Check(level, subject, message)


def _report(subject: str, exposures: list[Exposure], level: str = "error") -> list[Check]:
    """Name the first few exposures of one tree and count the rest."""
    found = [_check(level, subject, e.describe()) for e in exposures[:MAX_NAMED]]
    if len(exposures) > MAX_NAMED:
        found.append(_check(level, subject, f"and {len(exposures) - MAX_NAMED} more path(s) like "
                                            f"these; the same command fixes them."))
    return found


def sqlite_path(url: str) -> Path | None:
    """Return the file of a ``sqlite:///`` URL, or None for other databases and memory."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix):] in ("", ":memory:"):
        return None
    return Path(url[len(prefix):].split("?", 1)[0])


def database_files(database: Path) -> list[Path]:
    """Return an SQLite database and those of its side files that exist."""
    sides = [database.with_name(database.name + s) for s in SQLITE_SIDE_FILES]
    return [database, *(p for p in sides if p.exists())]


def course_checks(settings: Settings) -> list[Check]:
    """Course sources, their git history and the course directories (gradebooks included)."""
    found: list[Check] = []
    source, trusted = settings.courses_source, trusted_gids()
    if source.exists():
        found += _report("course sources", inspect_tree(
            source, f"`qcampus init` (or chmod -R o-rwx {source})", group_may_read=trusted,
            check_owner=False))
        for git in git_dirs(source):
            mode = stat.S_IMODE(git.stat().st_mode)
            if mode & OTHERS:
                found.append(_check("error", "course sources",
                                    f"{git} (mode {mode:04o}) holds every committed solution and "
                                    f"is open to every local user; fix: `qcampus init` (or "
                                    f"chmod o-rwx {git})"))
    root = settings.courses_root
    for course in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        found += _report(f"course {course.name}", inspect_tree(
            course, f"`qcampus init` (or chmod -R o-rwx {course})", group_may_read=trusted))
    return found


def private_file_checks(settings: Settings) -> list[Check]:
    """Databases, secrets, hub state, logs and the roster: root's alone."""
    found: list[Check] = []
    database = sqlite_path(settings.certificates_database_url)
    if database is not None and database.exists():
        for path in database_files(database):
            found += _report("certificates database",
                             inspect_tree(path, f"chmod 600 {path}", recursive=False))
    for subject, directory in (("secrets", settings.secrets), ("hub", settings.hub_dir),
                               ("logs", settings.logs)):
        if directory.exists():
            found += _report(subject, inspect_tree(directory, f"chmod -R go-rwx {directory}"))
    roster = settings.home / "roster.yaml"
    if roster.exists():
        found += _report("roster", inspect_tree(roster, f"chmod 600 {roster}", recursive=False))
    # Only what the file itself says: a password passed in the environment is not in it.
    written = read_file(settings.settings_file) if settings.settings_file.exists() else {}
    for section, key in DATABASE_URLS:
        value = (written.get(section) or {}).get(key)
        if isinstance(value, str) and urlsplit(value).password \
                and stat.S_IMODE(settings.settings_file.stat().st_mode) & OTHERS:
            found.append(_check("error", "settings",
                                f"{settings.settings_file} is readable by every local user and "
                                f"{section}.{key} holds a password; fix: chmod 600 "
                                f"{settings.settings_file}, or pass the URL as "
                                f"QCAMPUS_{section.upper()}__{key.upper()}"))
    return found


def package_dirs(names: Iterable[str] = PACKAGES) -> list[Path]:
    """Return the directories the project's packages load from, without importing them."""
    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            found.extend(Path(p) for p in spec.submodule_search_locations)
    return found


def code_roots(settings: Settings) -> list[Path]:
    """Return what root runs or every server reads: environment, packages, proxy, configuration."""
    roots = [Path(settings["hub"]["venv"]), *package_dirs(), settings.home / "jupyter"]
    proxy = Path(settings["hub"]["proxy_command"] or "/opt/qcampus/node_modules/.bin/x")
    if proxy.parent.name == ".bin" and proxy.parent.parent.name == "node_modules":
        roots.append(proxy.parent.parent)
    venv = roots[0].resolve()
    # Packages of a regular install live inside the environment: walk them once.
    return [r for i, r in enumerate(roots) if r.exists()
            and not (i and r.resolve().is_relative_to(venv))]


def code_checks(settings: Settings) -> list[Check]:
    """Code and configuration that only root may change."""
    found: list[Check] = []
    for root in code_roots(settings):
        found += _report("code", inspect_writable(
            root, f"chmod -R go-w {root} (and chown -R root:root {root} if another user owns it)"))
    return found


def exchange_checks(settings: Settings) -> list[Check]:
    """Warn about the shared exchange directory of older versions while learners can write it.

    Transfers now go through the qcampus service; what an older deployment's
    ``exchange/`` holds is kept, but nothing may be added to it any more.
    """
    exchange = settings.exchange
    if not exchange.is_dir():
        return []
    mode = stat.S_IMODE(exchange.stat().st_mode)
    if not mode & 0o022:
        return []
    return [_check("warn", "exchange",
                   f"{exchange} (mode {mode:04o}) is the shared exchange of an older qcampus. "
                   f"Submissions now go through the qcampus service; keep what it holds and "
                   f"close it: chmod 700 {exchange}")]


def setting_checks(settings: Settings) -> list[Check]:
    """Settings that weaken the separation between users."""
    found: list[Check] = []
    if not settings["hub"]["subdomain_host"]:
        found.append(_check("warn", "origins",
                            "hub.subdomain_host is empty: every user's server shares one origin "
                            "with the hub and the certificates service, so a learner's page can "
                            "act with a staff member's session. Set it (\"auto\" on one machine)."))
    return found


def run_hooks(settings: Settings,
              hooks: Iterable[Callable[[Settings], Iterable[Check]]] | None = None) -> list[Check]:
    """Run every package's status checks; a check that cannot load is itself reported."""
    found: list[Check] = []
    if hooks is None:
        loaded = []
        for ep in entry_points(group=STATUS_HOOKS):
            try:
                loaded.append(ep.load())
            except ImportError as exc:
                found.append(_check("warn", ep.name, f"its status checks cannot load ({exc}); "
                                                     f"reinstall qcampus with its extras."))
        hooks = loaded
    for hook in hooks:
        found.extend(hook(settings))
    return found


def checks(settings: Settings, hooks=None) -> list[Check]:
    """Return every exposure of the deployment (errors) and weak settings (warnings)."""
    return [*course_checks(settings), *private_file_checks(settings), *code_checks(settings),
            *exchange_checks(settings), *setting_checks(settings), *run_hooks(settings, hooks)]
