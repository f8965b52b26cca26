"""Time ``qcampus grade`` (sandboxed) against stock ``nbgrader autograde`` on a real assignment.

Run as root from the repository root::

    /opt/qcampus/venv/bin/python bench/autograde.py --n 20 200 [--stock-max 200]

For each N it builds a throw-away nbgrader course under /var/tmp from
``courses/foundations/source/first-circuits`` (``nbgrader generate_assignment``),
writes N submissions that cycle through the reference answer and every mistake
listed in ``courses/foundations/wrong-answers/first-circuits.yaml``, and grades
copies of the same course both ways, each as a fresh command. When N is larger
than ``--stock-max``, stock nbgrader grades only the first ``--stock-max``
submissions and its time for N is extrapolated linearly (marked ``*``). Every
score stock nbgrader produced must equal qcampus's, or the benchmark fails.
Prints a Markdown table, then where one submission's time goes (start-up, the
learner's cells alone, one sandboxed notebook, the rest) and the bound the
learner's own cells set on any speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import yaml

REPO = Path(__file__).resolve().parents[1]
TRACK = REPO / "courses" / "foundations"
ASSIGNMENT = "first-circuits"
SOLUTION = re.compile(r"[ \t]*### BEGIN SOLUTION\n(.*?)[ \t]*### END SOLUTION\n?", re.S)


def env() -> dict[str, str]:
    """Return the environment with this interpreter's bin directory first (nbgrader runs alembic)."""
    return {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}


def variants() -> list[dict[str, str]]:
    """Return answer sets: the reference solutions, then the reference with each mistake."""
    source = nbformat.read(TRACK / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    reference = {}
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            reference[meta["grade_id"]] = SOLUTION.sub(lambda m: m.group(1), cell.source)
    mistakes = yaml.safe_load((TRACK / "wrong-answers" / f"{ASSIGNMENT}.yaml").read_text())
    return [reference] + [{**reference, m["cell"]: m["source"]} for m in mistakes]


def build(root: Path, n: int) -> None:
    """Create the course at *root* with *n* submissions."""
    shutil.copytree(TRACK / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'bench'\n")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT],
                   cwd=root, env=env(), check=True, capture_output=True)
    released = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    answers = variants()
    for i in range(n):
        notebook = nbformat.from_dict(json.loads(json.dumps(released)))
        chosen = answers[i % len(answers)]
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in chosen:
                cell.source = chosen[grade_id]
        folder = root / "submitted" / f"learner{i:04d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{ASSIGNMENT}.ipynb")
        (folder / "timestamp.txt").write_text("2026-01-05 10:00:00.000000 UTC")


def scores(root: Path) -> dict[str, float]:
    """Return every student's score in the course's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "bench") as gb:
        return {s.student_id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}


#: One-minute load averages sampled while a timed command ran (the machine is shared).
LOADS: list[float] = []


def timed(command: list[str], cwd: Path) -> float:
    """Run *command* in *cwd*; return its wall time in seconds, sampling the load average."""
    done = threading.Event()

    def sample() -> None:
        while not done.wait(5):
            LOADS.append(os.getloadavg()[0])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env(), check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return seconds


def measure(n: int, stock_max: int, workers: int, base: Path) -> dict:
    """Grade N submissions both ways; return the row of the table."""
    ours = base / f"ours-{n}"
    build(ours, n)
    stock_n = min(n, stock_max)
    stock = base / f"stock-{n}"
    shutil.copytree(ours, stock)
    for extra in sorted((stock / "submitted").iterdir())[stock_n:]:
        shutil.rmtree(extra)
    stock_seconds = timed([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT], stock)
    our_seconds = timed([os.path.join(os.path.dirname(sys.executable), "qcampus"), "grade",
                         ASSIGNMENT,
                         "--workers", str(workers)], ours)
    ours_scores, stock_scores = scores(ours), scores(stock)
    mismatched = [s for s in stock_scores if stock_scores[s] != ours_scores.get(s)]
    if len(ours_scores) != n or len(stock_scores) != stock_n or mismatched:
        raise SystemExit(f"N={n}: scores differ for {mismatched[:5]} "
                         f"(qcampus graded {len(ours_scores)}, stock {len(stock_scores)})")
    extrapolated = stock_seconds * n / stock_n
    return {"n": n, "stock": extrapolated, "estimated": stock_n < n, "stock_n": stock_n,
            "ours": our_seconds, "speedup": extrapolated / our_seconds,
            "full": sum(1 for v in ours_scores.values() if v == max(ours_scores.values()))}


#: Run in a fresh interpreter: the one-off start-up, then one notebook's cost two ways.
PHASES = r"""
import importlib, json, statistics, sys, time
start = time.perf_counter()
from grader.autograde.compat import without_format_grammars
from grader.sandbox.zygote import DEFAULT_PRELOAD, check_modules, single_threaded_native_pools
single_threaded_native_pools()  # as qcampus grade does
with without_format_grammars():
    for name in [*DEFAULT_PRELOAD, *check_modules(), "grader.autograde.worker"]:
        importlib.import_module(name)
startup = time.perf_counter() - start
import nbformat
from grader.sandbox.limits import Limits
from grader.sandbox.runner import Sandbox
notebook = nbformat.read(sys.argv[1], 4)
sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]

def cells_in_process():
    namespace = {}
    start = time.perf_counter()
    for source in sources:
        exec(compile(source, "<cell>", "exec"), namespace)
    return time.perf_counter() - start

cells_in_process()
cells = statistics.median(cells_in_process() for _ in range(15))
with Sandbox(Limits(), isolate=True, slot=0) as box:
    box.run(sources)
    runs = []
    for _ in range(15):
        start = time.perf_counter()
        box.run(sources)
        runs.append(time.perf_counter() - start)
print(json.dumps({"startup": startup, "cells": cells, "sandbox": statistics.median(runs)}))
"""


def phases(notebook: Path) -> dict[str, float]:
    """Measure start-up, the learner's cells alone and one sandboxed notebook (seconds)."""
    result = subprocess.run([sys.executable, "-c", PHASES, str(notebook)], env=env(),
                            check=True, capture_output=True, text=True, cwd="/")
    return json.loads(result.stdout.strip().splitlines()[-1])


def print_phases(cost: dict[str, float], row: dict, workers: int) -> None:
    """Print where one submission's time goes, and the bound it sets on the speed-up."""
    n = row["n"]
    per_submission = (row["ours"] - cost["startup"]) * workers / n
    rest = per_submission - cost["sandbox"]
    floors = {"nothing but the learner's cells ran": cost["cells"],
              "nbgrader's converter and gradebook cost nothing (sandbox only)": cost["sandbox"]}
    print(f"\nWhere the time goes (reference answer, medians of 15; the rest derived from the "
          f"N = {n} run):\n")
    print("| phase | time |\n|---|---:|")
    print(f"| start-up, once per run: import Qiskit, Aer, dimod, nbgrader, checks | "
          f"{cost['startup']:.2f} s |")
    print(f"| the learner's cells alone, in an already warm process (no fork, no sandbox) | "
          f"{cost['cells'] * 1000:.1f} ms |")
    print(f"| one notebook in the sandbox (fork, namespaces, private root, cells, teardown) | "
          f"{cost['sandbox'] * 1000:.1f} ms |")
    print(f"| the rest per submission: nbgrader's converter, gradebook, copies "
          f"((wall - start-up) x {workers} / N - sandbox) | {rest * 1000:.1f} ms |")
    print(f"\nLower bounds for N = {n} on {workers} workers (start-up + N x per-notebook "
          f"time / workers), against the stock time above:\n")
    for label, seconds in floors.items():
        floor = cost["startup"] + n * seconds / workers
        print(f"- if {label}: {floor:.1f} s, at most {row['stock'] / floor:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[20, 200])
    parser.add_argument("--stock-max", type=int, default=200,
                        help="Most submissions stock nbgrader grades; beyond, it is extrapolated.")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="qcampus-bench-", dir="/var/tmp"))
    try:
        rows = [measure(n, args.stock_max, args.workers, base) for n in args.n]
        reference = base / f"ours-{args.n[0]}" / "submitted" / "learner0000" / ASSIGNMENT
        cost = phases(reference / f"{ASSIGNMENT}.ipynb")
    finally:
        shutil.rmtree(base)
    print(f"| N | stock nbgrader autograde (s) | qcampus grade, sandboxed, {args.workers} workers "
          "(s) | speed-up | scores equal |")
    print("|---:|---:|---:|---:|---|")
    for r in rows:
        stock = f"{r['stock']:.1f}" + (f" * (measured {r['stock_n']})" if r["estimated"] else "")
        print(f"| {r['n']} | {stock} | {r['ours']:.1f} | {r['speedup']:.0f}x | "
              f"yes ({r['stock_n']} compared, {r['full']} full marks) |")
    if LOADS:
        print(f"\nLoad average (1 min) while timing, sampled every 5 s: {min(LOADS):.1f}–"
              f"{max(LOADS):.1f} on {os.cpu_count()} cores.")
    row = next((r for r in rows if r["n"] == 200), max(rows, key=lambda r: r["n"]))
    print_phases(cost, row, args.workers)


if __name__ == "__main__":
    main()
