"""Exams in a deployment: the ``qcampus init`` step and the ``qcampus status`` checks.

Plugged into the core through the ``qcampus.init`` and ``qcampus.status`` entry
points: init migrates the attempts database; status says whether it is reachable
and whether the bank and catalog the service delivers from are usable.
"""

from __future__ import annotations

from exams.db import open_engine
from qcampus.database import sqlite_file
from qcampus.settings import Settings


def init(settings: Settings) -> None:
    """Create (or migrate) the attempts, answers and audit tables; a SQLite file only root reads."""
    url = settings.exams_database_url
    open_engine(url).dispose()
    path = sqlite_file(url)
    if path is not None:
        path.chmod(0o600)


def status_checks(settings: Settings):
    """Report the attempts database and how many exams the catalog offers (``qcampus status``)."""
    from exams import bank, catalog
    from qcampus.status import Check, component_database_checks

    # Candidates' answers: no learner may read another's.
    checks = component_database_checks("exams", settings.exams_database_url, open_engine)
    items, found = bank.load()
    exams, more = catalog.load()
    if found or more:
        checks.append(Check("error", "exam bank", f"{len(found) + len(more)} problems: run "
                                                  "`qcampus exam validate` to see them."))
    else:
        checks.append(Check("ok", "exam bank", f"{len(exams)} exams from {len(items)} items"))
    return checks
