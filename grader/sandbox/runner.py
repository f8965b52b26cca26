"""The grader's side of a sandboxed run: send cells, enforce time and bytes, kill, report."""

from __future__ import annotations

import dataclasses
import os
import select
import shutil
import signal
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from grader.errors import SandboxProtocolError, SandboxUnavailableError
from grader.sandbox import frames
from grader.sandbox.limits import Limits
from grader.sandbox.namespace import copy_regular_files
from grader.sandbox.slots import Slot, claim
from grader.sandbox.users import ensure_user, user_name
from grader.sandbox.zygote import DEFAULT_PRELOAD, Zygote

OK = "ok"
TIMEOUT = "timeout"
RESOURCE_LIMIT = "resource limit"
OUTPUT_LIMIT = "output limit"
DIED = "process ended"
PROTOCOL = "protocol error"

#: Empty host directory each isolated run mounts its private root over (in its own namespace).
MOUNTPOINT = "/run/qcampus-sandbox"
#: Seconds allowed for the sandbox to come up before the first cell.
SETUP_SECONDS = 10.0
OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error"}


@dataclass
class CellRun:
    """What one code cell produced."""

    outputs: list[dict] = field(default_factory=list)
    execution_count: int | None = None


@dataclass
class NotebookRun:
    """The outcome of one notebook: per-cell outputs, and why it stopped if it did."""

    cells: list[CellRun]
    status: str = OK
    reason: str = ""
    truncated: bool = False
    #: Entries of the work directory not copied in: symbolic links and special files.
    skipped: list[str] = field(default_factory=list)


def error_output(ename: str, message: str) -> dict:
    """Return an nbformat error output whose traceback is *message*."""
    return {"output_type": "error", "ename": ename, "evalue": message,
            "traceback": [f"{ename}: {message}"]}


class Sandbox:
    """Run notebooks, one at a time, in sandboxes forked from a pre-warmed zygote.

    Args:
        limits: Resource limits for every notebook.
        isolate: Namespaces, private root and the sandbox user; False only for
            the explicitly unsafe mode, which keeps rlimits and timeouts only.
        slot: The sandbox user to run as (one per concurrent sandbox): held by this
            sandbox alone on the machine until :meth:`close`; when another sandbox holds
            it, the next free one is taken (:mod:`grader.sandbox.slots`).
        preload: Modules the zygote imports once.
    """

    def __init__(self, limits: Limits | None = None, *, isolate: bool = True, slot: int = 0,
                 preload: Sequence[str] = DEFAULT_PRELOAD) -> None:
        self.limits = limits or Limits()
        self.isolate = isolate
        self.slot: Slot | None = None
        if isolate:
            if os.geteuid() != 0:
                raise SandboxUnavailableError(
                    "the sandbox needs root to create namespaces and switch to the sandbox "
                    "user; run as root, or pass --unsafe-no-sandbox to grade without isolation")
            self.slot = claim(slot)
            try:
                self.uid, self.gid = ensure_user(user_name(self.slot.number))
                os.makedirs(MOUNTPOINT, mode=0o700, exist_ok=True)
            except BaseException:
                self.slot.release()
                raise
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        self.preload = tuple(preload)
        try:
            self.zygote = Zygote(self.preload, drop=self._held())
        except BaseException:
            if self.slot is not None:
                self.slot.release()
            raise

    def _restart_zygote(self) -> None:
        try:
            os.kill(self.zygote.pid, signal.SIGKILL)
        except ProcessLookupError:  # already gone; it is reaped by close() below
            pass
        self.zygote.close()
        self.zygote = Zygote(self.preload, drop=self._held())

    def _held(self) -> tuple[int, ...]:
        """The slot's lock, which the zygote must not keep (it would outlive a killed owner)."""
        return (self.slot.fileno(),) if self.slot is not None and self.slot.held else ()

    def close(self) -> None:
        """Stop the zygote and give the slot back."""
        try:
            self.zygote.close()
        finally:
            if self.slot is not None:
                self.slot.release()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run(self, sources: Sequence[str], workdir: str | None = None,
            limits: Limits | None = None, exclude: Sequence[str] = ()) -> NotebookRun:
        """Execute *sources* in order in one fresh sandbox.

        Args:
            sources: The code cells' sources, sent one at a time.
            workdir: Directory whose regular files (not notebooks) are copied into the
                sandbox, never following a symbolic link
                (:func:`~grader.sandbox.namespace.copy_regular_files`).
            limits: Overrides the sandbox's limits for this notebook.
            exclude: Paths relative to *workdir* not to copy.

        Returns:
            One :class:`CellRun` per source. Cells that could not run carry an
            error output saying why, so nbgrader scores them as failed.
        """
        limits = limits or self.limits
        run = NotebookRun(cells=[CellRun() for _ in sources])
        if workdir is not None:
            run.skipped = copy_regular_files(workdir, exclude=exclude)
        # Isolated runs mount their private root over one fixed, empty directory, each in
        # its own mount namespace, so nothing is left on the host even if the grader dies.
        scratch = MOUNTPOINT if self.isolate else tempfile.mkdtemp(prefix="qcampus-unsafe-")

        commands_r, commands_w = os.pipe()
        results_r, results_w = os.pipe()
        request = {"isolate": self.isolate, "uid": self.uid, "gid": self.gid,
                   "limits": dataclasses.asdict(limits), "root": scratch, "workdir": workdir,
                   "exclude": list(exclude)}
        if not self.isolate:
            request["workdir"] = scratch
            if workdir is not None:
                copy_regular_files(workdir, scratch, exclude=exclude)
        reader = _Reader(results_r, limits.output_bytes)
        pidfd = None
        killer = None
        try:
            try:
                self.zygote.spawn(request, [commands_r, results_w])
            except (OSError, SandboxUnavailableError):
                # The zygote died (killed from outside): start a new one rather than fail
                # every notebook after this one.
                self._restart_zygote()
                self.zygote.spawn(request, [commands_r, results_w])
            os.close(commands_r)
            os.close(results_w)
            commands_r = results_w = -1
            hello = reader.next(time.monotonic() + SETUP_SECONDS)
            if not isinstance(hello, dict) or not isinstance(hello.get("pid"), int):
                raise SandboxUnavailableError(f"the sandbox did not start ({hello!r})")
            pidfd = os.pidfd_open(hello["pid"])
            killer = _Killer(pidfd, hello["pid"], self.isolate)
            if self._execute(run, sources, commands_w, reader, limits, killer):
                os.close(commands_w)
                commands_w = -1
                # The init reads end of file and exits; give it a moment, then kill what is left.
                reader.next(time.monotonic() + 1.0)
        finally:
            if killer is not None:
                killer.kill()
            for fd in (commands_r, commands_w, results_r, results_w, pidfd):
                if fd is not None and fd >= 0:
                    os.close(fd)
            if not self.isolate:
                shutil.rmtree(scratch)
        run.truncated = run.truncated or reader.overflow
        return run

    def _execute(self, run: NotebookRun, sources: Sequence[str], commands: int,
                 reader: _Reader, limits: Limits, killer: _Killer) -> bool:
        """Send every cell; return whether all of them ran to the end."""
        notebook_deadline = time.monotonic() + limits.notebook_timeout
        for index, source in enumerate(sources):
            cell = run.cells[index]
            deadline = min(time.monotonic() + limits.cell_timeout, notebook_deadline)
            try:
                frames.write(commands, {"source": source})
            except BrokenPipeError:
                message = reader.next(time.monotonic() + 1.0)
                self._stopped(run, index, message, killer, limits)
                return False
            message = reader.next(deadline)
            if isinstance(message, dict) and "outputs" in message:
                try:
                    cell.outputs = _checked_outputs(message["outputs"])
                except SandboxProtocolError as exc:
                    killer.kill()
                    self._stop(run, index, PROTOCOL, str(exc))
                    return False
                count = message.get("execution_count")
                cell.execution_count = count if isinstance(count, int) else None
                run.truncated = run.truncated or bool(message.get("truncated"))
                continue
            self._stopped(run, index, message, killer, limits)
            return False
        return True

    def _stopped(self, run: NotebookRun, index: int, message: object, killer: _Killer,
                 limits: Limits) -> None:
        """Record why the notebook stopped at cell *index*."""
        killer.kill()
        if message is _Reader.TIMEOUT:
            seconds = limits.cell_timeout
            self._stop(run, index, TIMEOUT, f"time limit exceeded: a cell ran longer than "
                       f"{seconds:g} s or the notebook longer than {limits.notebook_timeout:g} s")
        elif message is _Reader.OVERFLOW:
            self._stop(run, index, OUTPUT_LIMIT, f"output limit exceeded: the notebook "
                       f"printed more than {limits.output_bytes} bytes; it was stopped")
        elif isinstance(message, dict) and "error" in message:
            raise SandboxUnavailableError(str(message["error"]))
        elif isinstance(message, dict) and "exit" in message:
            self._stop(run, index, *_exit_reason(message, limits))
        elif isinstance(message, SandboxProtocolError):
            self._stop(run, index, PROTOCOL, str(message))
        else:
            self._stop(run, index, DIED, "the notebook's process ended before this cell finished")

    @staticmethod
    def _stop(run: NotebookRun, index: int, status: str, reason: str) -> None:
        run.status, run.reason = status, reason
        run.cells[index].outputs.append(error_output(_ENAMES[status], reason))
        for later in run.cells[index + 1:]:
            later.outputs = [error_output("CellNotExecuted", f"not run: {reason}")]


_ENAMES = {TIMEOUT: "CellTimeoutError", OUTPUT_LIMIT: "OutputLimitExceeded",
           RESOURCE_LIMIT: "ResourceLimitExceeded", DIED: "KernelDied",
           PROTOCOL: "SandboxProtocolError"}


def _exit_reason(message: dict, limits: Limits) -> tuple[str, str]:
    """Turn the keeper's exit report into a status and a reason."""
    sig = message.get("signal")
    if sig in (signal.SIGXCPU, signal.SIGKILL):
        return RESOURCE_LIMIT, (f"resource limit: the notebook used more than "
                                f"{limits.cpu_time():g} s of CPU time (stopped by "
                                f"{signal.Signals(sig).name})")
    if isinstance(sig, int):
        return DIED, f"the notebook's process was killed by signal {sig}"
    return DIED, f"the notebook's process exited with code {message.get('exit')} before finishing"


def _checked_outputs(outputs: object) -> list[dict]:
    """Return *outputs* if they look like nbformat outputs, else raise."""
    if not isinstance(outputs, list) or not all(
            isinstance(o, dict) and o.get("output_type") in OUTPUT_TYPES for o in outputs):
        raise SandboxProtocolError("the sandbox sent outputs that are not nbformat outputs")
    return outputs


class _Killer:
    """Kill the sandbox exactly once: its PID namespace, or its session when unsafe."""

    def __init__(self, pidfd: int, pid: int, isolate: bool) -> None:
        self.pidfd, self.pid, self.isolate = pidfd, pid, isolate
        self.done = False

    def kill(self) -> None:
        if self.done:
            return
        self.done = True
        if not self.isolate:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:  # the session is already gone
                pass
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        except ProcessLookupError:  # it has already exited
            pass


class _Reader:
    """Read frames against a deadline and a total byte budget."""

    TIMEOUT = object()
    OVERFLOW = object()
    EOF = object()

    def __init__(self, fd: int, budget: int) -> None:
        self.fd = fd
        self.budget = budget
        self.consumed = 0
        self.buffer = bytearray()
        self.overflow = False

    def next(self, deadline: float) -> object:
        """Return the next frame, or TIMEOUT, OVERFLOW, EOF or a SandboxProtocolError."""
        while True:
            if len(self.buffer) >= frames.HEADER.size:
                size = frames.HEADER.unpack_from(self.buffer)[0]
                end = frames.HEADER.size + size
                if len(self.buffer) >= end:
                    body = bytes(self.buffer[frames.HEADER.size:end])
                    del self.buffer[:end]
                    try:
                        return frames.decode(body)
                    except SandboxProtocolError as exc:
                        return exc
            room = self.budget - self.consumed
            if room <= 0:
                self.overflow = True
                return self.OVERFLOW
            left = deadline - time.monotonic()
            if left <= 0:
                return self.TIMEOUT
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return self.TIMEOUT
            chunk = os.read(self.fd, min(room, 1 << 16))
            if not chunk:
                return self.EOF
            self.consumed += len(chunk)
            self.buffer += chunk
