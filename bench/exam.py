"""Time an exam closing in the qcampus service: candidates submit within a minute, results and certificates.

Run as root from the repository root::

    /opt/qcampus/venv/bin/python bench/exam.py [--candidates 500] [--window 60] [--posters 32]
        [--seed 0] [--quick]

It creates a throw-away deployment under /var/tmp (``qcampus init``, a roster of
candidates) and starts it with ``qcampus up`` on free ports, as the end-to-end
tests do. Every candidate signs in at the hub (the login form, without starting
a server) and at the qcampus service (hub OAuth), starts the Quantum Literacy
exam and saves an answer to each of its 40 items (right with probability 0.7,
seeded), as the page's autosave does. Then the exam closes: every candidate
submits at a seeded random moment within ``--window`` seconds (``--posters``
requests in flight at most). Measured:

- each submit's latency (p50, p90, max), and the time from the first submit
  until every attempt is scored and every pass has its certificate (signed Open
  Badges 3.0 credential, recorded as issued);
- side by side, the same submits to a bare Flask endpoint under the same
  gunicorn (two sync workers, as the service runs): it reads the 40 answers,
  scores them against keys held in memory and inserts one SQLite row, nothing
  else (no sign-in, form redrawn from a seed, audit log or credential). The
  ratio is the price of what the service does on top.

Part B is not part of this run: 500 JupyterLab servers do not fit this machine
(2 cores, 24 GiB). A closing's Part B is grading work for the grading service,
timed by ``bench/grading_service.py`` (its exam closing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
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

from exams.models import SCORED, Attempt, Event  # noqa: E402
from qcampus import deployment, roster, settings  # noqa: E402
from tests.e2e import conftest as e2e  # noqa: E402

EXAM = "quantum-literacy"
#: Seconds the benchmark waits for every result and certificate before it fails.
PATIENCE = 1800.0
#: Share of items a candidate answers right.
RIGHT = 0.7

#: Prints, for each attempt (id, seed), its Part A items with a right and a wrong answer (a child
#: interpreter: a generated key may simulate, and this process is only a client).
KEYS = """
import json, sys
from exams import bank, catalog, forms
items = bank.require()
exam = catalog.load()[0][sys.argv[1]]
found = {}
for line in sys.stdin:
    attempt, seed = map(int, line.split())
    rows = []
    for slot in forms.draw(exam, items, seed):
        item = items[slot.item]
        key = bank.key_for(item, slot.seed)
        right = key["value"] if item.type == "numeric" else key
        wrong = {"numeric": -12345.0, "single": "none", "multiple": ["none"],
                 "ordering": ["none"], "matching": {"none": "none"}}[item.type]
        rows.append([slot.item, right, wrong])
    found[attempt] = rows
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
    score = sum(1 for item, right, _ in keys if body["answers"].get(item) == right)
    with sqlite3.connect(DB, timeout=30) as db:
        db.execute("INSERT INTO results (attempt, score) VALUES (?, ?)", (body["attempt"], score))
    return jsonify(score=score)
'''


def quantile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def progress(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


class Candidate:
    """One candidate's browser-like sessions with the hub and the qcampus service."""

    def __init__(self, hub: str, service: str, name: str):
        self.user = e2e.HubUser(hub, name)
        self.service = service
        self.attempt = 0
        self.csrf = ""

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
        answer = self.user.session.post(f"{self.service}/exams/{EXAM}/start", timeout=60,
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

    def submit(self) -> float:
        began = time.perf_counter()
        answer = self.user.session.post(f"{self.service}/exams/attempts/{self.attempt}/submit",
                                        data={"csrf_token": self.csrf}, timeout=300,
                                        allow_redirects=False)
        if answer.status_code != 302:
            raise RuntimeError(f"submit of {self.user.name}: {answer.status_code} {answer.text[:200]}")
        return time.perf_counter() - began


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
    """A throw-away deployment with *count* candidates, started by ``qcampus up``."""

    def __init__(self, root: Path, count: int):
        self.tag = uuid.uuid4().hex[:5]
        self.names = [f"qce{self.tag}{i:03d}" for i in range(count)]
        port = e2e.free_port_block(4)
        self.environ = {**os.environ, "QCAMPUS_HUB__PORT": str(port),
                        "QCAMPUS_HUB__CERTIFICATES_PORT": str(port + 3),
                        "QCAMPUS_COURSES__SOURCE": str(e2e.courses_source(root)),
                        # Every candidate signs in from 127.0.0.1, as an exam room behind one
                        # address does: the service's 20 sign-ins a minute per address would
                        # refuse most of them (docs/exams.md says how a centre raises it).
                        "QCAMPUS_SERVICE_RATELIMIT_LOGIN": f"{4 * count} per minute"}
        home = root / "home"
        deployment.init(home, self.environ)
        self.settings = settings.load(home, self.environ)
        roster.enrol(home, [roster.Member(name, "learner", ()) for name in self.names])
        deployment.run_hooks(self.settings)
        self.dep = e2e.Deployment(self.settings, self.environ, e2e.People(self.tag))
        self.hub = e2e.HubProcess(self.dep)
        e2e.wait_for_service(f"{self.dep.service_url}/")

    def counts(self) -> tuple[int, int, int]:
        """Return how many attempts are scored, passed, and have their certificate issued."""
        engine = create_engine(self.settings.exams_database_url)
        try:
            with Session(engine) as session:
                scored = session.scalar(select(func.count()).select_from(Attempt)
                                        .where(Attempt.state == SCORED))
                passed = session.scalar(select(func.count()).select_from(Attempt)
                                        .where(Attempt.state == SCORED, Attempt.passed.is_(True)))
                issued = session.scalar(select(func.count(func.distinct(Event.attempt_id)))
                                        .where(Event.action == "issue"))
        finally:
            engine.dispose()
        return scored, passed, issued


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
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--posters", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="5 candidates within 5 s.")
    args = parser.parse_args(argv)
    if args.quick:
        args.candidates, args.window = 5, 5.0
    e2e.behave_like_a_browser_on_localhost()
    root = Path(tempfile.mkdtemp(prefix="qcampus-exam-bench-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    campus = bare = None
    try:
        campus = Campus(root, args.candidates)
        service = campus.dep.service_url
        people = [Candidate(campus.dep.url, service, name) for name in campus.names]
        began = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda c: (c.sign_in(), c.start()), people))
        progress(f"{len(people)} candidates signed in and started in "
                 f"{time.perf_counter() - began:.0f} s")
        keys_text = subprocess.run([sys.executable, "-c", KEYS, EXAM], check=True, text=True,
                                   capture_output=True, env=campus.environ, input="".join(
                                       f"{c.attempt} {_seed(campus, c.attempt)}\n" for c in people))
        keys = json.loads(keys_text.stdout)
        rng = random.Random(args.seed)
        answers = {c.attempt: {item: (right if rng.random() < RIGHT else wrong)
                               for item, right, wrong in keys[str(c.attempt)]} for c in people}
        began = time.perf_counter()
        with ThreadPoolExecutor(args.posters) as pool:
            saves = [t for batch in pool.map(
                lambda c: [c.save(item, value) for item, value in answers[c.attempt].items()], people)
                for t in batch]
        progress(f"{len(saves)} answers saved in {time.perf_counter() - began:.0f} s: p50 "
                 f"{quantile(saves, 50) * 1000:.0f} ms, p90 {quantile(saves, 90) * 1000:.0f} ms")

        moments = spread(len(people), args.window, args.seed)
        latencies, first = closing(moments, args.posters, lambda i: people[i].submit())
        last_submit = time.perf_counter()
        while True:
            scored, passed, issued = campus.counts()
            if scored == len(people) and issued == passed:
                break
            if time.perf_counter() - first > PATIENCE:
                raise RuntimeError(f"after {PATIENCE:.0f} s: {scored} scored, {passed} passed, "
                                   f"{issued} certified")
            time.sleep(0.5)
        done = time.perf_counter() - first
        progress(f"qcampus: all {scored} results and {issued} certificates {done:.1f} s after the "
                 f"first submit ({time.perf_counter() - last_submit:.1f} s after the last)")

        bare, url = bare_server(root, keys)
        bare_latencies, bare_first = closing(moments, args.posters, lambda i: _bare_submit(
            url, people[i].attempt, answers[people[i].attempt]))
        bare_done = time.perf_counter() - bare_first
        print(report(args, latencies, done, bare_latencies, bare_done, scored, passed, issued))
    finally:
        if bare is not None:
            bare.terminate()
        if campus is not None:
            campus.hub.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


def _seed(campus: Campus, attempt_id: int) -> int:
    engine = create_engine(campus.settings.exams_database_url)
    try:
        with Session(engine) as session:
            return session.get(Attempt, attempt_id).seed
    finally:
        engine.dispose()


_BARE_SESSION = threading.local()


def _bare_submit(url: str, attempt: int, answers: dict) -> float:
    session = getattr(_BARE_SESSION, "session", None) or requests.Session()
    _BARE_SESSION.session = session
    began = time.perf_counter()
    answer = session.post(f"{url}/submit", json={"attempt": attempt, "answers": answers}, timeout=300)
    answer.raise_for_status()
    return time.perf_counter() - began


def report(args, latencies, done, bare_latencies, bare_done, scored, passed, issued) -> str:
    row = lambda name, values, total: (  # noqa: E731
        f"| {name} | {quantile(values, 50) * 1000:.0f} ms | {quantile(values, 90) * 1000:.0f} ms | "
        f"{max(values) * 1000:.0f} ms | {total:.1f} s |")
    lines = [f"{args.candidates} candidates submit within {args.window:g} s "
             f"({args.posters} requests in flight at most); {scored} scored, {passed} passed, "
             f"{issued} certified.", "",
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
