"""SandboxedExecute plugged into stock ``nbgrader autograde`` through nbgrader_config.py."""

from __future__ import annotations

import pwd
import subprocess
import sys

import pytest

from grader.sandbox.users import user_name
from tests.grader.autograde.conftest import ASSIGNMENT, CORRECT, WRONG, nbgrader_env

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

CONFIG = """
from grader.autograde import autograde_preprocessors, sanitize_preprocessors
c.Autograde.sanitize_preprocessors = sanitize_preprocessors()
c.Autograde.autograde_preprocessors = autograde_preprocessors()
c.SandboxedExecute.timeout = 5
"""


def test_stock_autograde_runs_cells_in_the_sandbox(make_course, sandbox_users):
    """With the config lines from the docs, nbgrader autograde grades through the sandbox."""
    course = make_course()
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write(CONFIG)
    course.submit("alice", CORRECT, before="import os\nprint('uid', os.getuid(), os.getcwd())")
    course.submit("bob", WRONG)
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT],
                   cwd=course.root, env=nbgrader_env(), check=True, capture_output=True)
    assert course.scores() == {"alice": 2.0, "bob": 0.0}
    printed = "".join(course.autograded("alice")["cells"][1]["outputs"][0]["text"])
    assert printed == f"uid {pwd.getpwnam(user_name(0)).pw_uid} /work\n"
