"""Native thread pools stay single-threaded in graded notebooks: workers already fill the cores."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.grader.autograde.conftest import ASSIGNMENT, nbgrader_env

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

#: Runs a BLAS matrix product, then prints how many threads the notebook's process has.
COUNT_THREADS = ("import numpy as np\n"
                 "a = np.ones((300, 300))\n"
                 "for _ in range(3):\n"
                 "    a = a @ a / 300\n"
                 "print([l for l in open('/proc/self/status') if l.startswith('Threads')][0])")


def test_a_blas_call_in_a_notebook_starts_no_thread_pool(make_course, sandbox_users):
    course = make_course()
    course.submit("alice", before=COUNT_THREADS)
    environ = {k: v for k, v in nbgrader_env().items()
               if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    qcampus = os.path.join(os.path.dirname(sys.executable), "qcampus")
    subprocess.run([qcampus, "grade", ASSIGNMENT, "--course-dir", str(course.root)],
                   env=environ, check=True, capture_output=True, timeout=600)
    printed = "".join(course.autograded("alice")["cells"][1]["outputs"][0]["text"])
    assert printed.startswith("Threads:\t1\n"), printed
    assert course.scores() == {"alice": 2.0}
