"""The verification benchmark's server: the bare endpoint exists only there, without rate limits."""

from __future__ import annotations

import argparse

import pytest

from bench import verify as bench
from tests.certificates.conftest import SERVICE_URL


@pytest.fixture
def bench_app(deployment, monkeypatch):
    """Return the benchmark's app on the prepared deployment."""
    monkeypatch.setenv(bench.HOME_ENV, str(deployment.home))
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


def test_report_states_ratio_latency_and_issuance():
    """The printed table names both endpoints, the throughput ratio and the issuance time."""
    rounds = {"bare": [bench.Result("/bench/bare", 1000, 1.0, 2.0, 9.0, 0)],
              "verify": [bench.Result("/api/v1/verify", 850, 1.0, 3.0, 12.0, 0)]}
    args = argparse.Namespace(clients=32, workers=2, threads=4, rounds=1, seconds=1.0,
                              credentials=10)
    text = bench.report(rounds, {"count": 10_000, "seconds": 50.0}, args, "wrk")
    assert "| `/bench/bare` | 1,000 | 2.0 | 9.0 | 0 |" in text
    assert "| `/api/v1/verify` | 850 | 3.0 | 12.0 | 0 |" in text
    assert "85% of the bare endpoint" in text
    assert "Issuing 10,000 credentials" in text and "5.00 ms each" in text
    assert SERVICE_URL not in text
