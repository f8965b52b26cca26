"""The pre-warmed zygote: imports the heavy libraries once, forks one sandbox per notebook.

Process tree for one notebook::

    grader ──socket──▶ zygote (pre-warmed, never runs learner code)
                         └─ keeper  (root; unshares namespaces, reports the exit status)
                              └─ init of the new PID namespace: builds the private
                                 root, applies rlimits, drops to the sandbox user,
                                 then runs the cells it reads from the grader's pipe

When the namespace's init dies, the kernel kills every process left in it, so
detached grandchildren cannot outlive the notebook.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import pkgutil
import resource
import signal
import socket
import sys
import traceback
import warnings
from collections.abc import Sequence

from grader.errors import SandboxUnavailableError
from grader.sandbox import frames, kernel, namespace, seccomp
from grader.sandbox.limits import Limits, image_bytes

#: Modules imported once in the zygote, so notebooks start with them loaded. Lessons draw
#: their figures with pyplot (about 0.4 s to import, more where the sandbox user has no
#: writable home for matplotlib's font cache) and fit with scipy.optimize (about 0.6 s).
DEFAULT_PRELOAD = ("numpy", "qiskit", "qiskit.quantum_info", "qiskit_aer", "dimod",
                   "dwave.samplers", "matplotlib.pyplot", "scipy.optimize")
#: Parts of this package that are not checks a test cell would import.
NOT_CHECKS = {"autograde", "sandbox", "cli"}

PR_SET_PDEATHSIG = 1
NAMESPACES = (namespace.CLONE_NEWNS | namespace.CLONE_NEWPID | namespace.CLONE_NEWNET
              | namespace.CLONE_NEWIPC | namespace.CLONE_NEWUTS)
#: One thread for the native pools of NumPy's BLAS and of OpenMP (Qiskit Aer): the grader
#: already runs one worker per core, and a pool's idle threads spin in every forked notebook
#: (about a third of a notebook's CPU on the first assignment).
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: Environment of learner code: nothing inherited from the grader.
SANDBOX_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
               "MPLBACKEND": "agg", **SINGLE_THREADED}


def single_threaded_native_pools() -> None:
    """Ask BLAS and OpenMP for one thread per process, unless the operator chose otherwise.

    The pools read these variables when NumPy (or Aer) is first imported, so this
    must run before that; afterwards it changes nothing.
    """
    for name, value in SINGLE_THREADED.items():
        os.environ.setdefault(name, value)


class Zygote:
    """A handle on a pre-warmed zygote process owned by the calling process."""

    def __init__(self, preload: Sequence[str] = DEFAULT_PRELOAD, drop: Sequence[int] = ()) -> None:
        """Fork the zygote; it closes its copies of the descriptors *drop* (its owner's only)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            ours.close()
            for fd in drop:
                os.close(fd)
            code = 1
            try:
                _zygote_main(theirs, preload)
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        self.pid = pid
        self.sock = ours
        ready = json.loads(self.sock.recv(1 << 16) or b'{"error": "the zygote exited"}')
        if "error" in ready:
            self.close()
            raise SandboxUnavailableError(f"the grading zygote could not start: {ready['error']}")

    def spawn(self, request: dict, fds: Sequence[int]) -> int:
        """Fork a sandboxed child for *request*, handing it *fds*; return the keeper's pid."""
        socket.send_fds(self.sock, [json.dumps(request).encode()], list(fds))
        reply = json.loads(self.sock.recv(1 << 16) or b'{"error": "the zygote exited"}')
        if "error" in reply:
            raise SandboxUnavailableError(f"the grading zygote failed: {reply['error']}")
        return reply["pid"]

    def close(self) -> None:
        """Stop the zygote and reap it."""
        self.sock.close()
        os.waitpid(self.pid, 0)


def _zygote_main(sock: socket.socket, preload: Sequence[str]) -> None:
    """Import *preload*, make the shell, then fork one child per request until EOF."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # Ctrl-C belongs to the grader, which stops the zygote itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Children (keepers) are reaped by the kernel; the grader learns their fate from the pipe.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        single_threaded_native_pools()
        for name in [*preload, *check_modules()]:
            importlib.import_module(name)
        if "matplotlib" in sys.modules:  # imported before the sandbox's MPLBACKEND applies
            sys.modules["matplotlib"].use(SANDBOX_ENV["MPLBACKEND"])
        shell = kernel.make_shell()
        program = seccomp.compile_filter()
    except Exception as exc:  # reported to the grader, which refuses to start
        sock.send(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return
    sock.send(b'{"ready": true}')
    while True:
        message, fds, _flags, _addr = socket.recv_fds(sock, 1 << 16, 2)
        if not message:
            return
        pid = os.fork()
        if pid == 0:
            sock.close()
            _keeper(json.loads(message), fds, shell, program)
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps({"pid": pid}).encode())


def check_modules() -> list[str]:
    """Return grader's check modules: test cells import them, and the sandbox cannot read them.

    The package may be installed from a source tree the sandbox does not mount,
    so every check module is imported before forking.
    """
    import grader

    return [f"grader.{m.name}" for m in pkgutil.iter_modules(grader.__path__)
            if m.name not in NOT_CHECKS and not m.name.startswith("_")]


def _keeper(request: dict, fds: list[int], shell: kernel.SandboxShell, program: bytes) -> None:
    """Enter the namespaces, fork their init, report its pid and later its exit status."""
    commands, results = fds
    code = 70
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if request["isolate"]:
            namespace.unshare(NAMESPACES)
        gate_r, gate_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(gate_w)
            os.read(gate_r, 1)
            os.close(gate_r)
            _sandboxed(request, commands, results, shell, program)
        os.close(gate_r)
        os.close(commands)
        # If the zygote dies (the grader was killed), take the sandbox down with us.
        signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() == 1:
            os.kill(pid, signal.SIGKILL)
        frames.write(results, {"pid": pid})
        os.write(gate_w, b"x")
        os.close(gate_w)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            report = {"exit": None, "signal": os.WTERMSIG(status)}
        else:
            report = {"exit": os.WEXITSTATUS(status), "signal": None}
        try:
            frames.write(results, report)
        except BrokenPipeError:  # the grader has already stopped listening: nothing to report to
            pass
        code = 0
    except BaseException:  # the keeper must never return into the zygote's loop
        traceback.print_exc()
    finally:
        os._exit(code)


def _sandboxed(request: dict, commands: int, results: int, shell: kernel.SandboxShell,
               program: bytes) -> None:
    """Confine this process, then serve cells; never returns.

    *program* is the system-call filter (:func:`grader.sandbox.seccomp.compile_filter`),
    installed last, once nothing of the setup needs a denied call any more.
    """
    code = 0
    try:
        os.setsid()
        limits = Limits(**request["limits"])
        uid, gid = request["uid"], request["gid"]
        if request["isolate"]:
            namespace.build_root(request["root"], request["workdir"], uid, gid,
                                 limits.scratch_bytes, request.get("exclude", ()))
            os.chdir("/work")
        else:
            os.chdir(request["workdir"])
        _keep_only(commands, results)
        os.environ.clear()
        os.environ.update(SANDBOX_ENV, HOME=os.getcwd())
        image = image_bytes()
        for which, value in limits.rlimits(image).items():
            hard = value + 1 if which == resource.RLIMIT_CPU else value
            resource.setrlimit(which, (value, hard))
        if request["isolate"]:
            namespace.forget_keyrings()
            namespace.drop_privileges(uid, gid)
            namespace.clear_user_keyring()
        _reset_warnings()
        seccomp.install(program)
    except BaseException as exc:  # setup failed before any learner code ran: tell the grader
        frames.write(results, {"error": f"sandbox setup failed: {type(exc).__name__}: {exc}"})
        os._exit(71)
    try:
        kernel.serve(shell, commands, results, limits.output_bytes)
    finally:
        os._exit(code)


def _keep_only(*keep: int) -> None:
    """Point 0-2 at /dev/null and close every other descriptor but *keep*."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:  # the descriptor of the listdir itself is already gone
                pass


def _reset_warnings() -> None:
    """Give learner code Python's default warning filters, not the grader's."""
    warnings.resetwarnings()
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning,
                     ResourceWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
    sys.excepthook = sys.__excepthook__
