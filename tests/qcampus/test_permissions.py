"""File modes: closing course sources and history, private files, and finding exposed paths."""

from __future__ import annotations

import os
import stat

from qcampus.deployment import init
from qcampus.permissions import (
    close_history,
    close_tree,
    git_dirs,
    inspect_tree,
    open_private,
    private_umask,
)


def mode(path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def make_sources(root):
    """Create a checkout-like tree: world-readable sources and a git directory."""
    (root / ".git" / "objects").mkdir(parents=True)
    os.chmod(root / ".git", 0o755)
    source = root / "courses" / "alpha" / "source" / "one"
    source.mkdir(parents=True)
    (root / "courses" / "alpha" / "track.yaml").write_text("title: {en: t, ja: t}\nlevel: A1\n")
    (source / "one.ipynb").write_text("### BEGIN SOLUTION")
    for path in [root / "courses", *(root / "courses").rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return root / "courses"


def test_close_tree_removes_others_and_keeps_the_owner(tmp_path):
    """Every file and directory loses its bits for others; the owner keeps writing."""
    courses = make_sources(tmp_path)
    assert close_tree(courses) > 0
    notebook = courses / "alpha" / "source" / "one" / "one.ipynb"
    assert mode(notebook) == 0o640
    assert mode(courses / "alpha") == 0o750
    assert close_tree(courses) == 0


def test_close_tree_gives_a_group_read_only(tmp_path):
    """With a group, directories are 0750 and files 0640 in that group."""
    courses = make_sources(tmp_path)
    os.chmod(courses / "alpha" / "track.yaml", 0o600)
    close_tree(courses, gid=0)
    assert mode(courses / "alpha" / "track.yaml") == 0o640
    assert (courses / "alpha").stat().st_gid == 0


def test_close_tree_leaves_symlink_targets_alone(tmp_path):
    """A symlink inside the sources never changes the mode of what it points to."""
    courses = make_sources(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text("public")
    os.chmod(outside, 0o644)
    (courses / "link").symlink_to(outside)
    close_tree(courses)
    assert mode(outside) == 0o644


def test_close_history_closes_the_git_directory(tmp_path):
    """The checkout's .git loses others' bits; a closed one is left as it is."""
    courses = make_sources(tmp_path)
    assert close_history(courses / "alpha") == [tmp_path / ".git"]
    assert mode(tmp_path / ".git") == 0o750
    assert close_history(courses) == []


def test_git_dirs_of_a_worktree(tmp_path):
    """A worktree's .git file leads to its own directory and the common one."""
    common = tmp_path / "main" / ".git"
    own = common / "worktrees" / "wt"
    own.mkdir(parents=True)
    (own / "commondir").write_text("../..\n")
    tree = tmp_path / "wt"
    tree.mkdir()
    (tree / ".git").write_text(f"gitdir: {own}\n")
    assert git_dirs(tree / "courses") == [own, common]


def test_init_closes_the_course_sources(qcampus_home, tmp_path):
    """qcampus init leaves no source file or directory open to other users."""
    courses = make_sources(tmp_path / "checkout")
    init(qcampus_home, {"QCAMPUS_COURSES__SOURCE": str(courses)}, hooks=[])
    assert inspect_tree(courses, "fix", check_owner=False) == []
    assert mode(tmp_path / "checkout" / ".git") & 0o007 == 0
    assert mode(qcampus_home / "courses" / "alpha") & 0o007 == 0


def test_inspect_tree_names_path_mode_owner_and_fix(tmp_path):
    """An exposed file is reported with its mode, owner and the fixing command."""
    secret = tmp_path / "key.pem"
    secret.write_text("k")
    os.chmod(secret, 0o644)
    found = inspect_tree(secret, f"chmod 600 {secret}")
    assert [e.path for e in found] == [secret]
    text = found[0].describe()
    assert "0644" in text and "root:" in text and f"chmod 600 {secret}" in text
    os.chmod(secret, 0o600)
    assert inspect_tree(secret, "fix") == []


def test_inspect_tree_refuses_a_foreign_group(tmp_path):
    """Group access is only safe for root's group (or the instructors')."""
    secret = tmp_path / "db.sqlite"
    secret.write_text("")
    os.chmod(secret, 0o640)
    os.chown(secret, 0, 100)
    assert inspect_tree(secret, "fix")[0].problem.startswith("is open to a group")


def test_open_private_creates_and_tightens(tmp_path):
    """A new file is 0600 whatever the umask; an existing 0644 file becomes 0600."""
    path = tmp_path / "hub.log"
    old = os.umask(0)
    try:
        os.close(open_private(path))
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    os.chmod(path, 0o644)
    os.close(open_private(path))
    assert mode(path) == 0o600


def test_private_umask(tmp_path):
    """Inside private_umask new files are 0600 and directories 0700."""
    with private_umask():
        (tmp_path / "d").mkdir()
        (tmp_path / "f").write_text("x")
    assert mode(tmp_path / "d") == 0o700
    assert mode(tmp_path / "f") == 0o600


def test_init_closes_hub_state_logs_and_secrets_left_open(qcampus_home, tmp_path):
    """Files an older version left 0644 in hub/, logs/ and secrets/ are 0600 after init."""
    courses = make_sources(tmp_path / "checkout")
    init(qcampus_home, {"QCAMPUS_COURSES__SOURCE": str(courses)}, hooks=[])
    for rel in ("hub/jupyterhub.sqlite", "logs/jupyterhub.log", "secrets/demo-accounts.txt"):
        (qcampus_home / rel).write_text("x")
        os.chmod(qcampus_home / rel, 0o644)
    init(qcampus_home, {"QCAMPUS_COURSES__SOURCE": str(courses)}, hooks=[])
    for rel in ("hub/jupyterhub.sqlite", "logs/jupyterhub.log", "secrets/demo-accounts.txt"):
        assert mode(qcampus_home / rel) == 0o600
