"""The hub's step of ``qcampus init`` (entry point ``qcampus.init: hub``).

Course directories hold solutions, hidden tests and the gradebook: they belong
to root and the system group ``qcampus-instructors`` (setgid 2770, so files
made inside stay in the group), which every instructor's system user joins on
first spawn. Learners reach assignments only through the exchange.

The course sources themselves (``courses.source``, usually the checkout's
``courses/``) are closed to other users by the core's ``init``; here the
instructors' group gets read access to them (directories 0750, files 0640
when root owns the checkout), so instructors read but only the owner edits.
"""

from __future__ import annotations

import grp
import os
import subprocess
from pathlib import Path

from hub_config.configurer import INSTRUCTORS_SYSTEM_GROUP
from hub_config.singleuser import write_config
from qcampus.database import course_ids
from qcampus.permissions import close_tree
from qcampus.settings import Settings


def ensure_group(name: str = INSTRUCTORS_SYSTEM_GROUP) -> int:
    """Create system group *name* if missing and return its gid."""
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        subprocess.run(["groupadd", "--system", name], check=True, capture_output=True)
        return grp.getgrnam(name).gr_gid


def share_course_dirs(courses_root: Path, gid: int) -> None:
    """Give every course directory (recursively) to the instructors' group, group-writable."""
    if not courses_root.is_dir():
        return
    for course in courses_root.iterdir():
        if not course.is_dir() or course.is_symlink():
            continue
        for path in [course, *course.rglob("*")]:
            if path.is_symlink():
                continue
            os.chown(path, 0, gid)
            mode = path.stat().st_mode & 0o777
            if path.is_dir():
                os.chmod(path, 0o2770)
            else:
                os.chmod(path, (mode | 0o060) & ~0o007)


def init_deployment(settings: Settings) -> None:
    """Set course directory and source ownership, and write the users' servers' configuration."""
    gid = ensure_group()
    share_course_dirs(settings.courses_root, gid)
    if settings.courses_source.is_dir():
        close_tree(settings.courses_source, gid)
    write_config(settings.home / "jupyter", settings.exchange_url, settings.courses_root,
                 {course: settings.instructors_gradebook_url(course) for course in course_ids(settings)},
                 gid)
