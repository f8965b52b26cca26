"""The web service in a deployment: the ``qcampus init`` step and the ``qcampus status`` checks.

Plugged into the core through the ``qcampus.init`` and ``qcampus.status`` entry
points: init migrates the sessions database (a SQLite file only root reads) and
writes the session key; status says whether the database is reachable and
whether learners can reach it or the rate-limit store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qcampus.permissions import inspect_tree, read_or_create_secret
from qcampus.settings import Settings
from web import SESSION_KEY_FILE
from web.db import open_engine

if TYPE_CHECKING:
    from qcampus.status import Check


def init(settings: Settings) -> None:
    """Create (or migrate) the sessions tables and write the session key, both 0600."""
    # A SQLite file is created 0600 before SQLite first opens it (qcampus.database.make_engine).
    open_engine(settings.web_database_url).dispose()
    read_or_create_secret(settings.secrets / SESSION_KEY_FILE)


def status_checks(settings: Settings) -> list[Check]:
    """Report the sessions database and the rate-limit store's directory (``qcampus status``).

    The store's password lives in ``secrets/``, which the core checks; its socket
    and configuration live in ``<home>/redis/``, which only this package knows.
    """
    from qcampus.status import Check, component_database_checks
    from web.ratelimit_store import StorePaths

    # Hub tokens of signed-in browsers: no learner may read them.
    checks = component_database_checks("web", settings.web_database_url, open_engine)
    directory = StorePaths.of(settings.home, settings.secrets).directory
    if not directory.exists():
        return checks
    exposures = inspect_tree(directory, f"chmod -R go-rwx {directory}")
    if not exposures:
        return [*checks, Check("ok", "rate-limit store", f"{directory} is closed to learners")]
    return checks + [Check("error", "rate-limit store", exposure.describe())
                     for exposure in exposures]
