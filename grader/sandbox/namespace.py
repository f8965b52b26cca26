"""Namespaces, a private root filesystem and the privilege drop, via Linux system calls.

Everything here runs as root in a freshly forked, single-threaded child, before
any learner code: it is the setup half of the sandbox.
"""

from __future__ import annotations

import ctypes
import fnmatch
import os
import platform
import shutil
import stat
import sys
from collections.abc import Collection

from grader.errors import SandboxUnavailableError

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2

PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4

#: keyctl(2) operations and special keyring ids (linux/keyctl.h).
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_CLEAR = 7
KEY_SPEC_USER_KEYRING = -4
#: keyctl has no glibc wrapper; its system call number per architecture.
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}

#: pivot_root has no glibc wrapper on bookworm; its system call number per architecture.
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}

#: Device nodes the sandbox gets, bound from the host.
DEVICES = ("null", "zero", "full", "random", "urandom")

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (``unshare(2)``)."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0,
          data: str | None = None) -> None:
    """Mount a filesystem (``mount(2)``)."""
    def enc(value: str | None) -> bytes | None:
        return None if value is None else os.fsencode(value)

    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def bind_readonly(source: str, target: str) -> None:
    """Bind *source* at *target*, read-only, without set-user-ID or devices."""
    mount(source, target, None, MS_BIND | MS_REC)
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def pivot_root(new_root: str, put_old: str) -> None:
    """Make *new_root* the root of this mount namespace (``pivot_root(2)``)."""
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise SandboxUnavailableError(f"pivot_root is not known on {platform.machine()}")
    _check(_libc.syscall(number, os.fsencode(new_root), os.fsencode(put_old)), "pivot_root")


def read_only_trees() -> list[str]:
    """Return the host directories the sandbox sees read-only: /usr and the Python prefixes."""
    trees = ["/usr"]
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix):
        real = os.path.realpath(prefix)
        if not any(real == t or real.startswith(t + os.sep) for t in trees):
            trees.append(real)
    return trees


def build_root(root: str, workdir: str | None, uid: int, gid: int, scratch_bytes: int,
               exclude: Collection[str] = ()) -> None:
    """Assemble the sandbox's root filesystem at *root* and switch to it.

    The new root is a tmpfs holding read-only binds of /usr and the Python
    prefix, a minimal /etc and /dev, a fresh /proc, and two small tmpfs mounts
    owned by the sandbox user: /work (a copy of *workdir*'s regular files, see
    :func:`copy_regular_files`) and /tmp. The host's
    root is detached afterwards, so nothing else of the host is reachable.
    """
    # The mount points, /etc and /dev must be reachable by the sandbox user whatever umask
    # the grader runs under (a service started under umask 077 would otherwise make /opt of
    # the new root 0700, and every module not imported before the switch unimportable).
    os.umask(0o022)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("qcampus-sandbox", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    for name in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
        host = "/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), os.path.join(root, name))
    for tree in read_only_trees():
        inside = root + tree
        os.makedirs(inside, exist_ok=True)
        bind_readonly(tree, inside)
    scratch = f"size={scratch_bytes},mode=0700,uid={uid},gid={gid}"
    for name in ("work", "tmp"):
        os.mkdir(os.path.join(root, name))
        mount("qcampus-scratch", os.path.join(root, name), "tmpfs", MS_NOSUID | MS_NODEV, scratch)
    if workdir is not None:
        copy_regular_files(workdir, os.path.join(root, "work"), uid=uid, gid=gid, exclude=exclude)
    _make_etc(os.path.join(root, "etc"), uid, gid)
    os.mkdir(os.path.join(root, "dev"))
    for device in DEVICES:
        node = os.path.join(root, "dev", device)
        open(node, "w").close()
        mount("/dev/" + device, node, None, MS_BIND)
    os.mkdir(os.path.join(root, "proc"))
    os.mkdir(os.path.join(root, ".old"))
    pivot_root(root, os.path.join(root, ".old"))
    os.chdir("/")
    _check(_libc.umount2(b"/.old", ctypes.c_int(MNT_DETACH)), "umount old root")
    os.rmdir("/.old")
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


#: Files of the submission folder that never go into the sandbox: they hold the tests.
NOT_COPIED = ("*.ipynb", "timestamp.txt")


def copy_regular_files(source: str, target: str | None = None, *, uid: int = -1, gid: int = -1,
                       exclude: Collection[str] = ()) -> list[str]:
    """Copy the regular files and directories under *source* to *target*, following no link.

    Every directory and file is opened relative to its parent with ``O_NOFOLLOW``
    and checked with ``fstat``, so a symbolic link (to ``/etc/shadow``, say) is
    never read, even by root. Symbolic links, FIFOs, sockets and devices are
    skipped, as are notebooks, ``timestamp.txt`` and the relative paths in
    *exclude* (with everything under them). With *target* None nothing is
    copied. Copies are owned by *uid*/*gid* (unchanged if -1).

    Returns:
        The relative paths skipped because they were not regular files or directories.
    """
    skipped: list[str] = []
    root = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_DIRECTORY)
    try:
        _copy_dir(root, "", target, (uid, gid), set(exclude), skipped)
    finally:
        os.close(root)
    return skipped


def _copy_dir(dir_fd: int, prefix: str, target: str | None, owner: tuple[int, int],
              exclude: set[str], skipped: list[str]) -> None:
    with os.scandir(dir_fd) as entries:
        names = sorted(entry.name for entry in entries)
    for name in names:
        rel = prefix + name
        if rel in exclude:
            continue
        try:
            seen = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:  # removed since the folder was listed
            continue
        if not (stat.S_ISDIR(seen.st_mode) or stat.S_ISREG(seen.st_mode)):
            skipped.append(rel)  # a symbolic link, FIFO, socket or device: never opened
            continue
        if target is None and stat.S_ISREG(seen.st_mode):
            continue
        if stat.S_ISREG(seen.st_mode) and any(fnmatch.fnmatch(name, p) for p in NOT_COPIED):
            continue
        kind = os.O_DIRECTORY if stat.S_ISDIR(seen.st_mode) else 0
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | kind,
                         dir_fd=dir_fd)
        except OSError:  # replaced by a link or something else since it was looked at
            skipped.append(rel)
            continue
        try:
            info = os.fstat(fd)
            if (info.st_dev, info.st_ino) != (seen.st_dev, seen.st_ino):
                skipped.append(rel)
            elif stat.S_ISDIR(info.st_mode):
                inside = None if target is None else os.path.join(target, name)
                if inside is not None:
                    os.mkdir(inside, 0o700)
                _copy_dir(fd, rel + "/", inside, owner, exclude, skipped)
                if inside is not None:
                    os.chmod(inside, stat.S_IMODE(info.st_mode) & 0o755 | 0o700)
                    os.chown(inside, *owner)
            elif target is not None:
                _copy_file(fd, os.path.join(target, name), info, owner)
        finally:
            os.close(fd)


def _copy_file(fd: int, path: str, info: os.stat_result, owner: tuple[int, int]) -> None:
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(os.dup(fd), "rb") as src, os.fdopen(out, "wb", closefd=False) as dst:
            shutil.copyfileobj(src, dst)
        os.fchmod(out, stat.S_IMODE(info.st_mode) & 0o755 | 0o600)
        os.utime(out, ns=(info.st_atime_ns, info.st_mtime_ns))
        os.fchown(out, *owner)
    finally:
        os.close(out)


def _make_etc(etc: str, uid: int, gid: int) -> None:
    """Write the few /etc files programs expect; nothing is bound from the host's /etc."""
    os.mkdir(etc)
    files = {
        "passwd": f"root:x:0:0::/root:/usr/sbin/nologin\nlearner:x:{uid}:{gid}::/work:/usr/sbin/nologin\n",
        "group": f"root:x:0:\nlearner:x:{gid}:\n",
        "hosts": "127.0.0.1 localhost\n",
    }
    for name, text in files.items():
        with open(os.path.join(etc, name), "w") as handle:
            handle.write(text)


def _keyctl(operation: int, argument: int | None, what: str) -> None:
    number = SYS_KEYCTL.get(platform.machine())
    if number is None:
        raise SandboxUnavailableError(f"keyctl is not known on {platform.machine()}")
    _check(0 if _libc.syscall(number, operation, argument) >= 0 else -1, what)


def forget_keyrings() -> None:
    """Leave the grader's session keyring for a new, empty one of this process alone.

    Run as root before the privilege drop: otherwise the sandbox would still
    possess the grader's session keyring, and possession grants access to its keys.
    """
    _keyctl(KEYCTL_JOIN_SESSION_KEYRING, None, "keyctl(JOIN_SESSION_KEYRING)")


def clear_user_keyring() -> None:
    """Empty the keyring of the calling user, which outlives its processes.

    Run as the sandbox user, after the privilege drop: whatever an earlier run as
    this user left there is gone before learner code starts (the system-call
    filter keeps learner code from storing anything new).
    """
    _keyctl(KEYCTL_CLEAR, KEY_SPEC_USER_KEYRING, "keyctl(CLEAR, user keyring)")


def drop_privileges(uid: int, gid: int) -> None:
    """Become *uid*/*gid* for good, with no supplementary groups and no way back."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
