"""Time the grading service on a real deployment: submit to feedback, and an exam closing.

Run as root from the repository root::

    /opt/qcampus/venv/bin/python bench/grading_service.py [--learners 40] [--submissions 500]
        [--workers 1 2] [--window 60] [--seed 0] [--quick]

It creates a throw-away deployment under /var/tmp (``qcampus init``, a roster,
the foundations ``first-circuits`` release) and starts it with ``qcampus up`` on
free ports, as the end-to-end tests do. An admin creates every learner's API
token through the hub's REST API; learners' servers never start. Submissions
travel as the Assignments tab sends them: ``POST`` to the exchange in the
qcampus service, base64 in JSON, with the learner's token.

1. ``--learners`` learners each submit the reference solution at a seeded random
   moment within ``--window`` seconds; for each, the clock runs from the POST
   until ``GET .../submissions`` lists the submission's feedback (polled every
   ``POLL_SECONDS``). Prints p50 and p90.
2. An exam closing: ``--submissions`` learners post at once (notebooks cycling
   through the reference answer and each mistake of
   ``courses/foundations/wrong-answers/first-circuits.yaml``); the clock runs from
   the first POST until the last grading job finished (its feedback released), once
   per ``--workers`` count, the deployment restarted in between. Each learner
   submits once: the queue supersedes a learner's older queued submission, so
   several each would grade fewer than were posted. Then the same notebooks
   graded the stock way: placed as ``nbgrader collect`` places them, stock
   ``nbgrader autograde`` and ``nbgrader generate_feedback``; every score must
   equal the service's. Prints the ratio.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from nbgrader.api import Gradebook  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench import autograde  # noqa: E402
from bench.autograde import ASSIGNMENT, build, timed  # noqa: E402
from bench.harness import issue_tokens, progress, quantile  # noqa: E402
from hub_config.spawner import system_username  # noqa: E402
from qcampus import courses, deployment, roster, settings  # noqa: E402
from qcampus.activation import Activations  # noqa: E402
from submissions.db import open_engine  # noqa: E402
from submissions.grading.models import FINAL, GRADED, GradingJob  # noqa: E402
from tests.e2e import conftest as e2e  # noqa: E402

#: Seconds between a learner's looks at their submissions list.
POLL_SECONDS = 0.5
#: Seconds any one submission may take to get its feedback before the benchmark fails.
PATIENCE = 1800.0
#: Seconds per submission an exam closing may take before the benchmark fails.
CLOSING_SECONDS_PER_SUBMISSION = 15.0
#: Requests in flight at once when the exam closes.
POSTERS = 32
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
#: One-minute load averages seen while waiting for grading (the machine is shared).
LOADS: list[float] = []


class Campus:
    """A deployment started by ``qcampus up``, with tokens for its learners and an admin."""

    def __init__(self, root: Path, learners: int, environ: dict[str, str] | None = None):
        """Create the deployment under *root*; *environ* adds variables to ``qcampus up``'s."""
        self.tag = uuid.uuid4().hex[:5]
        self.admin = f"qcb{self.tag}adm"
        self.names = [f"qcb{self.tag}{i:03d}" for i in range(learners)]
        self.warmup = f"qcb{self.tag}wrm"
        port = e2e.free_port_block(4)
        environ = {**os.environ, **(environ or {}), "QCAMPUS_HUB__PORT": str(port),
                   "QCAMPUS_HUB__CERTIFICATES_PORT": str(port + 3),
                   "QCAMPUS_HUB__ADMIN_USERS": self.admin,
                   "QCAMPUS_COURSES__SOURCE": str(e2e.courses_source(root))}
        home = root / "home"
        deployment.init(home, environ)
        loaded = settings.load(home, environ)
        track = e2e.first_track(loaded.courses_source)
        roster.enrol(home, [roster.Member(self.admin, "instructor", ())] + [
            roster.Member(n, "learner", (track.id,)) for n in [self.warmup, *self.names]])
        [assignment] = [a for a in track.assignments if a.id == ASSIGNMENT]
        courses.release(loaded, track, assignment)
        deployment.run_hooks(loaded)
        self.code = Activations(loaded.hub_dir).issue([self.admin], 1)[self.admin][0]
        self.dep = e2e.Deployment(loaded, environ, e2e.People(self.tag))
        self.course = track.id
        self.hub: e2e.HubProcess | None = None
        self.tokens: dict[str, str] = {}

    @property
    def api(self) -> str:
        return f"{self.dep.settings.exchange_url}/api"

    def up(self, workers: int) -> None:
        """Start (or restart) the deployment with *workers* embedded grading workers."""
        self.down()
        self.dep.environ["QCAMPUS_GRADING__WORKERS"] = str(workers)
        self.hub = e2e.HubProcess(self.dep)
        if not self.tokens:
            self.tokens = self.create_tokens()
        self.warm_up()

    def down(self) -> None:
        if self.hub is not None:
            self.hub.stop()
            self.hub = None

    def create_tokens(self) -> dict[str, str]:
        """Activate the admin, then create each learner's token as an admin does, over REST."""
        return issue_tokens(self.dep.url, self.admin, self.code, [self.warmup, *self.names],
                            "grading benchmark")[1]

    def call(self, name: str, method: str, path: str, **kwargs) -> dict:
        """Call the exchange API as learner *name*; return its JSON or fail with its message."""
        answer = requests.request(method, f"{self.api}{path}", timeout=120, headers={
            "Authorization": f"token {self.tokens[name]}"}, **kwargs)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {path} as {name}: {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def submit(self, name: str, notebook: bytes) -> int:
        """Submit *notebook* as *name* the way the Assignments tab does; return the submission id."""
        files = [{"name": NOTEBOOK, "content": base64.b64encode(notebook).decode()}]
        return self.call(name, "POST", f"/courses/{self.course}/assignments/{ASSIGNMENT}/submissions",
                         json={"files": files})["submission"]["id"]

    def has_feedback(self, name: str, submission: int) -> bool:
        """Tell whether *name*'s submissions list shows feedback for *submission*."""
        listed = self.call(name, "GET", f"/courses/{self.course}/submissions",
                           params={"assignment": ASSIGNMENT})["submissions"]
        return any(s["id"] == submission and s["feedback"] for s in listed)

    def wait_for_feedback(self, name: str, submission: int) -> float:
        """Poll until *submission*'s feedback is listed; return the perf_counter at that moment."""
        deadline = time.monotonic() + PATIENCE
        while not self.has_feedback(name, submission):
            LOADS.append(os.getloadavg()[0])
            if time.monotonic() > deadline:
                raise RuntimeError(f"no feedback for submission {submission} of {name} after "
                                   f"{PATIENCE:.0f} s: {self.jobs([submission])}")
            time.sleep(POLL_SECONDS)
        return time.perf_counter()

    def warm_up(self) -> None:
        """Wait for the service to answer, then have one submission graded (workers import once)."""
        deadline = time.monotonic() + 300
        while True:
            try:
                self.call(self.warmup, "GET", f"/courses/{self.course}/assignments")
                break
            except (requests.ConnectionError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)  # the hub starts its services after itself
        self.wait_for_feedback(self.warmup, self.submit(self.warmup, self.notebooks(1)[0]))

    def notebooks(self, count: int) -> list[bytes]:
        """Return *count* answered notebooks: the reference answer, then each mistake, in turn."""
        return [(self.stock_course / "submitted" / f"learner{i % self.built:04d}" / ASSIGNMENT /
                 NOTEBOOK).read_bytes() for i in range(count)]

    def prepare_notebooks(self, stock_course: Path, count: int) -> None:
        """Build the stock course with *count* answered notebooks (the ones everyone submits)."""
        build(stock_course, count)
        self.stock_course, self.built = stock_course, count

    def jobs(self, submissions: list[int]) -> list[GradingJob]:
        """Return the grading jobs of *submissions* as the queue records them."""
        engine = open_engine(self.dep.settings.submissions_database_url)
        try:
            with Session(engine) as session:
                return list(session.scalars(select(GradingJob).where(
                    GradingJob.submission_id.in_(submissions))))
        finally:
            engine.dispose()

    def scores(self) -> dict[str, float]:
        """Return every learner's score of the assignment in the course's gradebook."""
        url = f"sqlite:///{self.dep.course_dir() / 'gradebook.db'}"
        with Gradebook(url, self.course) as gb:
            return {s.student_id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}

    def feedback_page_seconds(self) -> float:
        """Time the feedback page of one graded learner as a job makes it (the second of two runs)."""
        from submissions.grading import feedback

        loaded = self.dep.settings
        for _ in range(2):
            start = time.perf_counter()
            feedback.generate(self.dep.course_dir(), ASSIGNMENT, self.names[0],
                              loaded.gradebook_url(self.course))
        return time.perf_counter() - start

    def remove(self) -> None:
        self.down()
        for name in [self.admin, self.warmup, *self.names]:
            e2e.remove_system_user(system_username(name))


@contextmanager
def campus_on_disk(learners: int, environ: dict[str, str] | None = None
                   ) -> Iterator[tuple[Campus, Path]]:
    """Yield a :class:`Campus` of *learners* in a new directory under /var/tmp, and that directory.

    Afterwards its hub stops and its system users and directory are removed, whatever happened.
    """
    # The hub lives on localhost, which requests files cookies of differently without this.
    e2e.behave_like_a_browser_on_localhost()
    root = Path(tempfile.mkdtemp(prefix="qcampus-bench-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    campus = None
    try:
        campus = Campus(root, learners, environ)
        yield campus, root
    finally:
        if campus is not None:
            campus.remove()
        subprocess.run(["rm", "-rf", str(root)], check=False)


def submit_to_feedback(campus: Campus, learners: int, window: float, seed: int) -> list[float]:
    """Have *learners* submit the reference at seeded moments within *window*; return latencies."""
    rng = random.Random(seed)
    moments = [rng.uniform(0, window) for _ in range(learners)]
    reference = campus.notebooks(1)[0]
    start = time.perf_counter()

    def learner(i: int) -> float:
        time.sleep(max(0.0, start + moments[i] - time.perf_counter()))
        posted = time.perf_counter()
        submission = campus.submit(campus.names[i], reference)
        return campus.wait_for_feedback(campus.names[i], submission) - posted

    with ThreadPoolExecutor(max_workers=learners) as pool:
        return list(pool.map(learner, range(learners)))


def exam_closing(campus: Campus, count: int) -> dict:
    """Post *count* submissions at once, one per learner; time until every one is graded."""
    notebooks = campus.notebooks(count)
    first = datetime.now(UTC)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=POSTERS) as pool:
        ids = list(pool.map(campus.submit, campus.names[:count], notebooks))
    posted = time.perf_counter() - start
    # A closing of 500 on one worker of a loaded machine takes well over half an hour.
    patience = max(PATIENCE, CLOSING_SECONDS_PER_SUBMISSION * count)
    deadline = time.monotonic() + patience
    while True:
        jobs = campus.jobs(ids)
        if len(jobs) == count and all(job.state in FINAL for job in jobs):
            break
        if time.monotonic() > deadline:
            graded = sum(job.state in FINAL for job in jobs)
            raise RuntimeError(f"only {graded} of {count} submissions graded after {patience:.0f} s")
        LOADS.append(os.getloadavg()[0])
        time.sleep(POLL_SECONDS)
    last = max(aware(job.finished_at) for job in jobs)
    graded = [job for job in jobs if job.state == GRADED]
    each = [(job.finished_at - job.started_at).total_seconds() for job in graded]
    return {"posted": posted, "seconds": (last - first).total_seconds(), "graded": len(graded),
            "job": statistics.median(each) if each else float("nan"),
            "other": sorted({f"{job.state}: {job.reason[:200]}" for job in jobs
                             if job.state != GRADED})}


def aware(moment: datetime) -> datetime:
    """Return *moment* as UTC-aware (SQLite gives back naive UTC times)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stock(course: Path, count: int) -> dict:
    """Grade the course's *count* submissions the stock way: placement, autograde, feedback."""
    waiting = course / "inbound"
    (course / "submitted").rename(waiting)
    python = [sys.executable, "-m", "nbgrader"]
    start = time.perf_counter()
    # What `nbgrader collect` does with the exchange's inbound folders: copy each into place.
    shutil.copytree(waiting, course / "submitted")
    placed = time.perf_counter() - start
    autograde = timed([*python, "autograde", ASSIGNMENT], course)
    generated = timed([*python, "generate_feedback", ASSIGNMENT], course)
    feedback = len(list((course / "feedback").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.html")))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "bench") as gb:
        scores = {s.student_id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}
    return {"seconds": placed + autograde + generated, "placed": placed, "autograde": autograde,
            "feedback_seconds": generated, "feedback": feedback, "scores": scores}


def compare(campus: Campus, stock_scores: dict[str, float], count: int) -> int:
    """Check the service's score of every learner equals stock nbgrader's; return full marks."""
    ours = campus.scores()
    differ = [i for i in range(count)
              if ours.get(campus.names[i]) != stock_scores.get(f"learner{i:04d}")]
    if len(stock_scores) != count or differ:
        raise SystemExit(f"scores differ for submissions {differ[:5]} (stock graded "
                         f"{len(stock_scores)} of {count})")
    best = max(stock_scores.values())
    return sum(score == best for score in stock_scores.values())


def report(args, latencies: list[float], closings: dict[int, dict], baseline: dict,
           full: int, page: float) -> str:
    """Return the Markdown tables of both measurements."""
    n = args.submissions
    lines = [f"Submit → feedback listed: {args.learners} learners, each posting the reference "
             f"answer at a random moment within {args.window:g} s (seed {args.seed}), "
             f"polled every {POLL_SECONDS:g} s.", "",
             "| measure | result |", "|---|---:|",
             f"| p50 of {len(latencies)} | {quantile(latencies, 50):.1f} s |",
             f"| p90 of {len(latencies)} | {quantile(latencies, 90):.1f} s |",
             f"| slowest | {max(latencies):.1f} s |", "",
             f"An exam closing: {n} submissions posted at once ({POSTERS} requests in flight, "
             f"one per learner), until every one is graded with its feedback.", "",
             "| grading | submissions graded | all graded after | per submission | one job, "
             "median | stock / this |", "|---|---:|---:|---:|---:|---:|"]
    for workers, row in closings.items():
        lines.append(f"| grading service, {workers} worker{'s' if workers > 1 else ''} (posting took "
                     f"{row['posted']:.1f} s) | {row['graded']} of {n} | {row['seconds']:.1f} s | "
                     f"{row['seconds'] / n * 1000:.0f} ms | {row['job']:.1f} s | "
                     f"{baseline['seconds'] / row['seconds']:.1f}x |")
    lines.append(f"| stock nbgrader: collect placement {baseline['placed']:.1f} s + autograde "
                 f"{baseline['autograde']:.1f} s + generate_feedback "
                 f"{baseline['feedback_seconds']:.1f} s | {len(baseline['scores'])} of {n} | "
                 f"{baseline['seconds']:.1f} s | {baseline['seconds'] / n * 1000:.0f} ms | – | 1.0x |")
    lines += ["", f"Scores: every one of the {n} equal to stock nbgrader's ({full} full marks); "
              f"stock feedback pages written: {baseline['feedback']}."]
    lines.append(f"Of one job, the feedback page (`nbgrader generate_feedback --student` in a child "
                 f"forked from a process that has imported nbgrader, as each job runs it) takes "
                 f"{page:.1f} s.")
    for workers, row in closings.items():
        lines += [f"Not graded with {workers} workers: {reason}" for reason in row["other"]]
    loads = LOADS + autograde.LOADS
    if loads:
        lines.append(f"Load average (1 min) while timing: {min(loads):.1f}–{max(loads):.1f} "
                     f"on {os.cpu_count()} cores.")
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=40,
                        help="Learners submitting within the window (part 1).")
    parser.add_argument("--submissions", type=int, default=500,
                        help="Submissions posted at once when the exam closes (part 2).")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="grading.workers of each exam closing, restarted in between.")
    parser.add_argument("--window", type=float, default=60.0,
                        help="Seconds within which the learners of part 1 submit.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="Small numbers: 3 learners within 5 s, 6 submissions.")
    args = parser.parse_args(argv)
    if args.quick:
        args.learners, args.submissions, args.window = 3, 6, 5.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    with campus_on_disk(max(args.learners, args.submissions)) as (campus, root):
        campus.prepare_notebooks(root / "stock", args.submissions)
        closings = {}
        for run, workers in enumerate(args.workers):
            campus.up(workers)
            if run == 0:
                latencies = submit_to_feedback(campus, args.learners, args.window, args.seed)
                progress(f"submit → feedback: p50 {quantile(latencies, 50):.1f} s, "
                         f"p90 {quantile(latencies, 90):.1f} s")
            closings[workers] = exam_closing(campus, args.submissions)
            progress(f"exam closing, {workers} workers: {closings[workers]}")
        campus.down()
        page = campus.feedback_page_seconds()
        baseline = stock(root / "stock", args.submissions)
        progress(f"stock: {baseline['seconds']:.1f} s")
        full = compare(campus, baseline["scores"], args.submissions)
        print(report(args, latencies, closings, baseline, full, page))
    return 0


if __name__ == "__main__":
    sys.exit(main())
