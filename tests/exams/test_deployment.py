"""The exams' init step and status checks in a deployment."""

from __future__ import annotations

from exams import deployment
from qcampus import settings as settings_module


def _deployment(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / settings_module.SETTINGS_FILE).write_text(settings_module.dump(settings_module.merge({})))
    return settings_module.load(home, {})


def test_init_creates_a_database_only_root_reads_and_status_says_so(tmp_path):
    settings = _deployment(tmp_path)
    deployment.init(settings)
    path = settings.home / "exams.sqlite"
    assert path.stat().st_mode & 0o777 == 0o600
    checks = {c.subject: c for c in deployment.status_checks(settings)}
    assert checks["exams database"].level == "ok" and str(path) in checks["exams database"].message
    assert checks["exam bank"].level == "ok" and "exams from" in checks["exam bank"].message


def test_an_unreachable_database_is_an_error_that_says_what_to_do(tmp_path):
    settings = _deployment(tmp_path)
    broken = settings_module.load(settings.home, {
        "QCAMPUS_EXAMS__DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/exams"})
    [check] = [c for c in deployment.status_checks(broken) if c.subject == "exams database"]
    assert check.level == "error" and "qcampus init" in check.message
