"""Time an exam closing in the qcampus service: candidates submit within a minute, results and certificates.

Run as root from the repository root::

    /opt/qcampus/venv/bin/python bench/exam.py [--candidates 500] [--window 60] [--posters 32]
        [--seed 0] [--quick]
    /opt/qcampus/venv/bin/python bench/exam.py --exam quantum-programming-practitioner \
        [--candidates 500] [--live 100] [--wave 20] [--workers 2] ...

It creates a throw-away deployment under /var/tmp (``qcampus init``, a roster of
candidates) and starts it with ``qcampus up`` on free ports, as the end-to-end
tests do. Every candidate signs in at the hub (the login form) and at the
qcampus service (hub OAuth), starts the exam and saves an answer to each Part A
item (right with probability 0.7, seeded), as the page's autosave does. Then
the exam closes: every candidate submits at a seeded random moment within
``--window`` seconds (``--posters`` requests in flight at most). Measured:

- each submit's latency (p50, p90, max), and the time from the first submit
  until every attempt is decided and every pass has its certificate (signed
  Open Badges 3.0 credential, recorded as issued);
- side by side, the same submits to a bare Flask endpoint under the same
  gunicorn (two sync workers, as the service runs): it reads the Part A
  answers, scores them against keys held in memory and inserts one SQLite row,
  nothing else (no sign-in, form redrawn from a seed, audit log, Part B or
  credential). The ratio is the price of what the service does on top.

An exam with Part B (a practitioner exam) adds, for every candidate, a real
JupyterLab server started through the hub's REST API (by an admin, ``--wave``
at a time) before the candidate starts, so the service places the Part B task
notebooks into it; the candidate writes each answer cell (the reference
solution with probability 0.7, else the stub left as it is) through the
Jupyter contents API with its own token, and the page's periodic collection
saves it. A JupyterLab server takes about 130 MB here, so only the last
``--live`` candidates keep theirs running into the closing, where submitting
collects from it once more; the others stopped theirs after their last
collection (submitting then records that the server could not be reached and
grades the notebooks collected before). After submitting, each candidate's
result page reloads every 10 s (as the page does) until the attempt is decided:
its Part B tasks are graded by the grading service (``--workers`` workers) in
the sandbox against the answer keys.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from sqlalchemy import create_engine, func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.harness import issue_tokens, progress, quantile  # noqa: E402
from exams import catalog  # noqa: E402
from exams.lab import task_path  # noqa: E402
from exams.models import SCORED, Attempt, Event  # noqa: E402
from exams.part_b import has_tasks  # noqa: E402
from hub_config.spawner import system_username  # noqa: E402
from qcampus import deployment, roster, settings  # noqa: E402
from qcampus.activation import Activations  # noqa: E402
from tests.e2e import conftest as e2e  # noqa: E402

EXAM = "quantum-literacy"
#: The nbgrader id of a task notebook's answer cell (exams.tasks.ANSWER_CELL).
ANSWER_CELL = "answer-task"
#: Seconds between two loads of a result page that waits for Part B (its meta refresh).
RESULT_REFRESH = 10.0
#: Seconds the benchmark waits for every result and certificate before it fails (--patience).
PATIENCE = 3600.0
#: Share of items a candidate answers right.
RIGHT = 0.7

#: Prints, for each attempt (id, seed), its Part A items with a right and a wrong answer and its
#: Part B tasks with the reference solution (a child interpreter: a generated key may simulate,
#: and this process is only a client).
KEYS = """
import json, sys
from exams import bank, catalog, forms
items = bank.require()
exam = catalog.load()[0][sys.argv[1]]
found = {}
for line in sys.stdin:
    attempt, seed = map(int, line.split())
    rows, tasks = [], {}
    for slot in forms.draw(exam, items, seed):
        item = items[slot.item]
        if slot.part != "A":
            tasks[slot.item] = item.code["solution"]
            continue
        key = bank.key_for(item, slot.seed)
        right = key["value"] if item.type == "numeric" else key
        wrong = {"numeric": -12345.0, "single": "none", "multiple": ["none"],
                 "ordering": ["none"], "matching": {"none": "none"}}[item.type]
        rows.append([slot.item, right, wrong])
    found[attempt] = {"A": rows, "B": tasks}
print(json.dumps(found))
"""

#: The bare endpoint: score 40 answers against keys in memory, one SQLite row.
BARE = '''
import json, os, sqlite3
from flask import Flask, jsonify, request
KEYS = json.load(open(os.environ["BARE_KEYS"]))
DB = os.environ["BARE_DB"]
app = Flask(__name__)

@app.post("/submit")
def submit():
    body = request.get_json()
    keys = KEYS[str(body["attempt"])]
    score = sum(1 for item, right, _ in keys["A"] if body["answers"].get(item) == right)
    with sqlite3.connect(DB, timeout=30) as db:
        db.execute("INSERT INTO results (attempt, score) VALUES (?, ?)", (body["attempt"], score))
    return jsonify(score=score)
'''


class Candidate:
    """One candidate's browser-like sessions with the hub, the qcampus service and their JupyterLab."""

    def __init__(self, hub: str, service: str, name: str, exam: str):
        self.user = e2e.HubUser(hub, name)
        self.service = service
        self.exam = exam
        self.attempt = 0
        self.csrf = ""
        #: The candidate's hub API token (Part B: it reaches their own server only).
        self.token = ""
        #: Part B: whether the candidate wrote the reference solution into each task.
        self.written: dict[str, bool] = {}

    def sign_in(self) -> None:
        """Log in at the hub without starting a server, then at the service through hub OAuth."""
        user = self.user
        user.session.get(f"{user.base}/hub/login")
        answer = user.session.post(f"{user.base}/hub/login", allow_redirects=False, data={
            "username": user.name, "password": uuid.uuid4().hex, "_xsrf": user.hub_xsrf()})
        if answer.status_code != 302:
            raise RuntimeError(f"hub login of {user.name}: {answer.status_code} {answer.text[:200]}")
        page = user.session.get(f"{self.service}/exams/", timeout=60)
        if page.status_code != 200 or "exam-" not in page.text:
            raise RuntimeError(f"exam page of {user.name}: {page.status_code} {page.text[:200]}")
        self.csrf = _hidden(page.text)

    def start(self) -> None:
        answer = self.user.session.post(f"{self.service}/exams/{self.exam}/start", timeout=120,
                                        data={"csrf_token": self.csrf, "language": "en"},
                                        allow_redirects=False)
        if answer.status_code != 302:
            raise RuntimeError(f"start of {self.user.name}: {answer.status_code} {answer.text[:200]}")
        self.attempt = int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    def save(self, item: str, value) -> float:
        began = time.perf_counter()
        answer = self.user.session.post(f"{self.service}/exams/attempts/{self.attempt}/answers",
                                        json={"item": item, "answer": value}, timeout=60,
                                        headers={"X-CSRF-Token": self.csrf})
        if answer.status_code != 200:
            raise RuntimeError(f"save of {self.user.name}: {answer.status_code} {answer.text[:200]}")
        return time.perf_counter() - began

    def write_task(self, item: str, code: str | None) -> None:
        """Write *code* into the answer cell of a placed task notebook (None: leave the stub)."""
        url = self.user.url(f"api/contents/{task_path(self.exam, self.attempt, item)}")
        headers = {"Authorization": f"token {self.token}"}
        answer = requests.get(url, params={"type": "notebook", "content": "1"}, headers=headers,
                              timeout=60)
        if answer.status_code != 200:
            raise RuntimeError(f"task {item} of {self.user.name} not placed: {answer.status_code} "
                               f"{answer.text[:200]}")
        notebook = answer.json()["content"]
        if code is not None:
            [cell] = [c for c in notebook["cells"]
                      if c["metadata"].get("nbgrader", {}).get("grade_id") == ANSWER_CELL]
            cell["source"] = code
        answer = requests.put(url, json={"type": "notebook", "format": "json", "content": notebook},
                              headers=headers, timeout=60)
        if answer.status_code != 200:
            raise RuntimeError(f"saving {item} of {self.user.name}: {answer.status_code} "
                               f"{answer.text[:200]}")

    def collect(self) -> None:
        """Ask the service to collect the Part B notebooks now, as the page does every two minutes."""
        answer = self.user.session.post(
            f"{self.service}/exams/attempts/{self.attempt}/tasks/collect", json={}, timeout=120,
            headers={"X-CSRF-Token": self.csrf})
        if answer.status_code != 200 or not answer.json().get("collected"):
            raise RuntimeError(f"collect of {self.user.name}: {answer.status_code} {answer.text[:300]}")

    def submit(self) -> float:
        began = time.perf_counter()
        answer = self.user.session.post(f"{self.service}/exams/attempts/{self.attempt}/submit",
                                        data={"csrf_token": self.csrf}, timeout=300,
                                        allow_redirects=False)
        if answer.status_code != 302:
            raise RuntimeError(f"submit of {self.user.name}: {answer.status_code} {answer.text[:200]}")
        return time.perf_counter() - began

    def view_result(self) -> None:
        """Load the result page, as the open page reloads itself while Part B is graded."""
        answer = self.user.session.get(f"{self.service}/exams/attempts/{self.attempt}/result",
                                       timeout=120)
        if answer.status_code != 200:
            raise RuntimeError(f"result of {self.user.name}: {answer.status_code} {answer.text[:200]}")


def _hidden(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spread(count: int, window: float, seed: int) -> list[float]:
    """Return each candidate's submit moment (seconds after the closing opens), seeded."""
    rng = random.Random(seed)
    return [rng.uniform(0, window) for _ in range(count)]


def closing(moments: list[float], posters: int, send) -> tuple[list[float], float]:
    """Send submit *i* at *moments[i]* with at most *posters* in flight; return latencies, first start."""
    order = sorted(range(len(moments)), key=moments.__getitem__)
    latencies = [0.0] * len(moments)
    first = time.perf_counter()

    def one(index: int) -> None:
        delay = moments[index] - (time.perf_counter() - first)
        if delay > 0:
            time.sleep(delay)
        latencies[index] = send(index)

    with ThreadPoolExecutor(posters) as pool:
        list(pool.map(one, order))
    return latencies, first


class Campus:
    """A throw-away deployment with *count* candidates (and an admin), started by ``qcampus up``."""

    def __init__(self, root: Path, count: int, workers: int):
        self.tag = uuid.uuid4().hex[:5]
        self.names = [f"qce{self.tag}{i:03d}" for i in range(count)]
        self.admin = f"qce{self.tag}adm"
        port = e2e.free_port_block(4)
        self.environ = {**os.environ, "QCAMPUS_HUB__PORT": str(port),
                        "QCAMPUS_HUB__CERTIFICATES_PORT": str(port + 3),
                        "QCAMPUS_HUB__ADMIN_USERS": self.admin,
                        "QCAMPUS_GRADING__WORKERS": str(workers),
                        "QCAMPUS_COURSES__SOURCE": str(e2e.courses_source(root)),
                        # Every candidate signs in from 127.0.0.1, as an exam room behind one
                        # address does: the service's 20 sign-ins a minute per address would
                        # refuse most of them (docs/exams.md says how a centre raises it).
                        "QCAMPUS_SERVICE_RATELIMIT_LOGIN": f"{4 * count} per minute"}
        home = root / "home"
        deployment.init(home, self.environ)
        self.settings = settings.load(home, self.environ)
        roster.enrol(home, [roster.Member(self.admin, "instructor", ())]
                     + [roster.Member(name, "learner", ()) for name in self.names])
        deployment.run_hooks(self.settings)
        self.code = Activations(self.settings.hub_dir).issue([self.admin], 1)[self.admin][0]
        self.dep = e2e.Deployment(self.settings, self.environ, e2e.People(self.tag))
        self.hub = e2e.HubProcess(self.dep)
        e2e.wait_for_service(f"{self.dep.service_url}/")
        self.admin_headers: dict[str, str] = {}

    @property
    def hub_api(self) -> str:
        return f"{self.dep.url}/hub/api"

    def create_tokens(self, people: list[Candidate]) -> None:
        """Activate the admin, then give each candidate an API token as an admin does, over REST."""
        self.admin_headers, tokens = issue_tokens(
            self.dep.url, self.admin, self.code, [c.user.name for c in people], "exam benchmark")
        for candidate in people:
            candidate.token = tokens[candidate.user.name]

    def _server(self, name: str) -> dict | None:
        answer = requests.get(f"{self.hub_api}/users/{name}", headers=self.admin_headers, timeout=60)
        answer.raise_for_status()
        return (answer.json().get("servers") or {}).get("")

    def start_servers(self, names: list[str]) -> None:
        """Start the JupyterLab servers of *names* through the hub's REST API; wait until ready."""
        self._servers("POST", names, (201, 202), lambda server: bool(server and server.get("ready")))

    def stop_servers(self, names: list[str]) -> None:
        """Stop the servers of *names* as a candidate or the culler does; wait until stopped."""
        self._servers("DELETE", names, (202, 204), lambda server: server is None)

    def _servers(self, method: str, names: list[str], accepted: tuple[int, ...], done) -> None:
        for name in names:
            answer = requests.request(method, f"{self.hub_api}/users/{name}/server",
                                      headers=self.admin_headers, timeout=120)
            if answer.status_code not in accepted:
                raise RuntimeError(f"{method} server of {name}: {answer.status_code} "
                                   f"{answer.text[:200]}")
        self._wait(names, done, method)

    def _wait(self, names: list[str], done, what: str) -> None:
        deadline = time.monotonic() + 600
        waiting = list(names)
        while waiting:
            waiting = [name for name in waiting if not done(self._server(name))]
            if waiting and time.monotonic() > deadline:
                raise RuntimeError(f"servers not done after {what}: {', '.join(waiting)}")
            if waiting:
                time.sleep(0.5)

    def counts(self) -> tuple[int, int, int, int]:
        """Return how many attempts are scored, decided, passed, and have their certificate issued.

        An attempt with Part B is scored at submit and decided once its tasks are graded.
        """
        engine = create_engine(self.settings.exams_database_url)
        try:
            with Session(engine) as session:
                scored = session.scalar(select(func.count()).select_from(Attempt)
                                        .where(Attempt.state == SCORED))
                decided = session.scalar(select(func.count()).select_from(Attempt)
                                         .where(Attempt.state == SCORED, Attempt.passed.is_not(None)))
                passed = session.scalar(select(func.count()).select_from(Attempt)
                                        .where(Attempt.state == SCORED, Attempt.passed.is_(True)))
                issued = session.scalar(select(func.count(func.distinct(Event.attempt_id)))
                                        .where(Event.action == "issue"))
        finally:
            engine.dispose()
        return scored, decided, passed, issued

    def undecided(self) -> set[int]:
        """Return the ids of the attempts whose result is not decided yet."""
        engine = create_engine(self.settings.exams_database_url)
        try:
            with Session(engine) as session:
                return set(session.scalars(select(Attempt.id).where(Attempt.passed.is_(None))))
        finally:
            engine.dispose()

    def seeds(self, attempt_ids: list[int]) -> dict[int, int]:
        """Return the form seed of each attempt."""
        engine = create_engine(self.settings.exams_database_url)
        try:
            with Session(engine) as session:
                return dict(session.execute(select(Attempt.id, Attempt.seed)
                                            .where(Attempt.id.in_(attempt_ids))).all())
        finally:
            engine.dispose()

    def remove_users(self) -> None:
        """Delete the system users the candidates' servers were started as."""
        for name in [self.admin, *self.names]:
            e2e.remove_system_user(system_username(name))


def bare_server(root: Path, keys: dict) -> tuple[subprocess.Popen, str]:
    """Start the bare endpoint under gunicorn (2 sync workers); return it and its URL."""
    (root / "bare").mkdir()
    (root / "bare" / "bare_app.py").write_text(BARE, encoding="utf-8")
    (root / "bare" / "keys.json").write_text(json.dumps(keys), encoding="utf-8")
    db = root / "bare" / "results.sqlite"
    subprocess.run([sys.executable, "-c", "import sqlite3, sys; sqlite3.connect(sys.argv[1])"
                    ".execute('CREATE TABLE results (attempt INTEGER, score INTEGER)')", str(db)],
                   check=True)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--log-level", "warning", "--chdir", str(root / "bare"), "bare_app:app"],
        env={**os.environ, "BARE_KEYS": str(root / "bare" / "keys.json"), "BARE_DB": str(db)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=5)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the bare endpoint did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exam", default=EXAM, help="The exam's id in the catalog.")
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--posters", type=int, default=32)
    parser.add_argument("--live", type=int, default=100,
                        help="Part B: candidates whose JupyterLab still runs at the closing.")
    parser.add_argument("--wave", type=int, default=20,
                        help="Part B: servers started (and stopped) together.")
    parser.add_argument("--workers", type=int, default=2, help="grading.workers (Part B).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--patience", type=float, default=PATIENCE,
                        help="Seconds after the first submit to wait for every result and "
                             "certificate before failing (what was reached is printed).")
    parser.add_argument("--quick", action="store_true",
                        help="5 candidates within 5 s (Part B: waves of 3, 2 servers live).")
    args = parser.parse_args(argv)
    if args.quick:
        args.candidates, args.window, args.wave, args.live = 5, 5.0, 3, 2
    e2e.behave_like_a_browser_on_localhost()
    exam = catalog.load()[0][args.exam]
    part_b = has_tasks(exam)
    root = Path(tempfile.mkdtemp(prefix="qcampus-exam-bench-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    campus = bare = None
    try:
        campus = Campus(root, args.candidates, args.workers)
        service = campus.dep.service_url
        people = [Candidate(campus.dep.url, service, name, args.exam) for name in campus.names]
        began = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(Candidate.sign_in, people))
        progress(f"{len(people)} candidates signed in in {time.perf_counter() - began:.0f} s")
        rng = random.Random(args.seed)
        if part_b:
            keys, saves, sitting = sit_with_part_b(campus, people, args, rng)
        else:
            began = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(Candidate.start, people))
            progress(f"{len(people)} candidates started in {time.perf_counter() - began:.0f} s")
            keys = keys_of(campus, people)
            answers = part_a_answers(people, keys, rng)
            began = time.perf_counter()
            with ThreadPoolExecutor(args.posters) as pool:
                saves = [t for batch in pool.map(
                    lambda c: [c.save(item, value) for item, value in answers[c.attempt].items()],
                    people) for t in batch]
            sitting = []
            progress(f"{len(saves)} answers saved in {time.perf_counter() - began:.0f} s")
        progress(f"answers saved: p50 {quantile(saves, 50) * 1000:.0f} ms, "
                 f"p90 {quantile(saves, 90) * 1000:.0f} ms")

        moments = spread(len(people), args.window, args.seed)
        latencies, first = closing(moments, args.posters, lambda i: people[i].submit())
        last_submit = time.perf_counter()
        progress(f"every candidate submitted {last_submit - first:.1f} s after the first")
        viewed = 0.0
        while True:
            scored, decided, passed, issued = campus.counts()
            if decided == len(people) and issued == passed:
                break
            if time.perf_counter() - first > args.patience:
                raise RuntimeError(f"after {args.patience:.0f} s: {scored} scored, {decided} decided, "
                                   f"{passed} passed, {issued} certified")
            if part_b and time.perf_counter() - viewed >= RESULT_REFRESH:
                viewed = time.perf_counter()
                failed = [job for job in e2e.grading_jobs(campus.dep) if job["state"] == "failed"]
                if failed:  # such an attempt is never decided: say why now, not after --patience
                    raise RuntimeError(f"{len(failed)} task notebooks failed to grade: " + "; ".join(
                        f"{job['student']}: {job['reason']}" for job in failed[:5]))
                waiting = campus.undecided()
                with ThreadPoolExecutor(args.posters) as pool:
                    list(pool.map(Candidate.view_result,
                                  [c for c in people if c.attempt in waiting]))
            time.sleep(0.5)
        done = time.perf_counter() - first
        progress(f"qcampus: all {decided} results and {issued} certificates {done:.1f} s after the "
                 f"first submit ({time.perf_counter() - last_submit:.1f} s after the last)")
        if part_b:
            sitting.append(graded_tasks(campus))
            sitting.append(check_tasks(campus, people))

        answers = part_a_answers(people, keys, random.Random(args.seed))
        bare, url = bare_server(root, keys)
        bare_latencies, bare_first = closing(moments, args.posters, lambda i: _bare_submit(
            url, people[i].attempt, answers[people[i].attempt]))
        bare_done = time.perf_counter() - bare_first
        print(report(args, latencies, done, bare_latencies, bare_done, decided, passed, issued,
                     sitting))
    finally:
        if bare is not None:
            bare.terminate()
        if campus is not None:
            campus.hub.stop()
            campus.remove_users()
        shutil.rmtree(root, ignore_errors=True)
    return 0


def keys_of(campus: Campus, people: list[Candidate]) -> dict[str, dict]:
    """Return each attempt's keys (Part A) and reference solutions (Part B), by attempt id."""
    seeds = campus.seeds([c.attempt for c in people])
    found = subprocess.run([sys.executable, "-c", KEYS, people[0].exam], check=True, text=True,
                           capture_output=True, env=campus.environ, input="".join(
                               f"{c.attempt} {seeds[c.attempt]}\n" for c in people))
    return json.loads(found.stdout)


def part_a_answers(people: list[Candidate], keys: dict, rng: random.Random) -> dict[int, dict]:
    """Return each attempt's Part A answers: right with probability RIGHT (seeded)."""
    return {c.attempt: {item: (right if rng.random() < RIGHT else wrong)
                        for item, right, wrong in keys[str(c.attempt)]["A"]} for c in people}


def sit_with_part_b(campus: Campus, people: list[Candidate], args,
                    rng: random.Random) -> tuple[dict, list[float], list[str]]:
    """Sit the exam wave by wave with real JupyterLab servers; return keys, save times, a summary.

    Each wave's servers start, its candidates start the exam (the service places
    the tasks), write their Part B answers into their notebooks, save Part A and
    have the page collect the notebooks; then the wave's servers stop, except
    for the last ``args.live`` candidates, whose servers run into the closing.
    """
    campus.create_tokens(people)
    keys: dict[str, dict] = {}
    saves: list[float] = []
    live_from = len(people) - args.live
    began = time.perf_counter()
    spawning = 0.0
    for start in range(0, len(people), args.wave):
        wave = people[start:start + args.wave]
        spawned = time.perf_counter()
        campus.start_servers([c.user.name for c in wave])
        spawning += time.perf_counter() - spawned
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(Candidate.start, wave))
        keys.update(keys_of(campus, wave))
        answers = part_a_answers(wave, keys, rng)
        solutions = {c.attempt: {item: (code if rng.random() < RIGHT else None)
                                 for item, code in keys[str(c.attempt)]["B"].items()} for c in wave}

        def sit(candidate: Candidate, answers=answers, solutions=solutions) -> list[float]:
            for item, code in solutions[candidate.attempt].items():
                candidate.write_task(item, code)
                candidate.written[item] = code is not None
            times = [candidate.save(item, value)
                     for item, value in answers[candidate.attempt].items()]
            candidate.collect()
            return times

        with ThreadPoolExecutor(8) as pool:
            saves.extend(t for batch in pool.map(sit, wave) for t in batch)
        stopping = [c.user.name for i, c in enumerate(wave, start) if i < live_from]
        if stopping:
            campus.stop_servers(stopping)
        progress(f"{start + len(wave)} of {len(people)} candidates sat Part A and B "
                 f"({time.perf_counter() - began:.0f} s)")
    tasks = sum(len(keys[str(c.attempt)]["B"]) for c in people)
    summary = [f"{len(people)} JupyterLab servers started through the hub's REST API, "
               f"{args.wave} at a time, {args.live} of them running at the closing; "
               f"{tasks} task notebooks placed, written and collected "
               f"(sitting: {time.perf_counter() - began:.0f} s, of which servers starting "
               f"{spawning:.0f} s)."]
    return keys, saves, summary


def check_tasks(campus: Campus, people: list[Candidate]) -> str:
    """Check every task's points against what its candidate wrote; return a line saying so.

    A task with the reference solution written must have full marks, a task left as
    the stub none: the notebooks graded are the ones the candidates wrote.

    Raises:
        RuntimeError: a task scored otherwise.
    """
    engine = create_engine(campus.settings.exams_database_url)
    try:
        with Session(engine) as session:
            results = dict(session.execute(select(Attempt.id, Attempt.result)).all())
            failed = session.scalar(select(func.count()).select_from(Event)
                                    .where(Event.action == "collect-failed"))
    finally:
        engine.dispose()
    wrong = []
    for candidate in people:
        for item, written in candidate.written.items():
            task = results[candidate.attempt]["tasks"][item]
            expected = task["maximum"] if written else 0.0
            if task["points"] != expected:
                wrong.append(f"{candidate.user.name} {item}: {task['points']} (wrote the "
                             f"{'solution' if written else 'stub'})")
    if wrong:
        raise RuntimeError("tasks scored otherwise than written:\n" + "\n".join(wrong))
    tasks = sum(len(c.written) for c in people)
    solved = sum(sum(c.written.values()) for c in people)
    return (f"Every task scored as written: {solved} of {tasks} with the solution full marks, "
            f"the others 0. Collections recorded as failed (the server was stopped): {failed}.")


def graded_tasks(campus: Campus) -> str:
    """Return a line on the grading service's jobs: how many, in which states, full marks."""
    jobs = e2e.grading_jobs(campus.dep)
    states: dict[str, int] = {}
    for job in jobs:
        states[job["state"]] = states.get(job["state"], 0) + 1
    return (f"Grading service ({campus.environ['QCAMPUS_GRADING__WORKERS']} workers): "
            f"{len(jobs)} task notebooks, " + ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
            + ".")


_BARE_SESSION = threading.local()


def _bare_submit(url: str, attempt: int, answers: dict) -> float:
    session = getattr(_BARE_SESSION, "session", None) or requests.Session()
    _BARE_SESSION.session = session
    began = time.perf_counter()
    answer = session.post(f"{url}/submit", json={"attempt": attempt, "answers": answers}, timeout=300)
    answer.raise_for_status()
    return time.perf_counter() - began


def report(args, latencies, done, bare_latencies, bare_done, decided, passed, issued,
           sitting: list[str] = ()) -> str:
    row = lambda name, values, total: (  # noqa: E731
        f"| {name} | {quantile(values, 50) * 1000:.0f} ms | {quantile(values, 90) * 1000:.0f} ms | "
        f"{max(values) * 1000:.0f} ms | {total:.1f} s |")
    lines = [f"{args.exam}: {args.candidates} candidates submit within {args.window:g} s "
             f"({args.posters} requests in flight at most); {decided} decided, {passed} passed, "
             f"{issued} certified.", *sitting, "",
             "| endpoint | submit p50 | p90 | max | first submit → every result (and certificate) |",
             "|---|---|---|---|---|",
             row("qcampus exam submit (score, audit, credential)", latencies, done),
             row("bare Flask endpoint (score, one row)", bare_latencies, bare_done),
             "", f"qcampus / bare, submit p50: "
                 f"{quantile(latencies, 50) / quantile(bare_latencies, 50):.1f}x; "
                 f"until every result: {done / bare_done:.2f}x.",
             f"Load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
