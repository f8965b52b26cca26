"""The exchange in a deployment: its init step, releases from the command line, status.

Plugged into the core through entry points: ``qcampus.init`` (create the
root-only store and the tables), ``qcampus.exchange`` (this module's
:func:`release` and :func:`released`, used by ``qcampus courses release`` and
``list`` as root on the service's machine) and ``qcampus.status``.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from qcampus.database import write_session
from qcampus.settings import Settings
from submissions.db import open_engine
from submissions.errors import SubmissionError
from submissions.exchange.store import Store


def init(settings: Settings) -> None:
    """Create the root-only store directory and the submissions tables."""
    store = Store.for_deployment(settings)
    store.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(store.root, 0o700)
    open_engine(settings.submissions_database_url).dispose()


def release(settings: Settings, course: str, assignment: str, directory: Path) -> str:
    """Release the generated notebooks in *directory* as a new version; return where they are."""
    files = {p.name: p.read_bytes() for p in sorted(Path(directory).glob("*.ipynb")) if p.is_file()}
    store = Store.for_deployment(settings)
    engine = open_engine(settings.submissions_database_url)
    try:
        with write_session(engine) as session:
            row = store.release(session, course, assignment, files, released_by="qcampus")
            return f"the exchange, version {row.version}"
    finally:
        engine.dispose()


def released(settings: Settings, course: str) -> set[str]:
    """Return the ids of the assignments of *course* learners can fetch now."""
    from sqlalchemy.orm import Session

    try:
        engine = open_engine(settings.submissions_database_url)
        try:
            with Session(engine) as session:
                return {r.assignment for r in Store.for_deployment(settings).releases(session, course)}
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        where = settings.submissions_database_url.split("@")[-1]  # never the password
        raise SubmissionError(f"The submissions database ({where}) cannot be read: "
                              f"{exc.__class__.__name__}. Check "
                              f"submissions.database_url in settings.yaml.") from exc


def status_checks(settings: Settings):
    """Report the store if anyone but root can reach it (``qcampus status``)."""
    from qcampus.permissions import inspect_tree
    from qcampus.status import Check

    root = Store.for_deployment(settings).root
    if not root.exists():
        return [Check("warn", "exchange store", f"{root} does not exist yet: run `qcampus init`.")]
    exposures = inspect_tree(root, f"chown -R root: {root} && chmod -R go-rwx {root}")
    if not exposures:
        return [Check("ok", "exchange store", f"{root} is closed to everyone but root")]
    return [Check("error", "exchange store", exposure.describe()) for exposure in exposures]
