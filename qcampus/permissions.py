"""File modes and owners of a deployment: what learners' system users may read.

Learners are local system users (``jupyter-<name>``), so anything the file
system lets "others" read, every learner reads: solutions and hidden tests,
answer keys, gradebooks, the certificates database and the secrets. This
module closes those paths when ``qcampus init`` runs and files are created,
and inspects them for ``qcampus status``, which names every unsafe path with
its mode, owner and the command that fixes it.

Course sources live in the operator's checkout (``courses.source``); they, and
the git history beside them, are closed to other users in place. The Python
packages of an editable install stay readable: learners' kernels import
``grader`` from the checkout.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: System group of the instructors (see hub_config): may read course sources and gradebooks.
INSTRUCTORS_GROUP = "qcampus-instructors"
#: Mode bits of "every other local user".
OTHERS = 0o007
#: At most this many unsafe paths are named per tree; the rest are counted.
MAX_NAMED = 5


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Create files 0600 and directories 0700 inside the block, whatever the caller's umask."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def read_or_create_secret(path: Path, new: Callable[[], str] | None = None) -> str:
    """Return the secret in *path*, creating it (mode 0600) from *new*() if it does not exist.

    Creation is atomic and exclusive, so processes starting together agree on one
    secret. *new* defaults to 48 random bytes, URL-safe.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write((new or (lambda: secrets.token_urlsafe(48)))() + "\n")
    return path.read_text(encoding="ascii").strip()


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_APPEND) -> int:
    """Open *path* as a file only its owner reads (0600), also when it already existed looser.

    Symlinks are refused (``O_NOFOLLOW``): a link planted in a shared directory
    must not redirect a root-written file.
    """
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    except OSError:
        os.close(fd)
        raise
    return fd


def _walk(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Yield *root* and everything below it with its ``lstat``, never following a symlink."""
    try:
        yield root, root.lstat()
    except FileNotFoundError:
        return
    if not root.is_dir() or root.is_symlink():
        return
    for directory, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(directory, name)
            try:
                yield path, path.lstat()
            except FileNotFoundError:
                continue  # removed while we walked


def close_tree(root: Path, gid: int | None = None) -> int:
    """Close *root* and everything below it to other users; return how many modes changed.

    With *gid*, the tree also goes to that group, which may read (and enter
    directories) but not write: instructors read course sources, the owner
    (root, or the author of a checkout) keeps editing them.
    """
    changed = 0
    for path, info in _walk(root):
        if stat.S_ISLNK(info.st_mode):
            continue
        mode = stat.S_IMODE(info.st_mode)
        wanted = mode & ~OTHERS
        if gid is not None:
            if info.st_gid != gid:
                os.chown(path, -1, gid, follow_symlinks=False)
            wanted |= 0o050 if stat.S_ISDIR(info.st_mode) else 0o040
        if wanted != mode:
            os.chmod(path, wanted)
            changed += 1
    return changed


def make_private(root: Path) -> int:
    """Remove group and others' bits from *root* and everything below; return how many changed.

    For trees only root uses (hub state, logs, secrets): files an older qcampus,
    or a process with a looser umask, left readable are closed at the next init.
    """
    changed = 0
    for path, info in _walk(root):
        mode = stat.S_IMODE(info.st_mode)
        if not stat.S_ISLNK(info.st_mode) and mode & 0o077:
            os.chmod(path, mode & ~0o077)
            changed += 1
    return changed


def git_dirs(path: Path) -> list[Path]:
    """Return the git directories holding the history of the work tree around *path*.

    A worktree's ``.git`` is a file naming its own directory, whose
    ``commondir`` names the directory with the objects; both are returned.
    """
    for parent in [path, *path.parents]:
        marker = parent / ".git"
        if marker.is_dir():
            return [marker]
        if marker.is_file():
            text = marker.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return []
            own = (parent / text.removeprefix("gitdir:").strip()).resolve()
            found = [own]
            common = own / "commondir"
            if common.is_file():
                found.append((own / common.read_text(encoding="utf-8").strip()).resolve())
            return found
    return []


def close_history(path: Path) -> list[Path]:
    """Close the git directories around *path* to other users; return those changed.

    Only the directory itself is closed: without the right to enter it, no
    object below can be opened, and git keeps working for its owner.
    """
    changed = []
    for git in git_dirs(path):
        mode = stat.S_IMODE(git.stat().st_mode)
        if mode & OTHERS:
            os.chmod(git, mode & ~OTHERS)
            changed.append(git)
    return changed


# --- inspection for `qcampus status` ---------------------------------------------------


@dataclass(frozen=True)
class Exposure:
    """A path whose mode or owner lets the wrong users in."""

    path: Path
    mode: int
    owner: str
    group: str
    problem: str
    fix: str

    def describe(self) -> str:
        return (f"{self.path} (mode {self.mode:04o}, {self.owner}:{self.group}) {self.problem}; "
                f"fix: {self.fix}")


def _name(lookup, ident: int) -> str:
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def _exposure(path: Path, info: os.stat_result, problem: str, fix: str) -> Exposure:
    return Exposure(path, stat.S_IMODE(info.st_mode), _name(pwd.getpwuid, info.st_uid),
                    _name(grp.getgrgid, info.st_gid), problem, fix)


def trusted_gids() -> set[int]:
    """Return the groups that may read private files: root's, and the instructors' if it exists."""
    gids = {0}
    with contextlib.suppress(KeyError):
        gids.add(grp.getgrnam(INSTRUCTORS_GROUP).gr_gid)
    return gids


def inspect_tree(root: Path, fix: str, *, group_may_read: set[int] | None = None,
                 recursive: bool = True, check_owner: bool = True) -> list[Exposure]:
    """Return the paths of *root* that others, an unexpected group or a non-root owner can reach.

    Args:
        root: A file or directory that learners must not read.
        fix: The command that closes it, shown with every finding.
        group_may_read: Groups allowed to hold group permissions (default root's only).
        recursive: Also inspect everything below a directory.
        check_owner: Require root (or the user running status) as owner; off for a
            checkout, whose author may own it.
    """
    allowed = {0} if group_may_read is None else group_may_read
    owners = {0, os.geteuid()}
    found = []
    walk = _walk(root) if recursive else (
        [(root, root.lstat())] if os.path.lexists(root) else [])
    for path, info in walk:
        if stat.S_ISLNK(info.st_mode):
            continue
        mode = stat.S_IMODE(info.st_mode)
        if mode & OTHERS:
            found.append(_exposure(path, info, "is open to every local user (learners included)", fix))
        elif mode & 0o070 and info.st_gid not in allowed:
            found.append(_exposure(path, info, "is open to a group that is not root's or the "
                                               "instructors'", fix))
        elif check_owner and info.st_uid not in owners:
            found.append(_exposure(path, info, "belongs to a user other than root, who can "
                                               "change its mode", fix))
    return found


def inspect_writable(root: Path, fix: str) -> list[Exposure]:
    """Return the paths below *root* that a user other than root can change.

    For code and configuration that root runs or the hub hands to every server
    (the Python environment, the project's packages, the proxy, the servers'
    Jupyter configuration): whoever can change them runs code as root or in
    every learner's server.
    """
    owners = {0, os.geteuid()}
    found = []
    for path, info in _walk(root):
        if stat.S_ISLNK(info.st_mode):
            continue
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o002:
            found.append(_exposure(path, info, "can be changed by every local user", fix))
        elif mode & 0o020 and info.st_gid != 0:
            found.append(_exposure(path, info, "can be changed by a group that is not root's", fix))
        elif info.st_uid not in owners:
            found.append(_exposure(path, info, "belongs to a user other than root, who can "
                                               "change it", fix))
    return found
