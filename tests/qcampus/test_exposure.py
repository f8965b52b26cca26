"""qcampus status names every path learners could read, with its mode, owner and fix."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from qcampus import exposure
from qcampus import settings as settings_mod
from qcampus.cli import cli
from qcampus.deployment import init
from qcampus.status import Check
from tests.qcampus.test_permissions import make_sources


@pytest.fixture
def home(qcampus_home, tmp_path, monkeypatch):
    """Return an initialised deployment whose course sources live in a throwaway checkout."""
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(make_sources(tmp_path / "checkout")))
    init(qcampus_home, hooks=[])
    return qcampus_home


def status(home) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["status", "--home", str(home)])
    return result.exit_code, result.output


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("ERROR")]


def test_fresh_deployment_has_no_exposure(home):
    """After init nothing is open to learners, and status says so."""
    code, output = status(home)
    assert not [line for line in error_lines(output) if "mode" in line], output
    assert "permissions: course sources, course directories" in output


@pytest.mark.parametrize("relative, fix", [
    ("certificates.sqlite", "chmod 600 {path}"),
    ("certificates.sqlite-wal", "chmod 600 {path}"),
    ("secrets/issuer.pem", "chmod -R go-rwx {home}/secrets"),
    ("hub/jupyterhub.sqlite", "chmod -R go-rwx {home}/hub"),
    ("logs/jupyterhub.log", "chmod -R go-rwx {home}/logs"),
    ("roster.yaml", "chmod 600 {path}"),
    ("courses/alpha/gradebook.db", "`qcampus init` (or chmod -R o-rwx {home}/courses/alpha)"),
])
def test_a_world_readable_file_is_an_error_naming_mode_owner_and_fix(home, relative, fix):
    """Each private file left 0644 makes status exit 1 with the path, 0644, root:root and the fix."""
    path = home / relative
    path.write_text("private")
    os.chmod(path, 0o644)
    if relative.endswith("-wal"):
        (home / "certificates.sqlite").write_text("")
        os.chmod(home / "certificates.sqlite", 0o600)
    code, output = status(home)
    assert code == 1
    [line] = [line for line in error_lines(output) if str(path) in line]
    assert "(mode 0644, root:root)" in line
    assert fix.format(path=path, home=home) in line


def test_open_course_sources_and_history_are_errors(home, tmp_path):
    """A solution notebook or the checkout's .git open to others is named with `qcampus init`."""
    notebook = tmp_path / "checkout/courses/alpha/source/one/one.ipynb"
    os.chmod(notebook, 0o644)
    os.chmod(tmp_path / "checkout/.git", 0o755)
    code, output = status(home)
    assert code == 1
    errors = "\n".join(error_lines(output))
    assert f"{notebook} (mode 0644" in errors
    assert f"{tmp_path / 'checkout/.git'} (mode 0755) holds every committed solution" in errors
    assert "qcampus init" in errors


def test_many_exposures_are_counted_not_all_listed(home, tmp_path):
    """Past a few paths per tree, status counts the rest instead of flooding the screen."""
    source = tmp_path / "checkout/courses/alpha/source/one"
    for i in range(9):
        (source / f"extra{i}.txt").write_text("x")
        os.chmod(source / f"extra{i}.txt", 0o644)
    _, output = status(home)
    assert "and 4 more path(s) like these" in output


def test_password_in_a_readable_settings_file(home, monkeypatch):
    """A database password in a settings file every user reads is an error."""
    path = home / "settings.yaml"
    path.write_text(path.read_text().replace(
        "database_url: ''", "database_url: postgresql+psycopg://qc:s3cret@db/qc"))
    code, output = status(home)
    assert code == 1
    assert "holds a password" in output and f"chmod 600 {path}" in output


def test_password_of_the_database_server_in_a_readable_settings_file(home):
    """database.url with a password in a settings file every user reads is an error; never printed."""
    path = home / "settings.yaml"
    path.write_text(path.read_text().replace(
        "  url: ''", "  url: postgresql+psycopg://qc:s3cret@127.0.0.1:1/qc", 1))
    code, output = status(home)
    assert code == 1
    assert "database.url holds a password" in output and "QCAMPUS_DATABASE__URL" in output
    assert "s3cret" not in output


def test_an_older_shared_exchange_is_a_warning_until_closed(home):
    """A learner-writable exchange directory left by an older version is warned about until closed."""
    (home / "exchange" / "alpha" / "inbound").mkdir(parents=True)
    os.chmod(home / "exchange", 0o777)
    settings = settings_mod.load(home)
    [found] = exposure.exchange_checks(settings)
    assert found.level == "warn" and f"chmod 700 {home / 'exchange'}" in found.message
    os.chmod(home / "exchange", 0o700)
    assert exposure.exchange_checks(settings) == []


def test_shared_origin_is_a_warning(home, monkeypatch):
    """An empty hub.subdomain_host warns that every user shares one origin."""
    monkeypatch.setenv("QCAMPUS_HUB__SUBDOMAIN_HOST", "")
    _, output = status(home)
    assert "warn  origins: hub.subdomain_host is empty" in output


def test_packages_add_checks_through_hooks(home):
    """A package's status hook adds its findings; the core imports nothing of it."""
    def hook(settings):
        return [Check("error", "example", f"{settings.home} checked")]

    found = exposure.checks(settings_mod.load(home), hooks=[hook])
    assert Check("error", "example", f"{home} checked") in found


def test_code_others_can_change_is_an_error(home):
    """Servers' configuration (or any code root runs) writable by others is named with its fix."""
    config = home / "jupyter" / "learner" / "jupyter_server_config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("{}")
    os.chmod(config, 0o666)
    code, output = status(home)
    assert code == 1
    [line] = [line for line in error_lines(output) if str(config) in line]
    assert "(mode 0666, root:root) can be changed by every local user" in line
    assert f"chmod -R go-w {home / 'jupyter'}" in line


def test_code_roots_cover_environment_packages_and_configuration(home):
    """The environment, the project's package directories and the servers' configuration are checked."""
    settings = settings_mod.load(home)
    (home / "jupyter").mkdir(exist_ok=True)
    roots = exposure.code_roots(settings)
    assert home / "jupyter" in roots
    assert any((root / "permissions.py").is_file() for root in roots)  # qcampus itself
    assert exposure.package_dirs(["no_such_package_here"]) == []
