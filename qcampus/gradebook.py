"""Point nbgrader at a course's gradebook without putting its URL where users read it.

nbgrader takes the gradebook as ``CourseDirectory.db_url`` (default
``gradebook.db`` in the course directory). With ``database.url`` set, each
course's gradebook is a schema on the PostgreSQL server
(:meth:`qcampus.settings.Settings.gradebook_url`), and its URL may hold a
password: it is never a command-line argument, which every local user can read
in ``ps``, but a line of an ``nbgrader_config.py`` in a root-only temporary
directory put first on ``JUPYTER_CONFIG_PATH``. The course's own
``nbgrader_config.py``, read after it, still wins if it names a database.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def gradebook_config(db_url: str) -> Iterator[dict[str, str]]:
    """Yield the environment that points nbgrader at the gradebook *db_url*.

    The URL may hold a password, so it is never an argument (every local user
    reads command lines): it goes into an ``nbgrader_config.py`` in a root-only
    temporary directory put first on ``JUPYTER_CONFIG_PATH``. The course's own
    ``nbgrader_config.py``, read after it, still wins if it names a database.
    """
    with tempfile.TemporaryDirectory(prefix="qcampus-gradebook-") as directory:
        config = Path(directory) / "nbgrader_config.py"
        config.write_text("# The course's gradebook (settings: database.url); removed after use.\n"
                          f"get_config().CourseDirectory.db_url = {db_url!r}\n", encoding="utf-8")
        os.chmod(config, 0o600)
        yield {"JUPYTER_CONFIG_PATH": os.pathsep.join(
            filter(None, [directory, os.environ.get("JUPYTER_CONFIG_PATH", "")]))}


@contextmanager
def using_gradebook(db_url: str) -> Iterator[None]:
    """Within the block, nbgrader apps started in this process (or forked from it) open *db_url*."""
    previous = os.environ.get("JUPYTER_CONFIG_PATH")
    with gradebook_config(db_url) as env:
        os.environ.update(env)
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("JUPYTER_CONFIG_PATH", None)
            else:
                os.environ["JUPYTER_CONFIG_PATH"] = previous
