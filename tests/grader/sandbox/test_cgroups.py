"""Detecting cgroup v2 delegation: on this host for real, and on the kernel's files for others.

This host has its memory and pids controllers on cgroup v1, so the delegated
case cannot run here; those tests read copies of the two files the kernel
writes (``/proc/self/mountinfo`` and ``/proc/self/cgroup``) and a directory
standing in for the cgroup, as they look on a host with ``Delegate=yes``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.sandbox.cgroups import memberships, missing_delegation


def test_this_host_says_why_there_is_no_delegation():
    """Where memory is a cgroup v1 controller, as here, the reason says so."""
    why = missing_delegation()
    if "memory" in memberships():
        assert "memory" in why and "cgroup v1" in why


def _host(tmp_path: Path, controllers: str, *, mounted: bool = True) -> tuple[str, str]:
    """Write a mount table and a membership as the kernel would, for a grader in /grading."""
    root = tmp_path / "cgroup"
    (root / "grading").mkdir(parents=True)
    (root / "grading" / "cgroup.controllers").write_text(controllers + "\n")
    (root / "grading" / "cgroup.subtree_control").write_text("")
    mountinfo = tmp_path / "mountinfo"
    lines = ["22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw"]
    if mounted:
        lines.append(f"30 22 0:26 / {root} rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw")
    mountinfo.write_text("\n".join(lines) + "\n")
    cgroup = tmp_path / "cgroup-membership"
    cgroup.write_text("0::/grading\n")
    return str(mountinfo), str(cgroup)


@pytest.mark.parametrize(("controllers", "mounted", "reason"), [
    ("cpu io memory pids", True, ""),
    ("cpu io memory", True, "no pids controller"),
    ("cpu", True, "no memory or pids controller"),
    ("cpu io memory pids", False, "no cgroup v2 hierarchy is mounted"),
])
def test_delegation_is_found_only_with_memory_and_pids(tmp_path, controllers, mounted, reason):
    """Delegation needs a cgroup v2 mount whose grader cgroup offers memory and pids."""
    mountinfo, cgroup = _host(tmp_path, controllers, mounted=mounted)
    found = missing_delegation(mountinfo, cgroup)
    assert found == reason if not reason else reason in found
