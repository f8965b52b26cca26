"""The certificate pages as a plugin of the qcampus web service."""

from __future__ import annotations

from importlib.metadata import entry_points

from certificates.web import default_config, init_app


def test_certificates_plug_into_the_web_service():
    """The certificate pages are added through the ``qcampus.web`` entry point."""
    (entry,) = [e for e in entry_points(group="qcampus.web") if e.name == "certificates"]
    assert entry.load() is init_app


def test_service_configuration_adds_the_certificates_keys(deployment):
    """The certificates' own keys come from the deployment, beside the web service's."""
    config = default_config(deployment.home)
    assert config["DATABASE_URL"] == deployment.certificates_database_url
    assert config["KEYS_DIR"] == deployment.secrets / "issuer-keys"
    assert config["PUBLIC_URL"] == deployment.public_url
    assert config["WEB_DATABASE_URL"] == deployment.web_database_url


def test_app_gets_the_certificates_pages_and_issuer(app):
    """The plugin registers its blueprints, issuer hook and verdict cache on the app."""
    assert {"verify", "api", "admin", "learner"} <= set(app.blueprints)
    assert callable(app.extensions["qcampus_issue"])
    assert "qcampus_verdicts" in app.extensions
    assert app.config["HOME_ENDPOINT"] == "verify.index"


def test_plugin_keys_keep_test_overrides(deployment, hub):
    """A key the test (or the environment) gives wins over the plugin's default."""
    from web import create_app

    service = create_app({"QCAMPUS_HOME": deployment.home, "RATELIMIT_STORAGE_URI": "memory://",
                          "HUB_AUTH": hub, "RATELIMIT_VERIFY": "1 per minute",
                          "WEB_PLUGINS": ["certificates"]})
    try:
        assert service.config["RATELIMIT_VERIFY"] == "1 per minute"
        assert service.config["VERDICT_CACHE_SIZE"] == 1024
    finally:
        service.extensions["qcampus_engine"].dispose()
        service.extensions["qcampus_web_engine"].dispose()
