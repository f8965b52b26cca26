"""The verification benchmark's server: the bare endpoint exists only there, without rate limits."""

from __future__ import annotations

import argparse
import os

import pytest

from bench import verify as bench
from tests.certificates.conftest import SERVICE_URL


@pytest.fixture
def bench_app(deployment, monkeypatch):
    """Return the benchmark's app on the prepared deployment."""
    monkeypatch.setenv(bench.HOME_ENV, str(deployment.home))
    # The service's own limit (120 a minute), whatever the calling environment raised it to.
    monkeypatch.delenv("QCAMPUS_SERVICE_RATELIMIT_VERIFY", raising=False)
    return bench.bench_app()


def test_bare_endpoint_answers_like_the_api_is_called(bench_app):
    """``POST /bench/bare`` parses the same JSON body as the API and answers 200."""
    answer = bench_app.test_client().post("/bench/bare", json={"credential": "x" * 40})
    assert answer.status_code == 200
    assert answer.get_json() == {"outcome": "bare", "received": 40}


def test_bare_endpoint_is_not_in_the_service(app):
    """The production app factory has no bench route."""
    assert not any(rule.rule.startswith("/bench") for rule in app.url_map.iter_rules())
    assert app.test_client().get("/bench/bare").status_code == 404


def test_bench_server_does_not_rate_limit(bench_app, issue_credential):
    """Far more verifications than the per-minute limit all answer 200 on the bench server."""
    token = issue_credential().token
    client = bench_app.test_client()
    limit = int(bench_app.config["RATELIMIT_VERIFY"].split()[0])
    statuses = {client.post("/api/v1/verify", json={"credential": token}).status_code
                for _ in range(limit + 5)}
    assert statuses == {200}


def test_cache_endpoint_counts_this_workers_verifications(bench_app, issue_credential):
    """``GET /bench/cache`` answers the worker's pid and its verdict cache's hits and misses."""
    token = issue_credential().token
    client = bench_app.test_client()
    for _ in range(3):
        client.post("/api/v1/verify", json={"credential": token})
    counts = client.get("/bench/cache").get_json()
    assert counts["pid"] == os.getpid() and (counts["hits"], counts["misses"]) == (2, 1)


def test_cache_delta_sums_every_worker_and_needs_them_all():
    """Hits and misses are summed over workers; a worker missing on either side gives None."""
    before = {1: (10, 5), 2: (0, 7)}
    assert bench.cache_delta(before, {1: (30, 5), 2: (4, 9)}) == (24, 2)
    assert bench.cache_delta(before, {1: (30, 5)}) is None
    assert bench.cache_delta(None, before) is None


def _result(endpoint: str, requests: int, p99: float, cache=None) -> bench.Result:
    return bench.Result(endpoint, requests, 1.0, 2.0, p99, 0, cache, cpu_ms=100 / requests)


def test_report_states_ratio_latency_and_issuance():
    """The table names both loads with their cache hits, each ratio and the issuance time."""
    rounds = {"bare": [_result("/bench/bare", 1000, 9.0), _result("/bench/bare", 800, 9.0)],
              "repeat": [_result("/api/v1/verify", 850, 12.0, (840, 10)),
                         _result("/api/v1/verify", 880, 12.0, (880, 0))],
              "distinct": [_result("/api/v1/verify", 500, 30.0, (0, 500)),
                           _result("/api/v1/verify", 420, 30.0, (0, 420))]}
    args = argparse.Namespace(clients=32, workers=2, threads=4, worker_class=None, rounds=2,
                              seconds=1.0, credentials=200, distinct=10_000)
    text = bench.report(rounds, {"count": 10_000, "seconds": 50.0}, args, "wrk")
    assert "| `/bench/bare` | 200, repeating | 1,000 | 2.0 | 9.0 | 0 | – | 0.11 |" in text
    assert "| `/api/v1/verify` | 200, repeating | 880 | 2.0 | 12.0 | 0 | 99.4% | 0.12 |" in text
    assert "| `/api/v1/verify` | 10,000, none repeating | 500 | 2.0 | 30.0 | 0 | 0.0% | 0.22 |" \
        in text
    assert "repeating credentials: 88% of the bare endpoint" in text
    assert "per round 85%, 110%" in text
    assert "distinct credentials: 50% of the bare endpoint" in text
    assert "(gthread)" in text
    assert "Issuing 10,000 credentials" in text and "5.00 ms each" in text
    assert SERVICE_URL not in text


@pytest.mark.slow
def test_benchmark_runs_both_loads_against_one_server(capsys):
    """A tiny run prints the bare endpoint and both verification loads, without errors."""
    assert bench.main(["--seconds", "1", "--rounds", "1", "--credentials", "5",
                       "--distinct", "40", "--issue", "0", "--clients", "4",
                       "--workers", "1", "--threads", "2"]) == 0
    text = capsys.readouterr().out
    assert "| `/bench/bare` | 5, repeating |" in text
    assert "| `/api/v1/verify` | 5, repeating |" in text
    assert "| `/api/v1/verify` | 40, none repeating |" in text
    assert "n/a" not in text
    rows = [line.split("|") for line in text.splitlines() if line.startswith("| `/")]
    assert all(float(row[8]) > 0 for row in rows)
    for line in text.splitlines():
        if line.startswith("| `/"):
            assert line.split("|")[6].strip() == "0", line
