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

The load comes from ``wrk`` (Debian package ``wrk``) when it is on PATH, else
from Python threads with one ``requests.Session`` each (slower: on a small
machine the client then competes with the server for the CPU).

Also times issuing credentials through :func:`certificates.issuance.issue`.

Run from the repository root::

    /opt/qcampus/venv/bin/python bench/verify.py
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass
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

    from certificates import create_app
    from certificates.security import csrf_exempt

    app = create_app(bench_config(Path(os.environ[HOME_ENV])))

    # Same app, same hooks (headers, CSRF check) and body parsing as the API; no verification.
    @csrf_exempt
    def bare():
        body = request.get_json(silent=True) or {}
        return jsonify(outcome="bare", received=len(body.get("credential", "")))

    app.add_url_rule("/bench/bare", "bench_bare", bare, methods=["POST"])
    return app


# --- the deployment --------------------------------------------------------------------


def prepare(home: Path, credentials: int, issue_count: int) -> tuple[list[str], dict]:
    """Create the deployment at *home*; return *credentials* tokens and issuance timings."""
    from certificates import create_app, issuance
    from certificates import deployment as cert_deployment
    from qcampus import settings as settings_module

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

    def stop(self) -> None:
        """Stop gunicorn and its workers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(home: Path, workers: int, threads: int) -> Server:
    """Start gunicorn on a free loopback port and wait until it answers."""
    import requests

    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread" if threads > 1 else "sync",
        "--log-level", "warning", "--chdir", str(REPO), "bench.verify:bench_app()",
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
    """Throughput and latency of one load phase."""

    endpoint: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        """Return requests per second."""
        return self.requests / self.seconds


WRK_SCRIPT = """
local bodies = {%s}
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[(counter %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format('WRK_RESULT {"requests": %%d, "micros": %%d, '
    .. '"p50": %%d, "p99": %%d, "errors": %%d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), errors))
end
"""


def run_wrk(url: str, bodies: list[str], clients: int, seconds: float, endpoint: str,
            workdir: Path) -> Result:
    """Drive *url* with wrk at *clients* connections for *seconds*."""
    script = workdir / "load.lua"
    quoted = ", ".join(json.dumps(body) for body in bodies)  # JSON strings are Lua strings here
    script.write_text(WRK_SCRIPT % quoted, encoding="utf-8")
    threads = min(clients, max(1, os.cpu_count() or 1))
    completed = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds:g}s",
         "--timeout", "10s", "-s", str(script), url],
        capture_output=True, text=True, check=True)
    line = next(line for line in completed.stdout.splitlines() if line.startswith("WRK_RESULT"))
    data = json.loads(line.removeprefix("WRK_RESULT "))
    return Result(endpoint, data["requests"], data["micros"] / 1e6, data["p50"] / 1000,
                  data["p99"] / 1000, data["errors"])


def run_threads(url: str, bodies: list[str], clients: int, seconds: float,
                endpoint: str) -> Result:
    """Drive *url* from *clients* threads, each with its own ``requests.Session``."""
    import requests

    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = time.perf_counter() + seconds

    def client(number: int) -> None:
        with requests.Session() as session:
            sent = number
            while time.perf_counter() < stop:
                body = bodies[sent % len(bodies)]
                sent += 1
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


def check_answers(server: Server, token: str) -> None:
    """Make sure the API verifies the token as valid before measuring anything."""
    import requests

    answer = requests.post(server.url + "/api/v1/verify", json={"credential": token}, timeout=10)
    verdict = answer.json()
    if answer.status_code != 200 or verdict.get("outcome") != "valid":
        raise RuntimeError(f"the API did not verify an issued credential: {answer.status_code} "
                           f"{verdict}")


# --- report ----------------------------------------------------------------------------


def median_result(results: list[Result]) -> Result:
    """Return the round with the median throughput."""
    return sorted(results, key=lambda result: result.rps)[len(results) // 2]


def report(rounds: dict[str, list[Result]], issued: dict, args: argparse.Namespace,
           driver: str) -> str:
    """Return the Markdown table of the measurements."""
    bare, verify = median_result(rounds["bare"]), median_result(rounds["verify"])
    lines = [
        f"{args.clients} concurrent clients ({driver}), gunicorn {args.workers} worker(s) × "
        f"{args.threads} thread(s), {args.rounds} rounds of {args.seconds:g} s per endpoint, "
        f"{args.credentials} distinct credentials; median round shown.",
        "",
        "| endpoint | requests/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|",
    ]
    for result in (bare, verify):
        lines.append(f"| `{result.endpoint}` | {result.rps:,.0f} | {result.p50_ms:.1f} | "
                     f"{result.p99_ms:.1f} | {result.errors} |")
    ratio = verify.rps / bare.rps
    lines += [
        "",
        f"Verification throughput: {ratio:.0%} of the bare endpoint (target ≥ 80 %); "
        f"p99 {verify.p99_ms:.1f} ms (target < 25 ms).",
    ]
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
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--credentials", type=int, default=200,
                        help="distinct credentials the load cycles through")
    parser.add_argument("--issue", type=int, default=10_000,
                        help="credentials to issue and time (0 to skip)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--driver", choices=("auto", "wrk", "threads"), default="auto")
    args = parser.parse_args(argv)
    for name in ("clients", "rounds", "credentials", "workers", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if not 0 < args.seconds <= 300:
        parser.error("--seconds must be between 0 and 300")

    driver = args.driver
    if driver == "auto":
        driver = "wrk" if shutil.which("wrk") else "threads"
    workdir = Path(tempfile.mkdtemp(prefix="qcampus-bench-verify-"))
    home = workdir / "home"
    server = None
    try:
        print(f"Issuing {max(args.credentials, args.issue):,} credentials in {home} …",
              flush=True)
        tokens, issued = prepare(home, args.credentials, args.issue)
        server = start_server(home, args.workers, args.threads)
        check_answers(server, tokens[0])
        bodies = [json.dumps({"credential": token}) for token in tokens]
        endpoints = {"bare": "/bench/bare", "verify": "/api/v1/verify"}
        rounds: dict[str, list[Result]] = {name: [] for name in endpoints}
        for number in range(args.rounds):
            for name, path in endpoints.items():
                print(f"round {number + 1}/{args.rounds}: {path} …", flush=True)
                if driver == "wrk":
                    result = run_wrk(server.url + path, bodies, args.clients, args.seconds, path,
                                     workdir)
                else:
                    result = run_threads(server.url + path, bodies, args.clients, args.seconds,
                                         path)
                rounds[name].append(result)
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
