"""The enrolment roster of a deployment (``qcampus roster``).

Instructors enrol a cohort from a CSV file with the columns ``username``,
``role`` (learner, instructor or examiner) and ``tracks`` (track ids separated
by ``;`` or spaces; empty for instructors means every track). Every row is
validated before anything is stored, so a file with one bad row changes
nothing. The roster lives in ``QCAMPUS_HOME/roster.yaml`` (root-owned, 0600)
and is the source of truth: the hub reads it at start (users and groups) and
at every login (who may log in). ``roster add`` and ``roster remove`` write it
first, then run the packages' ``qcampus.roster`` steps: the hub package's
brings a running hub to the new roster through its REST API, so changes need
no restart. Removing someone ends their hub access only; their system user,
home, submissions and grades stay.

Staff accounts (and learners' where ``accounts.learner_first_use`` is false)
cannot be claimed by choosing a password at first login: ``roster add`` prints
a one-time activation code for each of them that has no password yet (see
:mod:`qcampus.activation`); ``roster activate`` prints a new one.
"""

from __future__ import annotations

import csv
import dbm
import io
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import click
import yaml

from qcampus import settings as settings_mod
from qcampus.activation import Activations, needs_activation
from qcampus.deployment import tracks as find_tracks
from qcampus.errors import QcampusError

ROSTER_FILE = "roster.yaml"
ROLES = ("learner", "instructor", "examiner")
# Hub names become system users ``jupyter-<name>``: lower-case letters, digits,
# ``_`` and ``-``, starting with a letter, short enough for useradd's 32 bytes.
USERNAME = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")
COLUMNS = ("username", "role", "tracks")
#: Entry-point group of steps run after the roster file changed (each takes the Settings).
ROSTER_HOOKS = "qcampus.roster"


class RosterError(QcampusError):
    """A roster file or one of its rows is invalid; nothing was stored."""

    exit_code = 6


@dataclass(frozen=True)
class Member:
    """One enrolled person: hub username, role and the tracks they take or teach."""

    username: str
    role: str
    tracks: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"role": self.role, "tracks": list(self.tracks)}


def parse_csv(text: str, known_tracks: Iterable[str], origin: str = "roster") -> list[Member]:
    """Return the members of a roster CSV, or raise naming every bad line.

    Raises:
        RosterError: a header is missing or a row is invalid (all problems listed).
    """
    known = set(known_tracks)
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [col for col in COLUMNS if col not in header]
    if missing:
        raise RosterError(f"{origin}: the first line must name the columns {', '.join(COLUMNS)}; "
                          f"missing: {', '.join(missing)}. Nothing was enrolled.")
    reader.fieldnames = header
    problems: list[str] = []
    members: list[Member] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(f"line {line}: more fields than the {len(header)} columns")
            continue
        username = (row.get("username") or "").strip()
        role = (row.get("role") or "").strip().lower()
        tracks = tuple(t for t in re.split(r"[;\s]+", (row.get("tracks") or "").strip()) if t)
        if not username and not role and not tracks:
            continue  # a blank line
        if not USERNAME.match(username):
            problems.append(f"line {line}: username {username[:40]!r} must be 1-24 lower-case "
                            f"letters, digits, '_' or '-', starting with a letter")
        elif username in seen:
            problems.append(f"line {line}: username {username!r} already on line {seen[username]}")
        else:
            seen[username] = line
        if role not in ROLES:
            problems.append(f"line {line}: role {role[:40]!r} must be one of {', '.join(ROLES)}")
        unknown = [t for t in tracks if t not in known]
        if unknown:
            problems.append(f"line {line}: unknown track(s) {', '.join(unknown)}; known tracks: "
                            f"{', '.join(sorted(known)) or 'none'}")
        if role == "learner" and not tracks:
            problems.append(f"line {line}: a learner needs at least one track")
        members.append(Member(username, role, tracks))
    if problems:
        raise RosterError(f"{origin} has {len(problems)} problem(s); nothing was enrolled. "
                          "Fix these lines and run the command again:\n  " + "\n  ".join(problems))
    return members


def path(home: Path) -> Path:
    return home / ROSTER_FILE


def load(home: Path) -> dict[str, Member]:
    """Return the enrolled members of the deployment in *home* by username."""
    try:
        data = yaml.safe_load(path(home).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return {}
    except (OSError, yaml.YAMLError) as exc:
        raise RosterError(f"Cannot read {path(home)}: {exc}. Restore it from a backup.") from exc
    users = data.get("users") if isinstance(data, Mapping) else None
    if not isinstance(users, Mapping):
        raise RosterError(f"{path(home)} must hold a mapping 'users'. Restore it from a backup.")
    return {name: Member(name, entry["role"], tuple(entry.get("tracks") or ()))
            for name, entry in users.items()}


def save(home: Path, members: Mapping[str, Member]) -> None:
    """Write the roster atomically (a crash leaves the old or the new file, never half)."""
    text = ("# Enrolled users; written by `qcampus roster add`.\n"
            + yaml.safe_dump({"users": {n: m.as_dict() for n, m in sorted(members.items())}},
                             sort_keys=False))
    target = path(home)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def enrol(home: Path, new: Iterable[Member]) -> dict[str, Member]:
    """Add or update *new* members in the roster of *home* and return the whole roster."""
    members = load(home)
    for member in new:
        members[member.username] = member
    save(home, members)
    return members


def withdraw(home: Path, usernames: Iterable[str]) -> dict[str, Member]:
    """Remove *usernames* from the roster of *home* and return the whole roster.

    Raises:
        RosterError: a name is not enrolled; nothing was changed.
    """
    members = load(home)
    unknown = [name for name in usernames if name not in members]
    if unknown:
        raise RosterError(f"Not enrolled: {', '.join(unknown)} (`qcampus roster list` shows "
                          f"who is). Nothing was removed.")
    for name in usernames:
        del members[name]
    save(home, members)
    return members


def run_hooks(settings: settings_mod.Settings,
              hooks: Iterable[Callable[[settings_mod.Settings], str | None]] | None = None
              ) -> list[str]:
    """Run every package's step after a roster change; return what they report they changed."""
    if hooks is None:
        hooks = [ep.load() for ep in entry_points(group=ROSTER_HOOKS)]
    return [said for hook in hooks if (said := hook(settings))]


NEXT_START = "They log in at the next start of the hub (`qcampus up`)."


@click.group("roster")
def roster() -> None:
    """Enrol learners, instructors and examiners from a CSV roster."""


home_option = click.option("--home", type=click.Path(file_okay=False, path_type=Path),
                           envvar="QCAMPUS_HOME", default="var", show_default=True,
                           help="Deployment directory.")


@roster.command("add")
@click.argument("csv_file", metavar="FILE.csv", type=click.Path(dir_okay=False, path_type=Path))
@home_option
def add_command(csv_file: Path, home: Path) -> None:
    """Enrol every row of FILE.csv (columns: username, role, tracks); all rows or none."""
    settings = settings_mod.load(home)
    if not settings.settings_file.is_file():
        raise RosterError(f"{settings.home} is not a deployment. Run `qcampus init` first.")
    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"Cannot read {csv_file}: {exc}. Save it as UTF-8 CSV.") from exc
    members = parse_csv(text, find_tracks(settings.courses_source), origin=str(csv_file))
    enrolled = enrol(settings.home, members)
    issued = issue_codes(settings, members)
    click.echo(f"Enrolled {len(members)} user(s) into {path(settings.home)}. Those with a "
               "code below activate their account with it, the others choose their password "
               "at first login.")
    # Codes first: a failing hub update must not lose the only display of a code.
    print_codes(settings, issued, enrolled)
    click.echo(" ".join(run_hooks(settings)) or NEXT_START)


@roster.command("remove")
@click.argument("usernames", metavar="USERNAME...", nargs=-1, required=True)
@home_option
def remove_command(usernames: tuple[str, ...], home: Path) -> None:
    """End the hub access of each USERNAME; their home, submissions and grades are kept."""
    settings = settings_mod.load(home)
    withdraw(settings.home, usernames)
    click.echo(f"Removed {', '.join(usernames)} from {path(settings.home)}; they can no longer "
               "log in. Their system user, home, submissions and grades are kept.")
    click.echo(" ".join(run_hooks(settings)) or "No hub of this deployment is running; at its "
                                                  "next start they cannot log in.")


def has_password(hub_dir: Path, username: str) -> bool:
    """Return whether *username* already has a hub password (activated or first login done)."""
    try:
        with dbm.open(str(hub_dir / "passwords.dbm"), "r") as db:
            return username.encode("utf-8") in db
    except dbm.error:
        return False  # no password database yet: nobody has logged in


def issue_codes(settings: settings_mod.Settings, members: Iterable[Member],
                renew: bool = False) -> dict[str, tuple[str, float]]:
    """Issue activation codes to the *members* who need one and have no password yet.

    Args:
        renew: Also replace a code already pending (``roster activate``); otherwise
            re-enrolling someone keeps the code they were given.
    """
    accounts = settings["accounts"]
    activations = Activations(settings.hub_dir)
    pending = activations.pending()
    due = [m.username for m in members
           if needs_activation(m.role, accounts["learner_first_use"])
           and not has_password(settings.hub_dir, m.username)
           and (renew or m.username not in pending)]
    return activations.issue(due, accounts["activation_hours"])


def print_codes(settings: settings_mod.Settings, issued: Mapping[str, tuple[str, float]],
                members: Mapping[str, Member]) -> None:
    """Show each new code once, with where to use it and until when."""
    if not issued:
        return
    url = f"{settings.hub_url}/hub/activate"
    click.echo(f"Activation codes (shown only now; each works once, at {url}):")
    for name, (code, expires) in sorted(issued.items()):
        until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires))
        click.echo(f"  {name}\t{members[name].role}\t{code}\tvalid until {until}")


@roster.command("activate")
@click.argument("usernames", metavar="USERNAME...", nargs=-1, required=True)
@home_option
def activate_command(usernames: tuple[str, ...], home: Path) -> None:
    """Print a new one-time activation code for each USERNAME not yet activated."""
    settings = settings_mod.load(home)
    members = load(settings.home)
    unknown = [name for name in usernames if name not in members]
    if unknown:
        raise RosterError(f"Not enrolled: {', '.join(unknown)}. Enrol them with "
                          f"`qcampus roster add FILE.csv` first.")
    active = [name for name in usernames if has_password(settings.hub_dir, name)]
    if active:
        raise RosterError(f"Already activated: {', '.join(active)}. They log in with their "
                          f"password (and change it at /hub/auth/change-password).")
    chosen = [members[name] for name in usernames]
    issued = issue_codes(settings, chosen, renew=True)
    skipped = sorted(set(usernames) - set(issued))
    if skipped:
        click.echo(f"No code needed for {', '.join(skipped)}: they choose their password at "
                   f"first login (accounts.learner_first_use).")
    print_codes(settings, issued, members)


@roster.command("list")
@home_option
def list_command(home: Path) -> None:
    """List the enrolled users with their role and tracks."""
    for member in load(settings_mod.load(home).home).values():
        click.echo(f"{member.username}\t{member.role}\t{' '.join(member.tracks) or '-'}")
