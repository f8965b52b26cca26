"""A grading worker's pre-imported stack: one-thread native pools, matplotlib without a display."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

from submissions.grading import service

#: Pre-warms as a worker does, forks as the zygote does, then makes NumPy's BLAS work in the
#: child and prints how many threads the child has.
CHILD_THREADS = """
import os
from submissions.grading.service import prewarm
prewarm()
import numpy
pid = os.fork()
if pid == 0:
    a = numpy.random.default_rng(0).random((600, 600))
    for _ in range(5):
        a = a @ a / 600.0
    print(len(os.listdir("/proc/self/task")), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: every pool has one thread")
def test_jobs_forked_from_a_warm_worker_run_native_pools_on_one_thread():
    environ = {k: v for k, v in os.environ.items()
               if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    result = subprocess.run([sys.executable, "-c", CHILD_THREADS], env=environ,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "1", result.stdout


def test_sigterm_while_prewarming_ends_the_worker_at_once(monkeypatch):
    """A worker still importing holds no job: a service stopped just after starting need not wait."""
    monkeypatch.setattr(service, "prewarm", lambda: time.sleep(600))
    worker = multiprocessing.get_context("fork").Process(target=service.work, args=(None, 60, None))
    worker.start()
    time.sleep(0.5)
    worker.terminate()  # SIGTERM, as the supervisor stops its workers
    worker.join(120)
    alive = worker.is_alive()
    if alive:
        worker.kill()
        worker.join()
    assert not alive, "the worker finished its imports before it looked at SIGTERM"
    assert worker.exitcode == -signal.SIGTERM
