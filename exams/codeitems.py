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

from exams.bank import Item

#: Seconds one cell of a code item may run before it counts as failed.
CELL_SECONDS = 60
#: The child: reads items as JSON on stdin, prints one JSON result per run.
RUNNER = r"""
import json, signal, sys, traceback, warnings

def alarm(signum, frame):
    raise TimeoutError("took longer than %d s" % LIMIT)

LIMIT = int(sys.argv[1])
signal.signal(signal.SIGALRM, alarm)
for item in json.load(sys.stdin):
    for variant in ("solution", "stub"):
        namespace = {"__name__": "__main__"}
        stage = "setup"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for stage in ("setup", variant, "checks"):
                    signal.alarm(LIMIT)
                    exec(compile(item.get(stage, ""), item["id"] + ":" + stage, "exec"), namespace)
                    signal.alarm(0)
            result = {"id": item["id"], "variant": variant, "passed": True}
        except BaseException as exc:
            signal.alarm(0)
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            result = {"id": item["id"], "variant": variant, "passed": False,
                      "stage": stage, "error": last[:500]}
        print(json.dumps(result), flush=True)
"""


def prove(items: Iterable[Item], *, cell_seconds: int = CELL_SECONDS) -> list[str]:
    """Run every code item's solution and stub; return a problem per wrong outcome."""
    code = [{"id": item.id, **item.code} for item in items if item.type == "code"]
    if not code:
        return []
    paths = {item.id: item.path for item in items}
    done = subprocess.run([sys.executable, "-c", RUNNER, str(cell_seconds)],
                          input=json.dumps(code), capture_output=True, text=True, check=False,
                          timeout=cell_seconds * 3 * 2 * len(code) + 60)
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
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
    if len(results) < 2 * len(code):
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        found.append(f"code items: the runner stopped after {len(results)} of {2 * len(code)} "
                     f"runs: {tail}")
    return found
