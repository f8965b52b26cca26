"""Prepare a deployment for certificates (the ``qcampus.init`` hook).

``qcampus init`` calls :func:`init`: it migrates the certificates database to
the newest schema, creates the revocation and suspension status lists, makes
sure the issuer has a signing key, writes the issuer token for the exam service
with mode 0600, and finishes any issuance a crash interrupted. Each step keeps
what exists, so running ``init`` again changes nothing else.
"""

from __future__ import annotations

from certificates import ISSUER_TOKEN_FILE
from certificates.db import make_engine, upgrade, write_session
from certificates.issuance import Issuer, finish_pending
from certificates.keys import KeyStore
from certificates.status import ensure_status_lists
from certificates.web import default_config
from qcampus.permissions import read_or_create_secret
from qcampus.settings import Settings

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
        read_or_create_secret(settings.secrets / ISSUER_TOKEN_FILE)
        finish_pending(Issuer.from_config(default_config(settings=settings), engine))
    finally:
        engine.dispose()
