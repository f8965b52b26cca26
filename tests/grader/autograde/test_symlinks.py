"""Symbolic links in a submission: never followed into autograded/, the sandbox or feedback."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import grade
from tests.grader.autograde.conftest import ASSIGNMENT, CORRECT

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

READ_LINKS = """import os
for name in ('secret.txt', 'shadow', 'keys/secret.txt', 'pipe'):
    try:
        print(name, open(name).read())
    except OSError as e:
        print(name, 'unreadable', type(e).__name__)"""


@pytest.fixture
def root_only_secret(tmp_path_factory) -> tuple[Path, str]:
    """Write a secret to a root-owned, mode 0600 file in a private temporary directory."""
    folder = tmp_path_factory.mktemp("private")
    os.chmod(folder, 0o700)
    secret = f"root-only-{uuid.uuid4().hex}"
    path = folder / "secret.txt"
    path.write_text(secret)
    os.chmod(path, 0o600)
    assert path.stat().st_uid == 0
    return path, secret


def test_links_are_skipped_and_the_secret_never_reaches_the_notebook(
        make_course, sandbox_users, root_only_secret):
    """Links to a root-only file and /etc/shadow, a linked folder and a FIFO are left out."""
    secret_path, secret = root_only_secret
    course = make_course()
    folder = course.submit("mallory", CORRECT, before=READ_LINKS)
    (folder / "secret.txt").symlink_to(secret_path)
    (folder / "shadow").symlink_to("/etc/shadow")
    (folder / "keys").symlink_to(secret_path.parent, target_is_directory=True)
    os.mkfifo(folder / "pipe")
    (folder / "notes.txt").write_text("my notes\n")
    course.submit("alice", CORRECT)

    result = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root)])

    assert result.exit_code == 0, result.output
    assert course.scores() == {"alice": 2.0, "mallory": 2.0}
    notebook = json.dumps(course.autograded("mallory"))
    assert secret not in notebook
    assert "secret.txt unreadable FileNotFoundError" in notebook
    assert "shadow unreadable FileNotFoundError" in notebook
    graded = course.root / "autograded" / "mallory" / ASSIGNMENT
    assert sorted(p.name for p in graded.iterdir()) == ["data.txt", "notes.txt",
                                                        f"{ASSIGNMENT}.ipynb", "timestamp.txt"]
    assert all(secret not in p.read_text() for p in graded.iterdir())
    line = next(line for line in result.output.splitlines() if line.startswith("mallory"))
    assert "symbolic links or special files" in line and "secret.txt" in line


def test_a_linked_notebook_is_not_graded(make_course, sandbox_users):
    """A notebook that is a link (here to the instructor's source, with the solutions) fails."""
    course = make_course()
    folder = course.submit("mallory", "raise NotImplementedError()")
    notebook = folder / f"{ASSIGNMENT}.ipynb"
    notebook.unlink()
    notebook.symlink_to(course.root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")

    result = CliRunner().invoke(grade, [ASSIGNMENT, "--course-dir", str(course.root)])

    assert result.exit_code == 1
    assert "is a symbolic link or special file" in result.output
    assert not (course.root / "autograded" / "mallory").exists()
