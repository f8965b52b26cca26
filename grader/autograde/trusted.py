"""TrustedVerdict: score test cells in the grader from exported answers, never in the learner's process.

In ordinary grading a test cell runs in the learner's process, as in nbgrader:
learner code can patch the checks, ``builtins`` or IPython, or hand in an
object whose ``__eq__`` is always true, and pass its own tests. For exams and
certificates a notebook's test cells only call
:func:`grader.export.export_answer`, which leaves the learner's process as
JSON. This preprocessor, placed right after the execution step, reads those
answers from the test cells' outputs and decides each cell's score with
:func:`grader.verdict.decide` in the grading worker, against an answer key the
sandbox never sees. The test cell's outputs are replaced by the verdict: the
feedback in English and Japanese, then the score as the cell's result, which
nbgrader's ``SaveAutoGrades`` records as the cell's (partial) credit. Whatever
the learner's process printed or displayed in that cell no longer counts.

Each key item is decided in a child process with memory and wall-clock limits
(:mod:`grader.autograde.confined`, the ``memory_mb`` and ``timeout`` settings),
after its size limits (:func:`grader.verdict.check_size`): an answer too large
to check scores 0 for that item, with feedback naming the limit, and grading
goes on.

Answer keys live in ``<course>/keys/<assignment>/<notebook>.json`` (the
``keys_directory`` setting): outside ``source/``, so nbgrader never releases or
copies them, and outside the submission, so the sandbox never mounts them. A
key is ``{"items": [...]}`` of :func:`grader.verdict.key_item` entries; an
item's ``cell`` names the test cell (its ``grade_id``) whose score it decides,
and the points of a cell's items must add up to that cell's points. A notebook
without a key file is graded in the ordinary way.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from grader.autograde import KEYS_DIRECTORY, converter_coursedir
from grader.autograde.confined import VerdictLimits, decide_confined
from grader.errors import GraderError
from grader.export import collect_answers
from grader.sandbox.limits import MiB
from grader.verdict import CHECKS, item_limits

#: Largest key file read, in bytes.
MAX_KEY_BYTES = 4 * 1024 * 1024


class AnswerKeyError(GraderError):
    """An answer key is unreadable or does not fit the assignment's test cells."""


def key_path(course_dir: str | os.PathLike, keys_directory: str, assignment: str,
             notebook: str) -> Path:
    """Return where the key of *notebook* in *assignment* lives."""
    return Path(course_dir, keys_directory, assignment, f"{notebook}.json")


def load_key(path: Path, points: Mapping[str, float]) -> dict[str, list[dict[str, Any]]]:
    """Read and check an answer key; return its items grouped by test cell.

    Args:
        path: The key file.
        points: Each test cell's points (``grade_id`` → points), from the gradebook.

    Raises:
        AnswerKeyError: what is wrong, in words an instructor can act on.
    """
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_KEY_BYTES + 1)
        if len(data) > MAX_KEY_BYTES:
            raise AnswerKeyError(f"{path} is over {MAX_KEY_BYTES} bytes")
        key = json.loads(data)
    except (OSError, ValueError) as exc:
        raise AnswerKeyError(f"cannot read the answer key {path}: {exc}") from exc
    items = key.get("items") if isinstance(key, dict) else None
    if not isinstance(items, list) or not items:
        raise AnswerKeyError(f'{path}: a key is {{"items": [...]}} with at least one item')
    by_cell: dict[str, list[dict[str, Any]]] = {}
    for number, item in enumerate(items, 1):
        where = f"{path}, item {number}"
        if not isinstance(item, dict) or not isinstance(item.get("answer"), str):
            raise AnswerKeyError(f"{where}: an item needs an answer name")
        if item.get("check") not in CHECKS:
            raise AnswerKeyError(f"{where}: unknown check {item.get('check')!r}; known: "
                                 f"{', '.join(sorted(CHECKS))}")
        try:
            item_limits(item)
        except GraderError as exc:
            raise AnswerKeyError(f"{where}: {exc}") from exc
        value = item.get("points")
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not math.isfinite(value) or value <= 0:
            raise AnswerKeyError(f"{where}: points must be a positive number")
        cell = item.get("cell", item["answer"])
        if cell not in points:
            raise AnswerKeyError(f"{where}: {cell!r} is not a test cell of this notebook "
                                 f"(test cells: {', '.join(sorted(points)) or 'none'})")
        by_cell.setdefault(cell, []).append(item)
    for cell, cell_items in by_cell.items():
        total = sum(float(i["points"]) for i in cell_items)
        if not math.isclose(total, points[cell]):
            raise AnswerKeyError(f"{path}: the items of test cell {cell!r} add up to {total:g} "
                                 f"points; the cell is worth {points[cell]:g}")
    return by_cell


def verdict_outputs(verdict: Mapping[str, Any]) -> list[NotebookNode]:
    """Return a test cell's new outputs: the feedback in both languages, then the score."""
    lines = []
    for item in verdict["items"]:
        head = f"[{item['answer']}] {item['points']:g} / {item['max_points']:g}"
        if item["feedback"] is None:
            lines.append(f"{head}: correct / 正解")
        else:
            lines.append(head)
            lines.extend("  " + line for lang in ("en", "ja")
                         for line in item["feedback"][lang].splitlines())
    # Shares of a cell's points (twenty of 0.05) add up to a hair over or under the cell's
    # points in floating point; nbgrader refuses credit over the maximum, so round it away.
    score = round(float(verdict["score"]), 9)
    return [nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n"),
            nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(score))},
                                   execution_count=None)]


class TrustedVerdict(NbGraderPreprocessor):
    """Replace the outputs of keyed test cells with a verdict computed outside the sandbox."""

    keys_directory = Unicode(
        KEYS_DIRECTORY, help="Directory of answer keys, relative to the course directory: "
                     "<keys_directory>/<assignment>/<notebook>.json.").tag(config=True)
    timeout = Float(
        VerdictLimits.seconds, help="Wall-clock seconds the verdict of one key item may take; "
        "past it the item scores 0 (resource limit).").tag(config=True)
    memory_mb = Integer(
        VerdictLimits.memory_bytes // MiB, help="Memory, in MiB, the verdict of one key item "
        "may add to the grading worker's; past it the item scores 0 (resource limit)."
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode,
                                                                               ResourcesDict]:
        """Score every test cell the notebook's key names; leave other cells as they are."""
        info = resources.get("nbgrader", {})
        course_dir = getattr(converter_coursedir(self), "root", None)
        if course_dir is None or not info.get("assignment"):
            return nb, resources
        path = key_path(course_dir, self.keys_directory, info["assignment"], info["notebook"])
        if not path.exists():
            return nb, resources
        key = load_key(path, graded_points(info["db_url"], info["assignment"], info["notebook"]))
        limits = VerdictLimits(memory_bytes=self.memory_mb * MiB, seconds=self.timeout)
        # Test cells come from the instructor's copy (OverwriteCells); one the learner deleted
        # is missing here and scores 0 as in nbgrader.
        tests = {cell.metadata.nbgrader["grade_id"]: cell for cell in nb.cells
                 if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")}
        for name, items in key.items():
            if name in tests:
                answers = collect_answers(nb, grade_ids=[name])
                verdict = decide_confined({"items": items}, answers, limits)
                tests[name].outputs = verdict_outputs(verdict)
        return nb, resources


def graded_points(db_url: str, assignment: str, notebook: str) -> dict[str, float]:
    """Return the points of each test (grade) cell of a released notebook, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        release = gradebook.find_notebook(notebook, assignment)
        return {cell.name: float(cell.max_score) for cell in release.grade_cells}


def check_keys(course_dir: str | os.PathLike, keys_directory: str, assignment: str,
               db_url: str) -> list[str]:
    """Check every answer key of *assignment* before grading; return the keyed notebooks.

    Raises:
        AnswerKeyError: a key names a notebook or test cell the assignment does not
            have, its points do not add up, or an expected value cannot be decoded.
    """
    from nbgrader.api import MissingEntry

    from grader.verdict import decode

    folder = Path(course_dir, keys_directory, assignment)
    keyed = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            points = graded_points(db_url, assignment, path.stem)
        except MissingEntry:
            raise AnswerKeyError(f"{path}: assignment {assignment!r} has no notebook "
                                 f"{path.stem!r}") from None
        for items in load_key(path, points).values():
            for item in items:
                try:
                    decode(item.get("expected"))
                except (GraderError, TypeError, ValueError, KeyError) as exc:
                    raise AnswerKeyError(f"{path}: the expected value of answer "
                                         f"{item['answer']!r} cannot be read: {exc}") from exc
        keyed.append(path.stem)
    return keyed
