"""The sandbox's system-call filter: deny what a notebook never needs, with EPERM.

Namespaces, the private root and rlimits leave a few kernel features through
which an unprivileged process escapes its limits. Anonymous memory files
(``memfd_create``) and System V segments hold memory that no address-space
limit counts; a nested user namespace makes the learner root of it, free to
mount a 100 GiB tmpfs; socket buffers enlarged with ``SO_SNDBUF`` hold memory
outside the limit too; the per-uid keyring outlives the notebook, so one
graded notebook could leave a message for the next. The filter denies these,
and what Docker's default profile and Flatpak deny besides: tracing other
processes, BPF, performance counters, kernel modules, host administration.

The filter is compiled once, with libseccomp (Debian's ``libseccomp2``, which
apt itself depends on), in the zygote that never runs learner code, and exported
as a classic BPF program. Each sandbox installs that program with ``prctl`` as
the last step of its setup, after the privilege drop and before the first cell.
A denied call fails with ``EPERM`` (``clone3`` with ``ENOSYS``, so the C library
falls back to ``clone``, whose flags the filter can read), so learner code sees
a Python ``PermissionError`` rather than a killed notebook.
"""

from __future__ import annotations

import ctypes
import errno
import os
import tempfile

from grader.errors import SandboxUnavailableError

#: System calls denied outright, by why a notebook is better off without them.
DENIED: dict[str, tuple[str, ...]] = {
    # A nested user namespace would make learner code root of its own namespaces.
    "namespaces and mounts": (
        "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree",
        "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"),
    # Memory that RLIMIT_AS does not count, or that is pinned or placed by hand.
    "memory outside the limits": (
        "memfd_create", "memfd_secret", "userfaultfd", "shmget", "msgget", "io_uring_setup",
        "io_uring_enter", "io_uring_register", "mbind", "set_mempolicy", "migrate_pages",
        "move_pages"),
    # The uid's keyring outlives the notebook: a channel from one graded notebook to the next.
    "kernel keyrings": ("add_key", "request_key", "keyctl"),
    "other processes and the kernel": (
        "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp",
        "pidfd_getfd", "perf_event_open", "bpf", "fanotify_init", "name_to_handle_at",
        "open_by_handle_at", "lookup_dcookie"),
    "host administration": (
        "acct", "syslog", "kexec_load", "kexec_file_load", "init_module", "finit_module",
        "delete_module", "reboot", "swapon", "swapoff", "quotactl", "quotactl_fd",
        "settimeofday", "clock_settime", "uselib", "ustat", "sysfs", "_sysctl", "vhangup",
        "iopl", "ioperm", "modify_ldt", "nfsservctl"),
}

#: ``SOL_SOCKET`` options that enlarge a socket's buffers (to 4 MiB and more each, outside the
#: address-space limit: 120 socket pairs held 941 MiB under a 256 MiB limit); denied, so every
#: socket keeps the kernel's default buffers.
SOL_SOCKET = 1
BUFFER_OPTIONS = {"SO_SNDBUF": 7, "SO_RCVBUF": 8, "SO_SNDBUFFORCE": 32, "SO_RCVBUFFORCE": 33}

#: ``clone`` flags that create namespaces; a ``clone`` with any of them is denied.
NAMESPACE_FLAGS = {
    "CLONE_NEWTIME": 0x00000080, "CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000, "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000, "CLONE_NEWNET": 0x40000000,
}

# libseccomp's ABI (seccomp.h): actions, filter attributes and comparison operators.
_ACT_ALLOW = 0x7FFF0000
_FLTATR_ACT_BADARCH = 2
_FLTATR_CTL_NNP = 3
_CMP_EQ = 4
_CMP_MASKED_EQ = 7
_NR_SCMP_ERROR = -1

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
#: Size of one classic BPF instruction (``struct sock_filter``).
_INSTRUCTION = 8


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


class _ArgCompare(ctypes.Structure):
    """``struct scmp_arg_cmp``: compare one system-call argument."""

    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


class _Program(ctypes.Structure):
    """``struct sock_fprog``: a classic BPF program for ``PR_SET_SECCOMP``."""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _libseccomp() -> ctypes.CDLL:
    try:
        library = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError as exc:
        raise SandboxUnavailableError(
            "libseccomp is missing, so the sandbox cannot filter system calls; install "
            "Debian's libseccomp2 (scripts/bootstrap does)") from exc
    library.seccomp_init.restype = ctypes.c_void_p
    library.seccomp_init.argtypes = [ctypes.c_uint32]
    library.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    library.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    library.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                               ctypes.c_uint, ctypes.POINTER(_ArgCompare)]
    library.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    library.seccomp_release.argtypes = [ctypes.c_void_p]
    library.seccomp_release.restype = None
    return library


def compile_filter() -> bytes:
    """Return the sandbox's filter as a classic BPF program for this machine's architecture.

    Calls in :data:`DENIED` that this architecture does not have are left out.
    System calls of another ABI (32-bit ``int 0x80``, x32) fail with ``EPERM``,
    so none of the rules can be sidestepped through them.

    Raises:
        SandboxUnavailableError: libseccomp is missing or refused a rule.
    """
    library = _libseccomp()
    context = library.seccomp_init(_ACT_ALLOW)
    if not context:
        raise SandboxUnavailableError("libseccomp could not start a filter")
    eperm = _errno_action(errno.EPERM)

    def add(name: str, action: int, *compare: _ArgCompare) -> None:
        number = library.seccomp_syscall_resolve_name(name.encode())
        if number == _NR_SCMP_ERROR:
            return  # not a system call of this architecture
        array = (_ArgCompare * len(compare))(*compare) if compare else None
        result = library.seccomp_rule_add_array(context, action, number, len(compare), array)
        if result != 0:
            raise SandboxUnavailableError(
                f"libseccomp refused the rule for {name}: {os.strerror(-result)}")

    try:
        # The privilege drop sets no_new_privs itself; the filter must not depend on libseccomp.
        for attribute, value in ((_FLTATR_ACT_BADARCH, eperm), (_FLTATR_CTL_NNP, 0)):
            if library.seccomp_attr_set(context, attribute, value) != 0:
                raise SandboxUnavailableError("libseccomp refused a filter attribute")
        for names in DENIED.values():
            for name in names:
                add(name, eperm)
        # clone's flags are its first argument on x86_64 and aarch64 (the architectures the
        # sandbox supports); one rule per flag, as a rule compares one value.
        for flag in NAMESPACE_FLAGS.values():
            add("clone", eperm, _ArgCompare(0, _CMP_MASKED_EQ, flag, flag))
        for option in BUFFER_OPTIONS.values():
            add("setsockopt", eperm, _ArgCompare(1, _CMP_EQ, SOL_SOCKET, 0),
                _ArgCompare(2, _CMP_EQ, option, 0))
        # clone3 passes its flags in memory the filter cannot read.
        add("clone3", _errno_action(errno.ENOSYS))
        with tempfile.TemporaryFile() as program:
            result = library.seccomp_export_bpf(context, program.fileno())
            if result != 0:
                raise SandboxUnavailableError(
                    f"libseccomp could not export the filter: {os.strerror(-result)}")
            program.seek(0)
            return program.read()
    finally:
        library.seccomp_release(context)


def install(program: bytes) -> None:
    """Apply *program* to the calling thread and every process it starts, for good.

    Sets ``no_new_privs`` first, which an unprivileged process needs to install a
    filter and which keeps set-user-ID programs from shedding it.

    Raises:
        OSError: the kernel refused the filter.
    """
    if not program or len(program) % _INSTRUCTION:
        raise ValueError("not a classic BPF program")
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _Program(len(program) // _INSTRUCTION, ctypes.cast(buffer, ctypes.c_void_p))
    ulong = ctypes.c_ulong
    for args, what in (((_PR_SET_NO_NEW_PRIVS, ulong(1), ulong(0), ulong(0), ulong(0)),
                        "prctl(NO_NEW_PRIVS)"),
                       ((_PR_SET_SECCOMP, ulong(_SECCOMP_MODE_FILTER), ctypes.byref(fprog),
                         ulong(0), ulong(0)), "prctl(SET_SECCOMP)")):
        if libc.prctl(ctypes.c_int(args[0]), *args[1:]) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"{what}: {os.strerror(code)}")
