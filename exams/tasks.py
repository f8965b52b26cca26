"""Part B: code tasks as nbgrader assignments of the ``exam-tasks`` course, graded by the grading service.

Each code item of the bank becomes one assignment of the deployment's
``exam-tasks`` course (``COURSES_ROOT/exam-tasks``), made the first time a form
draws it (or by ``qcampus exam prepare``):

- ``source/<item>/<item>.ipynb``: the prompt in English and Japanese, the item's
  setup (a locked cell), the answer cell (a solution cell, the reference inside
  nbgrader's solution markers) and a locked test cell worth the task's points
  whose whole body is hidden: it only exports the values of the item's
  ``exports`` (``grader.export``), one by one, so a failing expression costs only
  its own share;
- ``keys/<item>/<item>.json``: the answer key, the same expressions evaluated on
  the solution (:func:`exams.codeitems.keys`), next to the source and never
  released: the grading worker scores the test cell from the exported values in a
  process that never ran the candidate's code (the tamper-resistant mode).

nbgrader generates the release (hidden tests removed) and the exchange records it,
so a candidate's notebook is submitted and graded exactly as a learner's: the
grading service places it, runs it in the sandbox and writes the gradebook row.
The candidate never receives the release through the Assignments tab (nobody is
in the course's group); the service places the notebook into the candidate's
JupyterLab (:mod:`exams.lab`) with the item's own stub in the answer cell.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from exams import codeitems
from exams.bank import Item
from exams.errors import ExamError
from qcampus.permissions import private_umask
from qcampus.settings import Settings

#: The nbgrader course every exam's code tasks belong to.
COURSE = "exam-tasks"
ANSWER_CELL = "answer-task"
SETUP_CELL = "setup-task"
TEST_CELL = codeitems.TASK_CELL
#: Longest candidate answer cell collected (characters).
MAX_CODE_CHARS = 64 * 1024

TEXT = {
    "en": ("Part B task. Write your answer in the cell below the setup, keeping the names the "
           "task asks for. Run it as often as you like; the notebook is collected when you submit "
           "the exam and when the time is up. Hidden tests grade it afterwards."),
    "ja": ("Part B の課題です。セットアップの下のセルに解答を書いてください。課題が指定する名前は変えないで"
           "ください。何度実行してもかまいません。ノートブックは検定の提出時と時間切れの時点で回収され、"
           "その後に非公開のテストで採点されます。"),
}


def course_dir(settings: Settings) -> Path:
    """Return the nbgrader directory of the exam-tasks course."""
    return settings.courses_root / COURSE


def notebook_name(item: Item) -> str:
    return f"{item.id}.ipynb"


def _cell(kind: str, source: str, **nbgrader: Any) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    if nbgrader:
        cell["metadata"]["nbgrader"] = {"schema_version": 3, "solution": False, "grade": False,
                                        "locked": False, **nbgrader}
    return cell


def export_cell(item: Item) -> str:
    """Return the hidden test cell: each export's value leaves the kernel, or its error is printed."""
    lines = ["### BEGIN HIDDEN TESTS", "from grader.export import export_answer", "",
             "for _name, _value in ["]
    lines += [f"    ({e['answer']!r}, lambda: {e['expression']})," for e in item.code["exports"]]
    lines += ["]:", "    try:", "        export_answer(_name, _value())",
              "    except Exception as _error:  # the other answers still count",
              "        print(f'{_name}: {type(_error).__name__}: {_error}')",
              "### END HIDDEN TESTS"]
    return "\n".join(lines)


def source_notebook(item: Item) -> dict[str, Any]:
    """Return the nbgrader source notebook of *item*'s task (reference and hidden exports)."""
    prompt = (f"## {item.id}\n\n{item.prompt['en']}\n\n*{TEXT['en']}*\n\n---\n\n"
              f"{item.prompt['ja']}\n\n*{TEXT['ja']}*")
    cells = [
        _cell("markdown", prompt),
        _cell("code", item.code.get("setup", "") or "# no setup / セットアップなし",
              grade_id=SETUP_CELL, locked=True),
        _cell("code", f"### BEGIN SOLUTION\n{item.code['solution'].rstrip()}\n### END SOLUTION",
              grade_id=ANSWER_CELL, solution=True),
        _cell("code", export_cell(item), grade_id=TEST_CELL, grade=True, locked=True,
              points=item.points),
    ]
    return {"cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def digest(item: Item) -> str:
    """Return what identifies an item's task: a changed prompt, code or export makes a new one."""
    text = json.dumps({"prompt": item.prompt, "code": item.code, "points": item.points},
                      sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _stamp(directory: Path, item: Item) -> Path:
    return directory / "keys" / item.id / ".digest"


def prepare(settings: Settings, items: Iterable[Item]) -> list[str]:
    """Make the assignment, key and release of every task of *items* not yet made; return their ids.

    Safe to call from several processes at once (a lock file serialises them).

    Raises:
        ExamError: an item has no exports, or nbgrader or the exchange refused the task.
    """
    items = [item for item in items if item.type == "code"]
    bare = [item.id for item in items if not item.code.get("exports")]
    if bare:
        raise ExamError(f"{', '.join(bare)} cannot be graded tamper-resistant: the item has no "
                        "code.exports. Add them, then run `qcampus exam validate`.")
    with private_umask():  # keys, sources and the lock are root's alone, whatever the caller's umask
        return _prepare(settings, items)


def _prepare(settings: Settings, items: list[Item]) -> list[str]:
    from qcampus.courses import exchange, generate_assignment
    from qcampus.deployment import nbgrader_course_config
    from qcampus.errors import QcampusError

    directory = course_dir(settings)
    directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    config = directory / "nbgrader_config.py"
    if not config.exists():
        config.write_text(nbgrader_course_config(COURSE), encoding="utf-8")
    made = []
    with open(directory / ".prepare.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        todo = [item for item in items if not _current(directory, item)]
        if not todo:
            return []
        keys = codeitems.keys(todo)
        for item in todo:
            source = directory / "source" / item.id
            source.mkdir(parents=True, exist_ok=True)
            (source / notebook_name(item)).write_text(json.dumps(source_notebook(item), indent=1,
                                                                 ensure_ascii=False), encoding="utf-8")
            try:
                generate_assignment(directory, item.id, settings.gradebook_url(COURSE))
                key_dir = directory / "keys" / item.id
                key_dir.mkdir(parents=True, exist_ok=True)
                _write(key_dir / f"{item.id}.json", json.dumps(keys[item.id]))
                exchange().release(settings, COURSE, item.id, directory / "release" / item.id)
            except QcampusError as exc:
                raise ExamError(f"The task {item.id} could not be prepared: {exc}") from exc
            _write(_stamp(directory, item), digest(item))
            made.append(item.id)
    return made


def _write(path: Path, text: str) -> None:
    """Write *path* whole or not at all (a crash never leaves half a key)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _current(directory: Path, item: Item) -> bool:
    stamp = _stamp(directory, item)
    return stamp.is_file() and stamp.read_text(encoding="utf-8") == digest(item)


def released_notebook(settings: Settings, item: Item) -> dict[str, Any]:
    """Return the generated release of *item*'s task (hidden tests removed by nbgrader)."""
    path = course_dir(settings) / "release" / item.id / notebook_name(item)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExamError(f"The task {item.id} is not prepared ({exc}); run `qcampus exam prepare`."
                        ) from exc


def _answer_cell(notebook: dict[str, Any]) -> dict[str, Any] | None:
    for cell in notebook.get("cells", []):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == ANSWER_CELL:
            return cell
    return None


def placed_notebook(released: dict[str, Any], item: Item, language: str) -> dict[str, Any]:
    """Return the notebook placed in the candidate's JupyterLab: the release, the item's stub to edit.

    The prompt cell shows the candidate's language first.
    """
    notebook = copy.deepcopy(released)
    answer = _answer_cell(notebook)
    if answer is None:
        raise ExamError(f"The release of {item.id} has no answer cell; run `qcampus exam prepare`.")
    answer["source"] = item.code["stub"]
    if language == "ja":
        first = notebook["cells"][0]
        text = "".join(first["source"]) if isinstance(first["source"], list) else first["source"]
        english, _, japanese = text.partition("\n\n---\n\n")
        first["source"] = f"{japanese}\n\n---\n\n{english}" if japanese else text
    notebook["metadata"]["qcampus"] = {"exam_task": item.id}
    return notebook


def answer_code(notebook: Any) -> str:
    """Return the candidate's answer cell from a collected notebook.

    Raises:
        ExamError: the notebook is not one, has no answer cell, or the answer is too long.
    """
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ExamError("The task notebook is not a notebook any more; open it again from the exam "
                        "page (Place my tasks again). / 課題のノートブックが壊れています。")
    cell = _answer_cell(notebook)
    if cell is None:
        raise ExamError("The answer cell of the task was deleted; place the task again and copy "
                        "your code into its answer cell. / 解答セルが削除されています。")
    source = cell.get("source", "")
    code = "".join(source) if isinstance(source, list) else str(source)
    if len(code) > MAX_CODE_CHARS:
        raise ExamError(f"An answer cell has at most {MAX_CODE_CHARS} characters. / "
                        f"解答セルは {MAX_CODE_CHARS} 文字までです。")
    return code


def submission_notebook(released: dict[str, Any], code: str) -> bytes:
    """Return the notebook graded for a candidate: the release with their answer cell, nothing else."""
    notebook = copy.deepcopy(released)
    _answer_cell(notebook)["source"] = code
    return json.dumps(notebook, ensure_ascii=False).encode()
