"""The certificate pages of the qcampus web service (entry point ``qcampus.web``).

:func:`init_app` adds the public verification pages and JSON API for employers,
the pages for learners and those for staff (instructors, examiners) to the
service :func:`web.create_app` builds, with the certificates database, the
issuer behind ``app.extensions["qcampus_issue"]`` and the verdict cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from qcampus.settings import Settings, for_app


def config_defaults(settings: Settings) -> dict[str, Any]:
    """Return the certificates' own keys of the service configuration for *settings*."""
    return {
        "DATABASE_URL": settings.certificates_database_url,
        "ISSUER_NAME": settings["certificates"]["issuer_name"],
        "KEYS_DIR": settings.secrets / "issuer-keys",
        "RATELIMIT_VERIFY": "120 per minute",
        "RATELIMIT_ISSUE": "600 per minute",
        # None: the checkout's courses/achievements.yaml.
        "ACHIEVEMENTS_PATH": None,
        # Examinations of credentials remembered per worker process (0: none).
        "VERDICT_CACHE_SIZE": 1024,
    }


def default_config(home: Path | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """Return the service configuration with the certificates' keys, as the service has it."""
    from qcampus import settings as settings_mod
    from web import default_config as web_config

    settings = settings or settings_mod.load(home)
    return {**web_config(settings=settings), **config_defaults(settings)}


def init_app(app: Flask) -> None:
    """Add the certificate pages, database, issuer and verdict cache to the service *app*."""
    from certificates import admin, api, db, issuance, learner, verdict_cache, verify
    from certificates.errors import CertificateError
    from web import error_response

    for key, value in config_defaults(for_app(app.config)).items():
        app.config.setdefault(key, value)
    app.config.setdefault("SITE_NAME", app.config["ISSUER_NAME"])
    app.config.setdefault("HOME_ENDPOINT", "verify.index")
    app.config.setdefault("HOME_LABEL", "Verify a certificate / 証明書の検証")
    db.init_app(app)
    issuance.init_app(app)
    verdict_cache.init_app(app)
    app.register_blueprint(verify.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(learner.bp)

    @app.errorhandler(CertificateError)
    def certificate_error(exc: CertificateError):
        return error_response(422, type(exc).__name__, exc.format_message())
