"""Whether the host delegates cgroup v2 memory and process controllers to the grader.

rlimits bound one process's address space and one user's processes; a cgroup
would bound everything a notebook holds (its tmpfs pages, kernel memory, all
its processes together). That needs cgroup v2 with the ``memory`` and ``pids``
controllers available in the grader's own cgroup and writable by it, as under a
systemd unit with ``Delegate=yes``. The sandbox does not create cgroups yet;
this module tells the operator which case the host is in, so the summary of
``qcampus grade`` can say what bounds a notebook's memory.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Controllers a per-notebook cgroup would need.
CONTROLLERS = ("memory", "pids")


def unified_mount(mountinfo: str = "/proc/self/mountinfo") -> Path | None:
    """Return where the cgroup v2 (unified) hierarchy is mounted, or None."""
    with open(mountinfo) as lines:
        for line in lines:
            fields, _, rest = line.partition(" - ")
            if rest.split(" ", 1)[0] == "cgroup2" and fields.split()[3] == "/":
                return Path(fields.split()[4])
    return None


def memberships(cgroup: str = "/proc/self/cgroup") -> dict[str, str]:
    """Return the calling process's cgroup path per controller ("" for the v2 hierarchy)."""
    paths = {}
    with open(cgroup) as lines:
        for line in lines:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    return paths


def missing_delegation(mountinfo: str = "/proc/self/mountinfo",
                       cgroup: str = "/proc/self/cgroup") -> str:
    """Return why this host gives the grader no cgroup v2 memory and pids control, or "".

    Args:
        mountinfo: The mount table to read (``/proc/self/mountinfo``).
        cgroup: The cgroup membership to read (``/proc/self/cgroup``).
    """
    mount = unified_mount(mountinfo)
    if mount is None:
        return "no cgroup v2 hierarchy is mounted"
    paths = memberships(cgroup)
    own = mount / paths.get("", "/").lstrip("/")
    try:
        available = (own / "cgroup.controllers").read_text().split()
    except OSError as exc:
        return f"the grader's cgroup v2 ({own}) cannot be read: {exc.strerror}"
    absent = [name for name in CONTROLLERS if name not in available]
    if absent:
        on_v1 = [name for name in absent if name in paths]
        where = f" (here they are on cgroup v1: {', '.join(on_v1)})" if on_v1 else ""
        return (f"the grader's cgroup v2 ({own}) has no {' or '.join(absent)} controller"
                f"{where}")
    if not os.access(own / "cgroup.subtree_control", os.W_OK):
        return f"the grader's cgroup v2 ({own}) is not delegated to it (not writable)"
    return ""
