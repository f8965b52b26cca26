"""The web service's init step and status checks in a deployment."""

from __future__ import annotations

import stat
from importlib.metadata import entry_points

from qcampus import deployment as qcampus_deployment
from qcampus import settings as settings_module
from tests.databases import table_names
from web import deployment
from web.db import VERSION_TABLE, Base


def test_qcampus_init_creates_the_web_database(qcampus_home):
    """`qcampus init` (through its entry points) creates web.sqlite 0600 with the sessions tables."""
    hooks = [ep.load() for ep in entry_points(group="qcampus.init") if ep.name == "web"]
    assert hooks == [deployment.init]
    qcampus_deployment.init(qcampus_home, {}, hooks=hooks)
    settings = settings_module.load(qcampus_home, {})
    path = settings.home / "web.sqlite"
    assert settings.web_database_url == f"sqlite:///{path}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert table_names(settings.web_database_url) == {*Base.metadata.tables, VERSION_TABLE}
    assert set(Base.metadata.tables) == {"web_sessions", "web_ended_sessions"}
    key = settings.secrets / "certificates-session-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_init_again_keeps_the_session_key(qcampus_home):
    """A second init migrates nothing new and keeps the key every signed-in browser relies on."""
    qcampus_deployment.init(qcampus_home, {}, hooks=[deployment.init])
    settings = settings_module.load(qcampus_home, {})
    key = (settings.secrets / "certificates-session-key").read_text()
    qcampus_deployment.init(qcampus_home, {}, hooks=[deployment.init])
    assert (settings.secrets / "certificates-session-key").read_text() == key


def test_status_says_the_database_is_ready(qcampus_home):
    """After init, `qcampus status` finds the web database and says where it is."""
    qcampus_deployment.init(qcampus_home, {}, hooks=[deployment.init])
    settings = settings_module.load(qcampus_home, {})
    checks = {c.subject: c for c in deployment.status_checks(settings)}
    assert checks["web database"].level == "ok"
    assert str(settings.home / "web.sqlite") in checks["web database"].message


def test_status_names_a_database_learners_can_read(qcampus_home):
    """A web.sqlite others can read is an error whose message says how to close it."""
    qcampus_deployment.init(qcampus_home, {}, hooks=[deployment.init])
    settings = settings_module.load(qcampus_home, {})
    (settings.home / "web.sqlite").chmod(0o644)
    found = [c for c in deployment.status_checks(settings) if c.subject == "web database"]
    assert "error" in [c.level for c in found]
    assert any("chmod 600" in c.message for c in found)


def test_an_unreachable_database_is_an_error_that_says_what_to_do(qcampus_home):
    """A database that cannot be opened names the setting to check and the command to run."""
    broken = settings_module.load(qcampus_home, {
        "QCAMPUS_WEB__DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/web"})
    [check] = [c for c in deployment.status_checks(broken) if c.subject == "web database"]
    assert check.level == "error"
    assert "web.database_url" in check.message and "qcampus init" in check.message


def test_status_names_a_rate_limit_store_open_to_learners(qcampus_home):
    """`qcampus status` reports the store's directory when others can enter it, and ok when closed."""
    from qcampus import exposure
    from web.ratelimit_store import StorePaths

    loaded = settings_module.load(qcampus_home, {})
    directory = StorePaths.of(loaded.home, loaded.secrets).directory
    directory.mkdir(parents=True)
    directory.chmod(0o755)
    # Through the qcampus.status entry point, as `qcampus status` runs it.
    found = [c for c in exposure.run_hooks(loaded) if c.subject == "rate-limit store"]
    assert [c.level for c in found] == ["error"]
    assert str(directory) in found[0].message and "chmod -R go-rwx" in found[0].message
    directory.chmod(0o700)
    assert [c.level for c in deployment.status_checks(loaded)
            if c.subject == "rate-limit store"] == ["ok"]
