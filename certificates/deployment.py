"""Prepare a deployment for certificates (the ``qcampus.init`` hook).

``qcampus init`` calls :func:`init`: it migrates the certificates database to
the newest schema, creates the revocation and suspension status lists, makes
sure the issuer has a signing key, and writes the service's secrets (session
key, issuer token for the exam service) with mode 0600. Each step keeps what
exists, so running ``init`` again changes nothing.
"""

from __future__ import annotations

from certificates import ISSUER_TOKEN_FILE, SESSION_KEY_FILE, read_or_create_secret
from certificates.db import make_engine, upgrade, write_session
from certificates.issuance import ensure_status_lists
from certificates.keys import KeyStore
from qcampus.settings import Settings

KEYS_DIR = "issuer-keys"


def init(settings: Settings) -> None:
    """Migrate the certificates database, create status lists, keys and secrets."""
    url = settings.certificates_database_url
    engine = make_engine(url)
    try:
        upgrade(url, engine=engine)
        with write_session(engine) as session:
            ensure_status_lists(session)
    finally:
        engine.dispose()
    KeyStore(settings.secrets / KEYS_DIR).ensure()
    read_or_create_secret(settings.secrets / SESSION_KEY_FILE)
    read_or_create_secret(settings.secrets / ISSUER_TOKEN_FILE)
