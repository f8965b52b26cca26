"""Exams in a deployment: the ``qcampus init`` step and the ``qcampus status`` checks.

Plugged into the core through the ``qcampus.init`` and ``qcampus.status`` entry
points: init migrates the attempts database; status says whether it is reachable
and whether the bank and catalog the service delivers from are usable.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from exams.db import open_engine
from qcampus.database import describe
from qcampus.permissions import inspect_tree
from qcampus.settings import Settings


def init(settings: Settings) -> None:
    """Create (or migrate) the attempts, answers and audit tables; a SQLite file only root reads."""
    url = settings.exams_database_url
    open_engine(url).dispose()
    path = sqlite_file(url)
    if path is not None:
        path.chmod(0o600)


def sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite *url*, or None for another database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def status_checks(settings: Settings):
    """Report the attempts database and how many exams the catalog offers (``qcampus status``)."""
    from exams import bank, catalog
    from qcampus.status import Check

    url = settings.exams_database_url
    checks = []
    path = sqlite_file(url)
    if path is not None and path.exists():
        # Candidates' answers: no learner may read another's (looked at before opening it).
        checks += [Check("error", "exams database", exposure.describe())
                   for exposure in inspect_tree(path, f"chmod 600 {path}")]
    try:
        open_engine(url).dispose()
        checks.append(Check("ok", "exams database", describe(url)))
    except SQLAlchemyError as exc:
        checks.append(Check("error", "exams database",
                            f"{describe(url)} cannot be opened ({type(exc).__name__}): check "
                            "exams.database_url, then run `qcampus init`."))
    items, found = bank.load()
    exams, more = catalog.load()
    if found or more:
        checks.append(Check("error", "exam bank", f"{len(found) + len(more)} problems: run "
                                                  "`qcampus exam validate` to see them."))
    else:
        checks.append(Check("ok", "exam bank", f"{len(exams)} exams from {len(items)} items"))
    return checks
