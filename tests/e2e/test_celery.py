"""The learner loop with grading on Celery workers: the same test as the embedded queue passes.

``grading.broker`` points at the Redis that runs on this machine (a database
number of its own, emptied afterwards); two ``qcampus grading worker``
processes share the queue, as on grading machines beside the hub.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
from collections.abc import Iterator

import pytest
import redis

from tests.e2e.conftest import VENV, HubProcess, grading_jobs
from tests.e2e.test_hub import learner_loop

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def redis_broker(monkeypatch) -> Iterator[str]:
    """Point grading.broker at a Redis database of its own for this test; empty it afterwards."""
    # Not 14: tests/submissions/grading/test_celery.py uses it, maybe at the same time.
    number = random.randrange(8, 14)
    url = f"redis://127.0.0.1:6379/{number}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    monkeypatch.setenv("QCAMPUS_GRADING__BROKER", url)
    yield url
    client.flushdb()


@pytest.fixture
def celery_hub(redis_broker, deployment_ready, tmp_path) -> Iterator[HubProcess]:
    """Yield a hub whose grading goes to two Celery workers started here, as on other machines."""
    dep = deployment_ready
    assert dep.environ["QCAMPUS_GRADING__BROKER"] == redis_broker
    hub = HubProcess(dep)
    logs = [(tmp_path / f"worker-{index}.log").open("w") for index in range(2)]
    workers = [subprocess.Popen(
        [str(VENV / "bin" / "qcampus"), "grading", "--home", str(dep.settings.home), "worker",
         "--concurrency", "1", "--name", f"qcampus-test-{index}@%h"],
        env=dep.environ, stdout=logs[index], stderr=subprocess.STDOUT, start_new_session=True)
        for index in range(2)]
    try:
        yield hub
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(10)
        for log in logs:
            log.close()
        hub.stop()


def test_learner_loop_with_celery_workers(celery_hub, tmp_path):
    """With a broker set, Celery workers grade the submission and its feedback reaches the learner."""
    try:
        learner_loop(celery_hub.dep)
    except AssertionError as exc:
        logs = "\n".join(p.read_text()[-3000:] for p in sorted(tmp_path.glob("worker-*.log")))
        raise AssertionError(f"{exc}\n--- workers ---\n{logs}") from None
    jobs = grading_jobs(celery_hub.dep)
    assert [job["state"] for job in jobs] == ["graded"], jobs
    assert jobs[0]["attempts"] == 1
