"""SandboxedExecute: nbgrader's execution step, run in a confined pre-warmed sandbox."""

from __future__ import annotations

import atexit
import os
from textwrap import dedent

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer, List, Unicode

from grader.autograde import converter_coursedir
from grader.sandbox.limits import Limits, MiB
from grader.sandbox.namespace import copy_regular_files
from grader.sandbox.runner import OK, Sandbox
from grader.sandbox.zygote import DEFAULT_PRELOAD

#: One sandbox (and zygote) per process and settings, shared by every notebook it grades.
_SANDBOXES: dict[tuple, Sandbox] = {}


def _close_all() -> None:
    while _SANDBOXES:
        _SANDBOXES.popitem()[1].close()


atexit.register(_close_all)


class SandboxedExecute(NbGraderPreprocessor):
    """Execute a notebook's code cells in a sandbox instead of a Jupyter kernel.

    A drop-in for nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``:
    outputs and execution counts land in the notebook exactly where a kernel
    would put them, and a cell that could not finish (time, memory or output
    limit, or the process ending early) gets an error output, so nbgrader
    scores it, and every test cell after it, as failed.
    """

    timeout = Integer(30, help="Wall-clock seconds one cell may run.").tag(config=True)
    notebook_timeout = Integer(
        120, help="Wall-clock seconds the whole notebook may run.").tag(config=True)
    cpu_seconds = Integer(None, allow_none=True, help=dedent("""
        CPU seconds the whole notebook may use, all its threads together;
        None allows as many as notebook_timeout.
        """)).tag(config=True)
    memory_mb = Integer(
        1024, help="Memory (MiB) a notebook may add to the pre-warmed image.").tag(config=True)
    processes = Integer(64, help="Processes and threads the sandbox user may have.").tag(config=True)
    file_mb = Integer(16, help="Largest file (MiB) a notebook may write.").tag(config=True)
    scratch_mb = Integer(64, help="Size (MiB) of the notebook's writable /work and /tmp.").tag(
        config=True)
    output_bytes = Integer(
        1 * MiB, help="Bytes of outputs the grader reads back per notebook.").tag(config=True)
    isolate = Bool(True, help=dedent("""
        Run in namespaces as the sandbox user (needs root). False grades without
        isolation: learner code can then read and change everything the grader can.
        """)).tag(config=True)
    slot = Integer(0, help="Sandbox user to run as (one per concurrent worker).").tag(config=True)
    preload = List(Unicode(), list(DEFAULT_PRELOAD),
                   help="Modules imported once before any notebook runs.").tag(config=True)

    #: Outcome of the last run of each notebook: (student, assignment, notebook) -> (status, reason).
    outcomes: dict[tuple[str, str, str], tuple[str, str]] = {}

    def limits(self) -> Limits:
        """Return the limits these settings describe."""
        return Limits(cell_timeout=self.timeout, notebook_timeout=self.notebook_timeout,
                      cpu_seconds=self.cpu_seconds,
                      memory_bytes=self.memory_mb * MiB, processes=self.processes,
                      file_bytes=self.file_mb * MiB, scratch_bytes=self.scratch_mb * MiB,
                      output_bytes=self.output_bytes)

    def sandbox(self) -> Sandbox:
        """Return this process's sandbox for these settings, starting it on first use."""
        key = (self.isolate, self.slot, tuple(self.preload), os.getpid())
        if key not in _SANDBOXES:
            _SANDBOXES[key] = Sandbox(self.limits(), isolate=self.isolate, slot=self.slot,
                                      preload=self.preload)
        return _SANDBOXES[key]

    def _submitted_links(self, student: str, assignment: str, notebook: str) -> list[str]:
        """Return the entries of the submission folder that are links or special files.

        nbgrader has already copied the submission's files into the autograded
        folder with ``shutil.copy``, following links; what was a link in
        ``submitted/`` is left out of the sandbox. A notebook that is a link is
        refused.
        """
        coursedir = converter_coursedir(self)
        if coursedir is None or not (student and assignment):
            return []
        folder = coursedir.format_path(coursedir.submitted_directory, student, assignment)
        if not os.path.isdir(folder):
            return []
        if os.path.islink(os.path.join(folder, f"{notebook}.ipynb")):
            raise ValueError(f"{notebook}.ipynb in {folder} is a symbolic link; not graded")
        return copy_regular_files(folder)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode,
                                                                               ResourcesDict]:
        """Run the code cells of *nb* in a fresh sandbox and record their outputs."""
        workdir = resources.get("metadata", {}).get("path") or None
        info = resources.get("nbgrader", {})
        key = (info.get("student", ""), info.get("assignment", ""), info.get("notebook", ""))
        links = self._submitted_links(*key)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        run = self.sandbox().run([cell.source for cell in code], workdir, self.limits(),
                                 exclude=links)
        for cell, result in zip(code, run.cells, strict=True):
            cell.outputs = [nbformat.from_dict(output) for output in result.outputs]
            cell.execution_count = result.execution_count
        reason = run.reason
        if run.truncated and not reason:
            reason = f"output truncated at the {self.output_bytes}-byte limit"
        skipped = sorted(set(links) | set(run.skipped))
        if skipped:
            note = ("not copied into the sandbox (symbolic links or special files): "
                    + ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
            reason = f"{reason}; {note}" if reason else note
        self.outcomes[key] = (run.status, reason)
        if run.status != OK:
            self.log.warning("Notebook %s stopped early: %s", "/".join(key), run.reason)
        return nb, resources
