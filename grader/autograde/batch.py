"""Grade a whole assignment: pre-warm once, fork workers, run nbgrader's Autograde in each."""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import importlib
import json
import logging
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.autograde import KEYS_DIRECTORY
from grader.errors import GraderError
from grader.sandbox.limits import Limits
from grader.sandbox.runner import TIMEOUT
from grader.sandbox.zygote import DEFAULT_PRELOAD

GRADED = "graded"
TIMED_OUT = "timed out"
FAILED = "failed"
UNCHANGED = "unchanged"

#: Attempts per submission when the shared SQLite gradebook is momentarily locked.
ATTEMPTS = 3


@dataclass
class Outcome:
    """What happened to one student's submission."""

    student: str
    status: str
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0


def fingerprint(directory: Path) -> str:
    """Return a digest of every file name and byte under *directory*."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_symlink():  # never followed: its target's name stands for it
            digest.update(str(path.relative_to(directory)).encode() + b"\0->")
            digest.update(os.fsencode(os.readlink(path)) + b"\0")
        elif path.is_file():
            digest.update(str(path.relative_to(directory)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def linked_entries(course_dir: Path, student: str, assignment: str) -> tuple[str, list[str]]:
    """Find what in a submission folder is not a regular file or directory, without following it.

    nbgrader's converter copies a submission's files with ``shutil.copy``, which
    follows symbolic links, as the grader (root): a link to ``/etc/shadow`` would
    become a readable copy in ``autograded/``, the sandbox and feedback.

    Returns:
        Why the submission cannot be graded ("" if it can), and the paths, relative
        to the folder, of symbolic links, FIFOs, sockets and devices to leave out.
    """
    from grader.sandbox.namespace import copy_regular_files

    folder = course_dir / "submitted" / student / assignment
    for path in (folder.parent, folder):
        if path.is_symlink():
            return f"{path.relative_to(course_dir)} is a symbolic link; not graded", []
    skipped = copy_regular_files(str(folder))
    for rel in skipped:
        if "/" not in rel and (rel.endswith(".ipynb") or rel == "timestamp.txt"):
            return (f"{rel} is a symbolic link or special file, not a file; collect the "
                    "submission again"), skipped
    return "", skipped


class Batch:
    """One ``qcampus grade`` run over an assignment of a course directory.

    Args:
        course_dir: The nbgrader course directory (with ``nbgrader_config.py``).
        assignment: The assignment id.
        limits: Sandbox limits per notebook.
        isolate: False grades without the sandbox (unsafe).
        workers: Worker processes; each owns one sandbox user.
        first_slot: The sandbox user of the first worker (the next ones follow); graders
            running at the same time on one machine must not share one.
        preload: Modules imported once before forking.
    """

    def __init__(self, course_dir: Path, assignment: str, *, limits: Limits, isolate: bool = True,
                 workers: int = 1, preload: Sequence[str] = DEFAULT_PRELOAD,
                 first_slot: int = 0) -> None:
        self.course_dir = Path(course_dir).resolve()
        self.first_slot = first_slot
        self.assignment = assignment
        self.limits = limits
        self.isolate = isolate
        self.workers = max(1, workers)
        self.preload = list(preload)
        self.submitted = self.course_dir / "submitted"
        self.autograded = self.course_dir / "autograded"
        self.state_file = self.autograded / f".qcampus-grade-{assignment}.json"
        self.keys = self.course_dir / KEYS_DIRECTORY / assignment

    def submissions(self, students: Iterable[str] = ()) -> list[str]:
        """Return the students who submitted this assignment (all, or those named)."""
        wanted = set(students)
        found = sorted(p.parent.name for p in self.submitted.glob(f"*/{self.assignment}")
                       if p.is_dir())
        return [s for s in found if not wanted or s in wanted]

    def _state(self) -> dict[str, str]:
        if not self.state_file.exists():
            return {}
        return json.loads(self.state_file.read_text())

    def plan(self, students: Sequence[str]) -> tuple[list[str], list[Outcome]]:
        """Split *students* into those to grade and those unchanged since the last run.

        A changed submission's old autograded copy is removed, so nbgrader grades it again.
        """
        state = self._state()
        todo, unchanged = [], []
        for student in students:
            dest = self.autograded / student / self.assignment
            digest = self._digest(student)
            if dest.exists() and state.get(student) == digest:
                unchanged.append(Outcome(student, UNCHANGED, "not changed since it was graded"))
                continue
            if dest.exists():
                shutil.rmtree(dest)
            todo.append(student)
        return todo, unchanged

    def run(self, students: Sequence[str],
            progress: Callable[[Outcome], None] = lambda outcome: None) -> list[Outcome]:
        """Grade *students* across the workers; call *progress* after each one."""
        from grader.autograde.compat import without_format_grammars
        from grader.sandbox.zygote import check_modules, single_threaded_native_pools

        # Imported once here, shared by every forked worker and zygote.
        single_threaded_native_pools()
        with without_format_grammars():
            for name in [*self.preload, *check_modules(), "grader.autograde.worker"]:
                importlib.import_module(name)
        context = multiprocessing.get_context("fork")
        tasks, results = context.SimpleQueue(), context.SimpleQueue()
        for student in students:
            tasks.put(student)
        count = min(self.workers, len(students))
        for _ in range(count):
            tasks.put(None)
        settings = {"course_dir": str(self.course_dir), "assignment": self.assignment,
                    "limits": asdict(self.limits), "isolate": self.isolate,
                    "preload": self.preload}
        from grader.autograde.worker import work

        processes = [context.Process(target=work, args=(slot, settings, tasks, results),
                                     daemon=True)
                     for slot in range(self.first_slot, self.first_slot + count)]
        for process in processes:
            process.start()
        outcomes = []
        try:
            while len(outcomes) < len(students):
                message = results.get()
                if "fatal" in message:
                    raise GraderError(message["fatal"])
                outcome = Outcome(**message)
                outcomes.append(outcome)
                progress(outcome)
        finally:
            for process in processes:
                if process.is_alive() and len(outcomes) < len(students):
                    process.kill()
                process.join()
        self._save_state(outcomes)
        return outcomes

    @functools.cached_property
    def _keys_fingerprint(self) -> str | None:
        """Return the fingerprint of the assignment's answer keys, read once per run."""
        return fingerprint(self.keys) if self.keys.is_dir() else None

    def _digest(self, student: str) -> str:
        """Return the fingerprint of a submission, and of the answer keys it is scored with."""
        digest = fingerprint(self.submitted / student / self.assignment)
        if self._keys_fingerprint is not None:
            digest = hashlib.sha256(f"{digest} {self._keys_fingerprint}".encode()).hexdigest()
        return digest

    def _save_state(self, outcomes: Sequence[Outcome]) -> None:
        state = self._state()
        for outcome in outcomes:
            dest = self.autograded / outcome.student / self.assignment
            if outcome.status in (GRADED, TIMED_OUT) and dest.exists():
                state[outcome.student] = self._digest(outcome.student)
            else:
                state.pop(outcome.student, None)
        self.autograded.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
        tmp.replace(self.state_file)


def check_timestamp(directory: Path) -> str:
    """Return why the submission's ``timestamp.txt`` cannot be trusted, or "" if it can."""
    from nbgrader.utils import parse_utc

    path = directory / "timestamp.txt"
    if not path.exists():
        return ""
    text = path.read_text(errors="replace").strip()
    if not text:
        return ""
    try:
        stamp = parse_utc(text)
    except (ValueError, OverflowError):
        return f"timestamp.txt is not a date ({text[:60]!r}); collect the submission again"
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    if stamp > now + datetime.timedelta(minutes=5):
        return f"timestamp.txt is in the future ({text[:60]}); collect the submission again"
    return ""


@contextlib.contextmanager
def captured_errors(logger: logging.Logger):
    """Collect the messages of ERROR records *logger* emits inside the block."""
    messages: list[str] = []

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Handler(logging.ERROR)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def status_of(outcomes: dict[tuple[str, str, str], tuple[str, str]], student: str) -> tuple[str,
                                                                                            str]:
    """Summarise the sandbox outcomes of *student*'s notebooks as a status and a reason."""
    statuses = [(s, r, key[2]) for key, (s, r) in outcomes.items() if key[0] == student]
    for status, reason, notebook in statuses:
        if status == TIMEOUT:
            return TIMED_OUT, f"{notebook}: {reason}"
    for _status, reason, notebook in statuses:
        if reason:
            return GRADED, f"{notebook}: {reason}"
    return GRADED, ""


def elapsed(start: float) -> float:
    """Return seconds since *start* (a ``time.monotonic()`` value)."""
    return time.monotonic() - start


def course_env() -> dict[str, str]:
    """Return the environment nbgrader needs: its ``alembic`` next to this Python."""
    bindir = os.path.dirname(sys.executable)
    return {"PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
