"""Soak the qcampus service on a real deployment: verify, submit and issue mixed, for minutes.

Run as root from the repository root::

    /opt/qcampus/venv/bin/python bench/soak.py [--minutes 10] [--clients 50] [--ramp 5]
        [--learners 20] [--warm 60] [--seed 0] [--database sqlite|postgresql]
        [--p95-budget MS] [--max-drift PERCENT] [--quick]

The deployment is the grading benchmark's (:class:`bench.grading_service.Campus`):
``qcampus init``, a roster, the foundations ``first-circuits`` release, ``qcampus
up`` on free ports with one embedded grading worker, every learner's API token made
by an admin over the hub's REST API. Every component keeps its records in SQLite
files, or with ``--database postgresql`` in a new database on the PostgreSQL server
here (``database.url``, dropped afterwards). The service's rate limits on verification and
issuing are raised for the run (every client sends from 127.0.0.1, where a centre's
employers each have their own address).

``--clients`` clients start, ``--ramp`` a second, each a thread with its own HTTP
connection to the service's loopback port (where the hub's proxy sends it), and
each sends one request after another for ``--minutes``, choosing by a seeded draw:

- 80% ``POST /api/v1/verify``: a credential issued before or during the run, as an
  employer's verifier sends it;
- 15% ``POST .../exchange/api/.../submissions``: a learner's answered notebook, as
  the Assignments tab sends it (each is queued for grading, as in production);
- 5% ``POST /api/v1/credentials``: an issue with the deployment's issuer token and a
  fresh ``Idempotency-Key``, as the exam service asks for one.

Then it checks what a deployment must survive (docs/security.md):

- no answer is a 5xx, and every request gets an answer;
- the hub log (where the service logs) has no ``database is locked``;
- every credential issued during the run verifies as ``valid`` afterwards;
- every submission the exchange accepted is in its learner's list, none lost;
- the service's resident memory (gunicorn master and workers) at the end against
  after ``--warm`` seconds: the drift is printed, and judged with ``--max-drift``;
- the p95 latency of each kind is printed, and judged with ``--p95-budget``.

Exit status 1 when a check fails. Budgets are for a machine that is not shared:
without ``--p95-budget`` and ``--max-drift`` only correctness decides.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from bench.grading_service import ASSIGNMENT, NOTEBOOK, Campus, campus_on_disk  # noqa: E402
from bench.harness import progress, quantile  # noqa: E402
from certificates import ISSUER_TOKEN_FILE  # noqa: E402
from tests.databases import postgres_database  # noqa: E402

#: The mix of requests (THREATS scenario 21): verify, submit, issue.
MIX = {"verify": 80, "submit": 15, "issue": 5}
#: The achievement every issue of the run asks for.
ACHIEVEMENT = "gate-engineer-b1"
#: Credentials issued before the run starts, so the first verifications have some.
SEED_CREDENTIALS = 20
#: Seconds one request may take before it counts as unanswered.
REQUEST_TIMEOUT = 60.0
#: The service's settings for the run: every client sends from 127.0.0.1, so the limits
#: per address would measure themselves (the deployment's own variables, not this process's).
UNLIMITED = {"QCAMPUS_SERVICE_RATELIMIT_VERIFY": "1000000 per minute",
             "QCAMPUS_SERVICE_RATELIMIT_ISSUE": "1000000 per minute"}
#: What the service's log must never say.
LOCKED = "database is locked"


@dataclass
class Record:
    """Everything the clients saw, shared between their threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in MIX})
    statuses: dict[str, Counter] = field(default_factory=lambda: {k: Counter() for k in MIX})
    #: Requests that got no answer (connection refused or reset, timeout): kind and error.
    unanswered: list[tuple[str, str]] = field(default_factory=list)
    #: Credentials (VC-JWT) issued, the seed ones first.
    credentials: list[str] = field(default_factory=list)
    #: Submission ids the exchange accepted, per learner.
    accepted: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1


class Soak:
    """The clients' view of one deployment: where to send each kind of request, and as whom."""

    def __init__(self, campus: Campus):
        self.campus = campus
        self.port = campus.dep.settings["hub"]["certificates_port"]
        self.service = f"http://127.0.0.1:{self.port}/services/qcampus"
        self.issuer = (campus.dep.settings.secrets / ISSUER_TOKEN_FILE).read_text().strip()
        self.notebook = base64.b64encode(campus.notebooks(1)[0]).decode()
        self.record = Record()

    def issue(self, session: requests.Session, learner: str) -> requests.Response:
        """Ask for *learner*'s credential as the exam service does; keep it when issued."""
        key = uuid.uuid4().hex
        answer = session.post(f"{self.service}/api/v1/credentials", timeout=REQUEST_TIMEOUT,
                              headers={"Authorization": f"Bearer {self.issuer}",
                                       "Idempotency-Key": key},
                              json={"learner": learner,
                                    "achievement": ACHIEVEMENT, "source": f"soak-{key}",
                                    "reason": "soak test"})
        if answer.status_code == 201:
            with self.record.lock:
                self.record.credentials.append(answer.json()["credential"])
        return answer

    def verify(self, session: requests.Session, credential: str) -> requests.Response:
        return session.post(f"{self.service}/api/v1/verify", data=credential.encode(),
                            headers={"Content-Type": "application/jwt"}, timeout=REQUEST_TIMEOUT)

    def submit(self, session: requests.Session, learner: str) -> requests.Response:
        """Submit the notebook as *learner*, as the Assignments tab does; keep the id accepted."""
        answer = session.post(
            f"{self.campus.api}/courses/{self.campus.course}/assignments/{ASSIGNMENT}/submissions",
            headers={"Authorization": f"token {self.campus.tokens[learner]}"},
            json={"files": [{"name": NOTEBOOK, "content": self.notebook}]}, timeout=REQUEST_TIMEOUT)
        if answer.status_code in (200, 201):
            with self.record.lock:
                self.record.accepted.setdefault(learner, []).append(
                    answer.json()["submission"]["id"])
        return answer

    def client(self, number: int, seed: int, until: float) -> None:
        """Send requests one after another until *until* (a ``time.monotonic`` moment)."""
        rng = random.Random(seed * 1000 + number)
        kinds, weights = list(MIX), list(MIX.values())
        session = requests.Session()
        while time.monotonic() < until:
            kind = rng.choices(kinds, weights)[0]
            began = time.perf_counter()
            try:
                if kind == "verify":
                    with self.record.lock:
                        credential = rng.choice(self.record.credentials)
                    answer = self.verify(session, credential)
                elif kind == "submit":
                    answer = self.submit(session, rng.choice(self.campus.names))
                else:
                    answer = self.issue(session, rng.choice(self.campus.names))
            except requests.RequestException as exc:
                with self.record.lock:
                    self.record.unanswered.append((kind, f"{type(exc).__name__}: {exc}"[:200]))
                continue
            self.record.note(kind, time.perf_counter() - began, answer.status_code)


def service_rss_kib(port: int) -> int:
    """Return the resident memory of the service's gunicorn master and workers (KiB).

    The masters are the gunicorn processes bound to *port*; their workers are their
    children (found by parent, as a worker renamed by ``setproctitle`` would be).
    """
    needle = f"127.0.0.1:{port}".encode()
    processes: dict[int, tuple[int, int, list[bytes]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
            status = dict(line.split(":", 1) for line in
                          (entry / "status").read_text().splitlines() if ":" in line)
        except OSError:
            continue  # the process ended while we looked
        rss = int(status.get("VmRSS", "0 kB").split()[0])
        processes[int(entry.name)] = (int(status["PPid"]), rss, arguments)
    masters = {pid for pid, (_, _, arguments) in processes.items()
               if b"gunicorn" in arguments and needle in arguments}
    return sum(rss for pid, (parent, rss, _) in processes.items()
               if pid in masters or parent in masters)


def check_afterwards(soak: Soak, log: Path, log_offset: int) -> dict:
    """Verify every credential issued, find every accepted submission, read the log."""
    session = requests.Session()
    issued = soak.record.credentials[SEED_CREDENTIALS:]
    outcomes = Counter(soak.verify(session, c).json()["outcome"] for c in issued)
    missing = 0
    for learner, ids in soak.record.accepted.items():
        listed = {s["id"] for s in soak.campus.call(
            learner, "GET", f"/courses/{soak.campus.course}/submissions",
            params={"assignment": ASSIGNMENT})["submissions"]}
        missing += len(set(ids) - listed)
    with log.open("rb") as text:
        text.seek(log_offset)
        locked = text.read().decode(errors="replace").count(LOCKED)
    return {"issued": len(issued), "outcomes": outcomes, "missing": missing,
            "accepted": sum(map(len, soak.record.accepted.values())), "locked": locked}


def run(soak: Soak, args: argparse.Namespace) -> dict:
    """Ramp the clients up, run them for the soak's length, and sample the service's memory."""
    start = time.monotonic()
    until = start + args.minutes * 60
    threads = []
    for number in range(args.clients):
        thread = threading.Thread(target=soak.client, args=(number, args.seed, until), daemon=True)
        thread.start()
        threads.append(thread)
        time.sleep(1 / args.ramp)
    ramped = time.monotonic()
    time.sleep(max(0.0, min(ramped + args.warm, until) - time.monotonic()))
    warm = service_rss_kib(soak.port)
    progress(f"{args.clients} clients running; service memory after warm-up {warm / 1024:.0f} MiB")
    while time.monotonic() < until:
        time.sleep(min(30.0, max(0.0, until - time.monotonic())))
        counts = {k: len(v) for k, v in soak.record.latencies.items()}
        progress(f"{max(0.0, until - time.monotonic()):.0f} s left; requests so far {counts}")
    end = service_rss_kib(soak.port)
    for thread in threads:
        thread.join(REQUEST_TIMEOUT + 5)
    return {"seconds": time.monotonic() - start, "warm": warm, "end": end}


def report(args: argparse.Namespace, soak: Soak, timing: dict, after: dict) -> tuple[str, list[str]]:
    """Return the Markdown report and the list of failed checks."""
    record = soak.record
    failures = []
    total = sum(len(v) for v in record.latencies.values())
    lines = [f"Soak: {args.clients} clients (ramp {args.ramp:g}/s) for {args.minutes * 60:.0f} s "
             f"against the qcampus service on loopback, mix "
             + ", ".join(f"{v}% {k}" for k, v in MIX.items())
             + f" (seed {args.seed}), records in {args.database}; {total} answers in "
             f"{timing['seconds']:.0f} s, "
             f"{total / timing['seconds']:.0f}/s.", "",
             "| request | answers | 2xx | 4xx | 5xx | p50 ms | p95 ms | max ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in MIX:
        times, statuses = record.latencies[kind], record.statuses[kind]
        fives = sum(n for s, n in statuses.items() if s >= 500)
        fours = sum(n for s, n in statuses.items() if 400 <= s < 500)
        twos = sum(n for s, n in statuses.items() if s < 300)
        p95 = quantile(times, 95) * 1000 if times else float("nan")
        lines.append(f"| {kind} | {len(times)} | {twos} | {fours} | {fives} | "
                     + (f"{quantile(times, 50) * 1000:.0f} | {p95:.0f} | {max(times) * 1000:.0f} |"
                        if times else "– | – | – |"))
        if fives:
            failures.append(f"{fives} {kind} answers were 5xx: {dict(statuses)}")
        if fours:
            failures.append(f"{fours} {kind} answers were 4xx: {dict(statuses)}")
        if not times:
            failures.append(f"no {kind} request was answered")
        elif args.p95_budget is not None and p95 > args.p95_budget:
            failures.append(f"{kind} p95 {p95:.0f} ms is over the budget of {args.p95_budget:g} ms")
    if record.unanswered:
        kinds = Counter(kind for kind, _ in record.unanswered)
        failures.append(f"{len(record.unanswered)} requests got no answer {dict(kinds)}; the first: "
                        f"{record.unanswered[0][1]}")
    drift = (timing["end"] - timing["warm"]) / timing["warm"] * 100 if timing["warm"] else 0.0
    lines += ["", f"Service memory (gunicorn master and workers): {timing['warm'] / 1024:.0f} MiB "
              f"after {args.warm:g} s of load, {timing['end'] / 1024:.0f} MiB at the end "
              f"({drift:+.1f}%)."]
    if not timing["warm"]:
        failures.append("the service's gunicorn processes were not found")
    elif args.max_drift is not None and drift > args.max_drift:
        failures.append(f"memory drift {drift:+.1f}% is over {args.max_drift:g}%")
    outcomes = after["outcomes"]
    lines.append(f"Afterwards: {outcomes['valid']} of the {after['issued']} credentials issued "
                 f"during the run verify as valid; {after['accepted'] - after['missing']} of "
                 f"{after['accepted']} accepted submissions listed; '{LOCKED}' in the log "
                 f"{after['locked']} times.")
    if outcomes["valid"] != after["issued"]:
        failures.append(f"issued credentials that do not verify as valid: {dict(outcomes)}")
    if after["missing"]:
        failures.append(f"{after['missing']} accepted submissions are missing from the lists")
    if after["locked"]:
        failures.append(f"the log says '{LOCKED}' {after['locked']} times")
    lines.append(f"Load average (1 min) at the end: {os.getloadavg()[0]:.1f} on "
                 f"{os.cpu_count()} cores.")
    lines += ["", "Checks: " + ("all passed." if not failures else "FAILED")]
    lines += [f"- {failure}" for failure in failures]
    return "\n".join(lines), failures


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="How long the load runs.")
    parser.add_argument("--clients", type=int, default=50, help="Clients sending at once.")
    parser.add_argument("--ramp", type=float, default=5.0, help="Clients started a second.")
    parser.add_argument("--learners", type=int, default=20, help="Learners who submit.")
    parser.add_argument("--warm", type=float, default=60.0,
                        help="Seconds of full load before the memory baseline is taken.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite",
                        help="Where every component keeps its records.")
    parser.add_argument("--p95-budget", type=float, default=None, metavar="MS",
                        help="Fail when a kind's p95 latency is over MS milliseconds.")
    parser.add_argument("--max-drift", type=float, default=None, metavar="PERCENT",
                        help="Fail when the service's memory grows more than PERCENT after warm-up.")
    parser.add_argument("--quick", action="store_true",
                        help="Small numbers: 8 clients for 20 s, 3 learners, 5 s warm-up.")
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes, args.clients, args.ramp, args.learners, args.warm = 1 / 3, 8, 8.0, 3, 5.0
    if args.clients < 1 or args.learners < 1 or args.minutes <= 0 or args.ramp <= 0:
        parser.error("--clients, --learners, --minutes and --ramp must be positive.")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    with ExitStack() as stack:
        environ = dict(UNLIMITED)
        if args.database == "postgresql":
            environ["QCAMPUS_DATABASE__URL"] = stack.enter_context(postgres_database("qcs"))
        campus, root = stack.enter_context(campus_on_disk(args.learners, environ))
        campus.prepare_notebooks(root / "stock", 1)
        campus.up(1)
        soak = Soak(campus)
        session = requests.Session()
        for _ in range(SEED_CREDENTIALS):
            soak.issue(session, campus.names[0]).raise_for_status()
        log = campus.dep.settings.logs / "jupyterhub.log"
        offset = log.stat().st_size
        progress(f"deployment up; {args.clients} clients for {args.minutes * 60:.0f} s")
        timing = run(soak, args)
        after = check_afterwards(soak, log, offset)
        text, failures = report(args, soak, timing, after)
        print(text)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
