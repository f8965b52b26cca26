"""What the benchmarks share: progress lines, a percentile, and API tokens made as a hub admin does."""

from __future__ import annotations

import statistics
import sys
import time
import uuid

import requests

from tests.e2e import conftest as e2e


def progress(line: str) -> None:
    """Say on stderr what is measured so far (a long run may be stopped before its report)."""
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def quantile(values: list[float], q: int) -> float:
    """Return the *q*-th percentile of *values* (inclusive method, as bench/hub_login.py)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def issue_tokens(hub_url: str, admin: str, code: str, names: list[str],
                 note: str) -> tuple[dict[str, str], dict[str, str]]:
    """Activate *admin* with its activation *code*, then create an API token for each of *names*.

    Everything goes over the hub's REST API, the admin authenticated by the request
    body: no browser session and no server is started. Returns the admin's request
    headers and each name's token (valid for a day).
    """
    password = uuid.uuid4().hex
    e2e.HubUser(hub_url, admin).activate(code, password).raise_for_status()
    users = f"{hub_url}/hub/api/users"
    answer = requests.post(f"{users}/{admin}/tokens", timeout=60, json={
        "auth": {"username": admin, "password": password}, "note": "benchmark admin"})
    answer.raise_for_status()
    headers = {"Authorization": f"token {answer.json()['token']}"}
    tokens = {}
    for name in names:
        answer = requests.post(f"{users}/{name}/tokens", headers=headers, timeout=60,
                               json={"note": note, "expires_in": 86400})
        answer.raise_for_status()
        tokens[name] = answer.json()["token"]
    return headers, tokens
