"""Prove code items: each reference solution passes its checks and each stub fails them.

All code items run in one child interpreter (imports are paid once), each
in fresh namespaces: ``setup``, then the stub or the solution, then the hidden
``checks``; a check that raises is a failure. Bank items are written by
examiners, not candidates: this runs them to prove their keys, not to grade
anyone (candidates' code is graded by the grading service in the sandbox).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from typing import Any

from exams.bank import Item
from exams.errors import BankError

#: Seconds one cell of a code item may run before it counts as failed.
CELL_SECONDS = 60
#: The test cell of a task notebook whose score the key's items decide (``exams.tasks``).
TASK_CELL = "test-task"

#: The child: reads items as JSON on stdin, prints one JSON result per run. With exports,
#: the solution's values become the key (``grader.verdict.key_item``) and both variants
#: are judged by the verdict too: the solution must score every point, the stub none.
RUNNER = r"""
import json, signal, sys, traceback, warnings

def alarm(signum, frame):
    raise TimeoutError("took longer than %d s" % LIMIT)

def run(item, stages, namespace):
    stage = "setup"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stage in stages:
            signal.alarm(LIMIT)
            try:
                exec(compile(item.get(stage, ""), item["id"] + ":" + stage, "exec"), namespace)
            except BaseException as exc:
                last = traceback.format_exception_only(type(exc), exc)[-1].strip()
                return stage, last[:500]
            finally:
                signal.alarm(0)
    return None, None

def exported(item, variant):
    # The exports' values after setup and *variant*, as the candidate's kernel would export them.
    from grader.export import MIME, answer_bundle
    namespace = {"__name__": "__main__"}
    stage, error = run(item, ("setup", variant), namespace)
    answers, errors = {}, []
    if stage is not None:
        return answers, [stage + ": " + error]
    for export in item["exports"]:
        signal.alarm(LIMIT)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = eval(compile(export["expression"], item["id"] + ":export", "eval"), namespace)
            answers[export["answer"]] = answer_bundle(export["answer"], value)[MIME]["answer"]
        except BaseException as exc:
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            errors.append(export["answer"] + ": " + last[:300])
        finally:
            signal.alarm(0)
    return answers, errors

LIMIT = int(sys.argv[1])
CELL = sys.argv[2]
signal.signal(signal.SIGALRM, alarm)
for item in json.load(sys.stdin):
    KEY = None
    for variant in ("solution", "stub"):
        stage, error = run(item, ("setup", variant, "checks"), {"__name__": "__main__"})
        result = {"id": item["id"], "variant": variant, "passed": stage is None}
        if stage is not None:
            result.update(stage=stage, error=error)
        if item.get("exports") and (variant == "solution" or KEY is not None):
            try:
                from grader.verdict import decide, key_item
                answers, errors = exported(item, variant)
                if variant == "solution":
                    share = float(item.get("points", 1)) / len(item["exports"])
                    key = {"items": [key_item(e["answer"], e["check"], None, share, cell=CELL,
                                              limits=e.get("limits"), **e.get("options", {}))
                                     for e in item["exports"]]}
                    for entry in key["items"]:
                        entry["expected"] = answers.get(entry["answer"])
                    missing = [k["answer"] for k in key["items"] if k["expected"] is None]
                    if missing:
                        raise ValueError("the solution exports nothing for " + ", ".join(missing)
                                         + ("; " + "; ".join(errors) if errors else ""))
                    result["key"] = key
                    KEY = key
                verdict = decide(KEY, answers)
                result["verdict"] = [verdict["score"], verdict["max_score"]]
                result["export_errors"] = errors
            except BaseException as exc:
                result["verdict_error"] = traceback.format_exception_only(type(exc), exc)[-1].strip()[:500]
        print(json.dumps(result), flush=True)
"""


def _run(items: list[Item], cell_seconds: int) -> tuple[list[dict[str, Any]], str]:
    """Run every code item's solution and stub in one child; return its results and stderr."""
    code = [{"id": item.id, "points": item.points, **item.code} for item in items]
    done = subprocess.run([sys.executable, "-c", RUNNER, str(cell_seconds), TASK_CELL],
                          input=json.dumps(code), capture_output=True, text=True, check=False,
                          timeout=cell_seconds * 6 * 2 * len(code) + 60)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")], done.stderr


def keys(items: Iterable[Item], *, cell_seconds: int = CELL_SECONDS) -> dict[str, dict[str, Any]]:
    """Return the answer key of each code item that has exports (the solution's values).

    Raises:
        BankError: an item's solution does not produce its key; ``qcampus exam validate``
            says why.
    """
    code = [item for item in items if item.type == "code" and item.code.get("exports")]
    if not code:
        return {}
    results, stderr = _run(code, cell_seconds)
    found = {r["id"]: r["key"] for r in results if r["variant"] == "solution" and "key" in r}
    missing = sorted({item.id for item in code} - set(found))
    if missing:
        raise BankError(f"No answer key could be made for {', '.join(missing)}: run `qcampus exam "
                        f"validate` to see why. {stderr.strip()[-300:]}")
    return found


def prove(items: Iterable[Item], *, cell_seconds: int = CELL_SECONDS) -> list[str]:
    """Run every code item's solution and stub; return a problem per wrong outcome."""
    items = list(items)
    code = [item for item in items if item.type == "code"]
    if not code:
        return []
    paths = {item.id: item.path for item in items}
    results, stderr = _run(code, cell_seconds)
    found = []
    for result in results:
        where = paths[result["id"]]
        if result["variant"] == "solution" and not result["passed"]:
            found.append(f"{where}: code.solution fails in {result['stage']}: {result['error']}")
        if result["variant"] == "stub" and result["passed"]:
            found.append(f"{where}: code.stub passes the checks; a candidate who changes nothing "
                         "would score. Make the checks fail it.")
        if result["variant"] == "stub" and not result["passed"] and result["stage"] != "checks":
            found.append(f"{where}: code.stub fails in {result['stage']} ({result['error']}), "
                         "not in the checks; the stub must run and be judged wrong by them.")
        found += _verdict_problems(where, result)
    if len(results) < 2 * len(code):
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        found.append(f"code items: the runner stopped after {len(results)} of {2 * len(code)} "
                     f"runs: {tail}")
    return found


def _verdict_problems(where: Any, result: dict[str, Any]) -> list[str]:
    """Return what is wrong with an item's exports: no key, or a verdict that misjudges."""
    if "verdict_error" in result:
        return [f"{where}: code.exports: {result['variant']}: {result['verdict_error']}"]
    if "verdict" not in result:
        return []
    score, top = result["verdict"]
    if result["variant"] == "solution" and score != top:
        return [f"{where}: code.exports: the solution scores {score:g}/{top:g} by verdict against "
                "its own values; a check or its options cannot compare them."]
    if result["variant"] == "stub" and score != 0:
        return [f"{where}: code.exports: the stub scores {score:g}/{top:g} by verdict; a candidate "
                "who changes nothing would score. Export values the stub gets wrong."]
    return []
