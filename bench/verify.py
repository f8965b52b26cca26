"""Certificate verification against a bare Flask endpoint on the same server.

Builds a throw-away deployment (issuer keys, a database, N issued
credentials), starts the certificates service under gunicorn on a free
loopback port, and drives ``POST /api/v1/verify`` and a bare Flask endpoint
(``POST /bench/bare``: parses the same JSON body, returns a small JSON answer)
in one run, round by round, at the same concurrency. The bare endpoint exists
only in :func:`bench_app`, this benchmark's wrapper of the app factory; the
production factory never has it. Rate limiting is switched off for this server
(``RATELIMIT_ENABLED = False``), as the limits would otherwise measure
themselves.

Verification is measured twice per round, because the service remembers what
it found per process (:mod:`certificates.verdict_cache`):

- *repeating*: ``--credentials`` (200) credentials, every client cycling
  through all of them, so nearly every verification is a cache hit;
- *distinct*: ``--distinct`` (10,000) credentials, each client thread on its
  own share and each round continuing where the last one stopped, so a
  credential comes back only after all the others: far more than a worker's
  verdict cache (and signature memo) holds, so every verification does the
  full work. The cache hits each phase had are read from every worker
  (``GET /bench/cache``) and reported.

The load comes from ``wrk`` (Debian package ``wrk``) when it is on PATH, else
from Python threads with one ``requests.Session`` each (slower: on a small
machine the client then competes with the server for the CPU).

The server runs as ``python -m web`` runs the service: one gunicorn
``sync`` worker per core, one request at a time each (``--workers``,
``--threads``, ``--worker-class`` and ``--keep-alive`` change that, for both
endpoints alike). Besides throughput and latency the table gives the server's
CPU time per request, which other load on the machine disturbs far less.

Also times issuing credentials through :func:`certificates.issuance.issue`.

Run from the repository root::

    /opt/qcampus/venv/bin/python bench/verify.py
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOME_ENV = "QCAMPUS_BENCH_HOME"


# --- the app under test ----------------------------------------------------------------


def bench_config(home: Path) -> dict:
    """Return the service settings of the benchmark server for deployment *home*."""
    return {
        "QCAMPUS_HOME": home,
        # The limits (120 verifications a minute per address) would measure themselves.
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Clients connect directly, there is no proxy in front.
        "TRUSTED_PROXIES": 0,
        "SERVICE_PREFIX": "/",
    }


def bench_app():
    """Return the certificates service plus ``POST /bench/bare``, for gunicorn."""
    from flask import jsonify, request

    from web import create_app
    from web.security import csrf_exempt

    app = create_app(bench_config(Path(os.environ[HOME_ENV])))

    # Same app, same hooks (headers, CSRF check) and body parsing as the API; no verification.
    @csrf_exempt
    def bare():
        body = request.get_json(silent=True) or {}
        return jsonify(outcome="bare", received=len(body.get("credential", "")))

    def cache_counts():
        cache = app.extensions["qcampus_verdicts"]
        return jsonify(pid=os.getpid(), hits=cache.hits, misses=cache.misses)

    app.add_url_rule("/bench/bare", "bench_bare", bare, methods=["POST"])
    app.add_url_rule("/bench/cache", "bench_cache", cache_counts, methods=["GET"])
    return app


def served_app():
    """Return :func:`bench_app` as gunicorn serves it: set up like :mod:`web.wsgi`."""
    app = bench_app()
    gc.freeze()  # as web.wsgi does: the app's own objects stay out of full collections
    return app


# --- the deployment --------------------------------------------------------------------


def prepare(home: Path, credentials: int, issue_count: int) -> tuple[list[str], dict]:
    """Create the deployment at *home*; return *credentials* tokens and issuance timings.

    ``max(credentials, issue_count)`` credentials are issued; the first
    *issue_count* are timed.
    """
    from certificates import deployment as cert_deployment
    from certificates import issuance
    from qcampus import settings as settings_module
    from web import create_app

    home.mkdir(parents=True)
    values = settings_module.merge({"certificates": {"public_url": "http://127.0.0.1"}})
    (home / settings_module.SETTINGS_FILE).write_text(settings_module.dump(values))
    cert_deployment.init(settings_module.load(home, {}))

    app = create_app(bench_config(home))
    tokens: list[str] = []
    timings: dict = {}
    with app.app_context():
        issuer = issuance.current_issuer()
        total = max(credentials, issue_count)
        started = time.perf_counter()
        for number in range(total):
            issued = issuance.issue(issuer, issuance.IssueRequest(
                learner=f"learner{number:06d}", achievement_id="foundations-a2",
                source=f"bench:{number}", actor="bench", reason="benchmark"))
            if len(tokens) < credentials:
                tokens.append(issued.token)
            if number + 1 == issue_count:
                timings = {"count": issue_count, "seconds": time.perf_counter() - started}
    return tokens, timings


# --- the server ------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port that is free on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A gunicorn process serving :func:`bench_app`."""

    process: subprocess.Popen
    url: str

    def cpu_seconds(self) -> float | None:
        """Return the CPU time gunicorn and its workers have used, or None where /proc is missing."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids = [self.process.pid, *map(int, children.read_text().split())]
            ticks = 0
            for pid in pids:
                # Fields after the command name: state is field 3, utime 14 and stime 15.
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            return None  # not Linux, or a worker restarted between the reads
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop gunicorn and its workers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(home: Path, workers: int, threads: int, worker_class: str | None = None,
                 keep_alive: float | None = None) -> Server:
    """Start gunicorn on a free loopback port and wait until it answers.

    *worker_class* defaults to ``gthread`` with more than one thread, else
    ``sync``; *keep_alive* (seconds) to gunicorn's own default.
    """
    import requests

    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads),
        "--worker-class", worker_class or ("gthread" if threads > 1 else "sync"),
        *(["--keep-alive", f"{keep_alive:g}"] if keep_alive is not None else []),
        "--log-level", "warning", "--chdir", str(REPO), "bench.verify:served_app()",
    ]
    env = dict(os.environ, **{HOME_ENV: str(home)})
    process = subprocess.Popen(command, env=env, cwd=REPO)
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}; see its output")
            try:
                if requests.post(server.url + "/bench/bare", json={}, timeout=10).ok:
                    return server
            except requests.RequestException:
                # Not listening yet, or the workers are still importing the app.
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 60 s")
    except BaseException:
        server.stop()
        raise


# --- load ------------------------------------------------------------------------------


@dataclass
class Result:
    """Throughput and latency of one load phase.

    Attributes:
        cache: Verdict cache (hits, misses) of all workers during the phase,
            when every worker could be asked.
        cpu_ms: CPU time the server used per request (all processes), which
            other load on the machine disturbs far less than throughput.
    """

    endpoint: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    cache: tuple[int, int] | None = None
    cpu_ms: float | None = None

    @property
    def rps(self) -> float:
        """Return requests per second."""
        return self.requests / self.seconds


@dataclass(frozen=True)
class Load:
    """What one phase sends: request bodies, one JSON document a line, and how clients share them.

    Attributes:
        bodies: The file of bodies.
        count: How many bodies it holds.
        shared: True: every client cycles through all bodies from the start
            (*repeating*); False: each client thread takes its own share, from
            *offset* on (*distinct*).
        offset: Where each client thread starts in its share.
    """

    bodies: Path
    count: int
    shared: bool
    offset: int = 0


# Each wrk thread loads the bodies in init(), from the file, before the clock starts.
WRK_SCRIPT = """
local bodies = {}
local counter = 0
local threads = %(threads)d
local shared = %(shared)s
next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
function init(args)
  local n = 0
  for line in io.lines(%(path)s) do
    if shared or n %% threads == id then bodies[#bodies + 1] = line end
    n = n + 1
  end
  counter = %(offset)d
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = bodies[(counter %% #bodies) + 1]
  counter = counter + 1
  return wrk.format(nil, nil, nil, body)
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format('WRK_RESULT {"requests": %%d, "micros": %%d, '
    .. '"p50": %%d, "p99": %%d, "errors": %%d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), errors))
end
"""


def wrk_threads(clients: int) -> int:
    """Return how many wrk threads drive *clients* connections."""
    return min(clients, max(1, os.cpu_count() or 1))


def run_wrk(url: str, load: Load, clients: int, seconds: float, endpoint: str,
            workdir: Path) -> Result:
    """Drive *url* with wrk at *clients* connections for *seconds*."""
    threads = wrk_threads(clients)
    script = workdir / "load.lua"
    script.write_text(WRK_SCRIPT % {
        "threads": threads, "shared": "true" if load.shared else "false",
        "path": json.dumps(str(load.bodies)), "offset": load.offset}, encoding="utf-8")
    completed = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds:g}s",
         "--timeout", "10s", "-s", str(script), url],
        capture_output=True, text=True, check=True)
    line = next(line for line in completed.stdout.splitlines() if line.startswith("WRK_RESULT"))
    data = json.loads(line.removeprefix("WRK_RESULT "))
    return Result(endpoint, data["requests"], data["micros"] / 1e6, data["p50"] / 1000,
                  data["p99"] / 1000, data["errors"])


def run_threads(url: str, load: Load, clients: int, seconds: float, endpoint: str) -> Result:
    """Drive *url* from *clients* threads, each with its own ``requests.Session``."""
    import requests

    bodies = load.bodies.read_text(encoding="utf-8").splitlines()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = time.perf_counter() + seconds

    def client(number: int) -> None:
        # Repeating: each client from its own place through all bodies. Distinct: client
        # n takes bodies n, n + clients, n + 2 * clients ... from the round's offset on.
        sent, step = (number, 1) if load.shared else (load.offset * clients + number, clients)
        with requests.Session() as session:
            while time.perf_counter() < stop:
                body = bodies[sent % len(bodies)]
                sent += step
                began = time.perf_counter()
                response = session.post(url, data=body, timeout=10,
                                        headers={"Content-Type": "application/json"})
                latencies[number].append(time.perf_counter() - began)
                if response.status_code != 200:
                    errors[number] += 1

    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    merged = sorted(t for per_client in latencies for t in per_client)
    quantiles = statistics.quantiles(merged, n=100, method="inclusive")
    return Result(endpoint, len(merged), elapsed, quantiles[49] * 1000, quantiles[98] * 1000,
                  sum(errors))


def cache_counts(server: Server, workers: int) -> dict[int, tuple[int, int]] | None:
    """Return each worker's verdict cache (hits, misses) by pid, or None if one never answered.

    Every request opens a new connection, so the workers take turns at random.
    """
    import requests

    seen: dict[int, tuple[int, int]] = {}
    for _ in range(workers * 100):
        answer = requests.get(server.url + "/bench/cache", timeout=10,
                              headers={"Connection": "close"}).json()
        seen[answer["pid"]] = (answer["hits"], answer["misses"])
        if len(seen) == workers:
            return seen
    return None


def cache_delta(before: dict[int, tuple[int, int]] | None,
                after: dict[int, tuple[int, int]] | None) -> tuple[int, int] | None:
    """Return the (hits, misses) all workers had between two :func:`cache_counts`."""
    if before is None or after is None or set(before) != set(after):
        return None
    return (sum(after[pid][0] - before[pid][0] for pid in after),
            sum(after[pid][1] - before[pid][1] for pid in after))


def write_bodies(path: Path, tokens: list[str]) -> Path:
    """Write one ``{"credential": …}`` body a line to *path*."""
    path.write_text("".join(json.dumps({"credential": token}) + "\n" for token in tokens),
                    encoding="utf-8")
    return path


def check_answers(server: Server, token: str) -> None:
    """Make sure the API verifies the token as valid before measuring anything."""
    import requests

    answer = requests.post(server.url + "/api/v1/verify", json={"credential": token}, timeout=10)
    verdict = answer.json()
    if answer.status_code != 200 or verdict.get("outcome") != "valid":
        raise RuntimeError(f"the API did not verify an issued credential: {answer.status_code} "
                           f"{verdict}")


# --- report ----------------------------------------------------------------------------

#: The phases of a round: name → (endpoint, how the credentials are described).
PHASES = {
    "bare": ("/bench/bare", "{credentials:,}, repeating"),
    "repeat": ("/api/v1/verify", "{credentials:,}, repeating"),
    "distinct": ("/api/v1/verify", "{distinct:,}, none repeating"),
}


def median_result(results: list[Result]) -> Result:
    """Return the round with the median throughput."""
    return sorted(results, key=lambda result: result.rps)[len(results) // 2]


def _hit_rate(results: list[Result]) -> str:
    counted = [result.cache for result in results if result.cache is not None]
    if len(counted) != len(results) or not counted:
        return "n/a"
    hits, misses = sum(c[0] for c in counted), sum(c[1] for c in counted)
    return f"{hits / (hits + misses):.1%}" if hits + misses else "n/a"


def report(rounds: dict[str, list[Result]], issued: dict, args: argparse.Namespace,
           driver: str) -> str:
    """Return the Markdown table of the measurements."""
    worker_class = args.worker_class or ("gthread" if args.threads > 1 else "sync")
    lines = [
        f"{args.clients} concurrent clients ({driver}), gunicorn {args.workers} worker(s) × "
        f"{args.threads} thread(s) ({worker_class}), {args.rounds} rounds of {args.seconds:g} s "
        f"per phase; median round shown.",
        "",
        "| endpoint | credentials | requests/s | p50 ms | p99 ms | errors | verdict cache hits "
        "| server CPU ms/request |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    medians = {name: median_result(results) for name, results in rounds.items()}
    for name, result in medians.items():
        credentials = PHASES[name][1].format(credentials=args.credentials,
                                             distinct=args.distinct)
        hits = "–" if name == "bare" else _hit_rate(rounds[name])
        cpu = [r.cpu_ms for r in rounds[name] if r.cpu_ms is not None]
        cpu_text = f"{statistics.median(cpu):.2f}" if cpu else "n/a"
        lines.append(f"| `{result.endpoint}` | {credentials} | {result.rps:,.0f} | "
                     f"{result.p50_ms:.1f} | {result.p99_ms:.1f} | {result.errors} | {hits} | "
                     f"{cpu_text} |")
    lines.append("")
    bare = medians["bare"]
    for name, label in (("repeat", "repeating credentials"), ("distinct", "distinct credentials")):
        if name not in medians:
            continue
        per_round = ", ".join(f"{verify.rps / plain.rps:.0%}"
                              for verify, plain in zip(rounds[name], rounds["bare"], strict=True))
        lines.append(f"Verification, {label}: {medians[name].rps / bare.rps:.0%} of the bare "
                     f"endpoint (target ≥ 80 %; per round {per_round}); p99 "
                     f"{medians[name].p99_ms:.1f} ms (target < 25 ms).")
    if issued:
        per = issued["seconds"] / issued["count"] * 1000
        lines.append(f"Issuing {issued['count']:,} credentials through `issuance.issue`: "
                     f"{issued['seconds']:.1f} s ({per:.2f} ms each, "
                     f"{issued['count'] / issued['seconds']:,.0f} per second).")
    rounds_text = "; ".join(
        f"{name}: " + ", ".join(f"{r.rps:,.0f}/s p99 {r.p99_ms:.1f} ms" for r in results)
        for name, results in rounds.items())
    lines += ["", f"Every round: {rounds_text}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--credentials", type=int, default=200,
                        help="credentials the repeating load cycles through")
    parser.add_argument("--distinct", type=int, default=10_000,
                        help="credentials the distinct load goes through once each (0 to skip)")
    parser.add_argument("--issue", type=int, default=10_000,
                        help="credentials to issue and time (0 to skip)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    # One thread per worker (sync), as `python -m web` serves; see docs/benchmarks.md.
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker-class", choices=("gthread", "sync"), default=None,
                        help="default: gthread with more than one thread, else sync")
    parser.add_argument("--keep-alive", type=float, default=None,
                        help="gunicorn --keep-alive in seconds (default: gunicorn's)")
    parser.add_argument("--driver", choices=("auto", "wrk", "threads"), default="auto")
    args = parser.parse_args(argv)
    for name in ("clients", "rounds", "credentials", "workers", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.distinct < 0 or args.issue < 0:
        parser.error("--distinct and --issue cannot be negative")
    if not 0 < args.seconds <= 300:
        parser.error("--seconds must be between 0 and 300")

    driver = args.driver
    if driver == "auto":
        driver = "wrk" if shutil.which("wrk") else "threads"
    workdir = Path(tempfile.mkdtemp(prefix="qcampus-bench-verify-"))
    home = workdir / "home"
    server = None
    try:
        print(f"Issuing {max(args.credentials, args.distinct, args.issue):,} credentials in "
              f"{home} …", flush=True)
        tokens, issued = prepare(home, max(args.credentials, args.distinct), args.issue)
        server = start_server(home, args.workers, args.threads, args.worker_class,
                              args.keep_alive)
        check_answers(server, tokens[0])
        repeating = Load(write_bodies(workdir / "repeat.jsonl", tokens[:args.credentials]),
                         args.credentials, shared=True)
        loads = {"bare": repeating, "repeat": repeating}
        if args.distinct:
            loads["distinct"] = Load(write_bodies(workdir / "distinct.jsonl",
                                                  tokens[:args.distinct]),
                                     args.distinct, shared=False)
        rounds: dict[str, list[Result]] = {name: [] for name in loads}
        for number in range(args.rounds):
            for name, load in loads.items():
                path = PHASES[name][0]
                print(f"round {number + 1}/{args.rounds}: {path} ({name}) …", flush=True)
                before, cpu_before = cache_counts(server, args.workers), server.cpu_seconds()
                if driver == "wrk":
                    result = run_wrk(server.url + path, load, args.clients, args.seconds, path,
                                     workdir)
                else:
                    result = run_threads(server.url + path, load, args.clients, args.seconds,
                                         path)
                cpu_after = server.cpu_seconds()
                if cpu_before is not None and cpu_after is not None and result.requests:
                    result.cpu_ms = (cpu_after - cpu_before) / result.requests * 1000
                result.cache = cache_delta(before, cache_counts(server, args.workers))
                rounds[name].append(result)
                if not load.shared:
                    # The next round goes on where this one stopped, in every thread's share.
                    threads = wrk_threads(args.clients) if driver == "wrk" else args.clients
                    loads[name] = replace(load, offset=load.offset + result.requests // threads)
        print()
        print(report(rounds, issued, args, driver))
        command = "python bench/verify.py " + " ".join(argv if argv is not None else sys.argv[1:])
        print()
        print(textwrap.dedent(f"""\
            Command: `{command.strip()}`"""))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
