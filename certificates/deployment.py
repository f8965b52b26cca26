"""Prepare a deployment for certificates (the ``qcampus.init`` hook).

``qcampus init`` calls :func:`init`: it migrates the certificates database to
the newest schema, creates the revocation and suspension status lists, makes
sure the issuer has a signing key, and writes the service's secrets (session
key, issuer token for the exam service) with mode 0600, and finishes any
issuance a crash interrupted. Each step keeps what exists, so running ``init``
again changes nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from certificates import (
    ISSUER_TOKEN_FILE,
    SESSION_KEY_FILE,
    default_config,
    read_or_create_secret,
)
from certificates.db import make_engine, upgrade, write_session
from certificates.issuance import Issuer, finish_pending
from certificates.keys import KeyStore
from certificates.status import ensure_status_lists
from qcampus.settings import Settings

if TYPE_CHECKING:
    from qcampus.status import Check

KEYS_DIR = "issuer-keys"


def init(settings: Settings) -> None:
    """Migrate the database, create status lists, keys and secrets, finish reservations.

    A reservation is what a crash during issuing leaves (see
    :mod:`certificates.issuance`); finishing it here means the learner gets the
    credential even if the exam service never retries.
    """
    url = settings.certificates_database_url
    engine = make_engine(url)
    try:
        upgrade(url, engine=engine)
        with write_session(engine) as session:
            ensure_status_lists(session)
        KeyStore(settings.secrets / KEYS_DIR).ensure()
        read_or_create_secret(settings.secrets / SESSION_KEY_FILE)
        read_or_create_secret(settings.secrets / ISSUER_TOKEN_FILE)
        finish_pending(Issuer.from_config(default_config(settings=settings), engine))
    finally:
        engine.dispose()


def status_checks(settings: Settings) -> list[Check]:
    """Report the rate-limit store's directory if learners can reach it (``qcampus status``).

    The store's password lives in ``secrets/``, which the core checks; its socket
    and configuration live in ``<home>/redis/``, which only this package knows.
    """
    from certificates.ratelimit_store import StorePaths
    from qcampus.permissions import inspect_tree
    from qcampus.status import Check

    directory = StorePaths.of(settings.home, settings.secrets).directory
    if not directory.exists():
        return []
    exposures = inspect_tree(directory, f"chmod -R go-rwx {directory}")
    if not exposures:
        return [Check("ok", "rate-limit store", f"{directory} is closed to learners")]
    return [Check("error", "rate-limit store", exposure.describe()) for exposure in exposures]
