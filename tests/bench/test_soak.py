"""The soak test of the service: what its report fails on, how it finds the service, a quick run."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import soak


def _args(**changes) -> argparse.Namespace:
    return soak.parse(["--quick", *[f"--{k.replace('_', '-')}={v}" for k, v in changes.items()]])


def _record(statuses: dict[str, dict[int, int]], unanswered=()) -> soak.Record:
    record = soak.Record()
    for kind, counts in statuses.items():
        for status, count in counts.items():
            for _ in range(count):
                record.note(kind, 0.02, status)
    record.unanswered.extend(unanswered)
    return record


def _report(record: soak.Record, args=None, warm=1000, end=1010, **after):
    after = {"issued": 3, "outcomes": Counter(valid=3), "missing": 0, "accepted": 5, "locked": 0,
             **after}
    timing = {"seconds": 20.0, "warm": warm, "end": end}
    return soak.report(args or _args(), SimpleNamespace(record=record), timing, after)


CLEAN = {"verify": {200: 8}, "submit": {201: 2}, "issue": {201: 1}}


def test_a_clean_run_passes_and_tabulates_every_kind():
    text, failures = _report(_record(CLEAN))
    assert failures == []
    assert "Checks: all passed." in text
    assert re.search(r"\| verify \| 8 \| 8 \| 0 \| 0 \| 20 \| 20 \| 20 \|", text)
    assert re.search(r"\| submit \| 2 \| 2 \| 0 \| 0 \|", text)
    assert "(+1.0%)" in text


@pytest.mark.parametrize(("record", "after", "expected"), [
    (_record({**CLEAN, "verify": {200: 7, 502: 1}}), {}, "1 verify answers were 5xx"),
    (_record({**CLEAN, "submit": {201: 1, 413: 1}}), {}, "1 submit answers were 4xx"),
    (_record({**CLEAN, "issue": {}}), {}, "no issue request was answered"),
    (_record(CLEAN, [("submit", "ConnectionError: reset")]), {}, "1 requests got no answer"),
    (_record(CLEAN), {"outcomes": Counter(valid=2, tampered=1)}, "do not verify as valid"),
    (_record(CLEAN), {"missing": 1}, "1 accepted submissions are missing"),
    (_record(CLEAN), {"locked": 2}, "'database is locked' 2 times"),
])
def test_each_broken_promise_fails_the_run(record, after, expected):
    text, failures = _report(record, **after)
    assert any(expected in failure for failure in failures), failures
    assert "Checks: FAILED" in text


def test_budgets_are_judged_only_when_given():
    record = _record(CLEAN)
    assert _report(record, warm=1000, end=1200)[1] == []
    _, failures = _report(record, _args(max_drift=10, p95_budget=5), warm=1000, end=1200)
    assert any("memory drift +20.0% is over 10%" in f for f in failures)
    assert sum("p95 20 ms is over the budget of 5 ms" in f for f in failures) == 3


def test_a_service_that_was_not_found_fails():
    _, failures = _report(_record(CLEAN), warm=0, end=0)
    assert "the service's gunicorn processes were not found" in failures


def test_wrong_arguments_are_refused(capsys):
    with pytest.raises(SystemExit):
        soak.parse(["--clients", "0"])
    assert "must be positive" in capsys.readouterr().err


def test_service_memory_is_its_masters_and_their_workers():
    """Gunicorn bound to the port and its children count, whatever a child is called; the same
    bound to another port does not, nor to a port its own is a prefix of."""
    master = ("import subprocess, time; worker = subprocess.Popen(['sleep', '60']); "
              "print(worker.pid, flush=True); time.sleep(60)")
    ours = subprocess.Popen([sys.executable, "-c", master, "gunicorn", "--bind", "127.0.0.1:47811"],
                            stdout=subprocess.PIPE)
    other = subprocess.Popen([sys.executable, "-c", master, "gunicorn", "--bind",
                              "127.0.0.1:47812"], stdout=subprocess.PIPE)
    try:
        worker = int(ours.stdout.readline())  # started: its memory no longer grows
        other.stdout.readline()

        def rss(pid: int) -> int:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            return int(next(line for line in lines if line.startswith("VmRSS:")).split()[1])

        assert soak.service_rss_kib(47811) == pytest.approx(rss(ours.pid) + rss(worker), rel=0.05)
        assert rss(worker) > 0
        assert soak.service_rss_kib(4781) == 0
    finally:
        for proc in (ours, other):
            subprocess.run(["pkill", "-P", str(proc.pid)], check=False)
            proc.kill()
            proc.wait()
            proc.stdout.close()


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_quick_soak_on_a_real_deployment_passes_every_check(database, capsys):
    """``--quick``: every kind answered without a 5xx, every credential valid, no submission lost."""
    before = dict(os.environ)
    assert soak.main(["--quick", "--database", database]) == 0
    assert dict(os.environ) == before  # the limits were raised for the deployment alone
    text = capsys.readouterr().out
    assert "Checks: all passed." in text and f"records in {database};" in text
    for kind in soak.MIX:
        answers, twos = re.search(rf"\| {kind} \| (\d+) \| (\d+) \| 0 \| 0 \|", text).groups()
        assert int(answers) == int(twos) > 0
    issued = re.search(r"(\d+) of the (\d+) credentials issued during the run verify", text)
    assert issued.group(1) == issued.group(2) != "0"
    listed = re.search(r"(\d+) of (\d+) accepted submissions listed", text)
    assert listed.group(1) == listed.group(2) != "0"
