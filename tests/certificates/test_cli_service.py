"""The service commands of ``qcampus cert``: issue, revoke and backup."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from certificates import audit, issuance, status, verification
from certificates.db import make_engine, write_session
from certificates.models import Credential, utcnow
from qcampus.cli import cli
from tests.certificates.test_verify_pages import _outcome


@pytest.fixture
def run(deployment):
    """Return a runner of ``qcampus cert …`` on the prepared deployment."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, ["cert", *args, "--home", str(deployment.home)])

    return invoke


def test_issue_prints_only_the_token_on_stdout(run, client, service_issuer):
    """`cert issue` prints the VC-JWT alone on stdout; the page then says valid."""
    result = run("issue", "--learner", "alice", "--achievement", "gate-engineer-b1",
                 "--reason", "manual award")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.count(".") == 2 and "\n" not in token
    assert "Issued urn:uuid:" in result.stderr
    with write_session(service_issuer.engine) as session:
        row = session.scalar(select(Credential))
        assert row.token == token and row.issued_by.startswith("cli:")
    assert _outcome(client.get(f"/verify/{row.uuid}")) == "valid"


def test_issue_with_same_source_prints_the_same_token(run):
    """Re-running an issue for the same exam result prints the same credential."""
    args = ("issue", "--learner", "alice", "--achievement", "gate-engineer-b1",
            "--reason", "passed", "--source", "exam:9")
    assert run(*args).stdout == run(*args).stdout


@pytest.mark.parametrize(("args", "message"), [
    (("--achievement", "nope"), "nope"),
    (("--learner", "x" * 10_000), "at most 200"),
    (("--reason", "a\nb"), "printable"),
])
def test_issue_refuses_bad_input(run, service_issuer, args, message):
    """Unknown achievements and oversized or multi-line values are refused; nothing stored."""
    base = {"--learner": "alice", "--achievement": "gate-engineer-b1", "--reason": "r"}
    base[args[0]] = args[1]
    result = run("issue", *[part for pair in base.items() for part in pair])
    assert result.exit_code != 0 and message in result.output
    with write_session(service_issuer.engine) as session:
        assert session.scalars(select(Credential)).all() == []


def test_revoke_then_page_says_revoked(run, client, issue_credential):
    """`cert revoke` revokes with a category; the public page shows it."""
    issued = issue_credential()
    result = run("revoke", issued.credential_id, "--reason", "duplicate",
                 "--category", "superseded")
    assert result.exit_code == 0, result.output
    assert "Revoked" in result.output
    page = client.get(f"/verify/{issued.credential_id.removeprefix('urn:uuid:')}")
    assert _outcome(page) == "revoked" and "Superseded" in page.get_data(as_text=True)


def test_revoke_unknown_credential_fails_clearly(run):
    """Revoking an unknown id exits non-zero saying it does not exist."""
    result = run("revoke", "urn:uuid:00000000-0000-4000-8000-000000000000", "--reason", "x")
    assert result.exit_code == 30 and "does not exist" in result.output


def test_backup_while_issuing_restores_and_verifies(run, deployment, service_issuer,
                                                    issue_credential, tmp_path, catalogue):
    """A backup taken while credentials are being issued is intact and verifies."""
    for _ in range(5):
        issue_credential()
    stop = threading.Event()
    errors: list[BaseException] = []

    def keep_issuing() -> None:
        try:
            while not stop.is_set():
                issue_credential()
        except BaseException as exc:  # collected and asserted on in the test thread
            errors.append(exc)

    writer = threading.Thread(target=keep_issuing)
    writer.start()
    try:
        result = run("backup", str(tmp_path / "backup.sqlite"))
    finally:
        stop.set()
        writer.join()
    assert errors == []
    assert result.exit_code == 0, result.output
    copy = tmp_path / "backup.sqlite"
    assert sqlite3.connect(copy).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    engine = make_engine(f"sqlite:///{copy}")
    restored = issuance.Issuer(engine=engine, keystore=service_issuer.keystore,
                               public_url=service_issuer.public_url, name="qcampus",
                               catalogue=catalogue)
    with write_session(engine) as session:
        assert audit.verify_chain(session).records >= 5
        assert status.check_consistency(session) == []
        rows = session.scalars(select(Credential).where(Credential.token.is_not(None))).all()
    assert len(rows) >= 5
    with write_session(engine) as session:
        verdict = verification.verify(
            rows[0].token, keys=restored.trusted_keys(), issuer_id=restored.public_url,
            status=status.DatabaseStatusSource(restored, session), now=utcnow())
    assert verdict.outcome == "valid"
    engine.dispose()


def test_backup_refuses_to_overwrite(run, tmp_path):
    """A backup never overwrites an existing file."""
    target = tmp_path / "exists.sqlite"
    target.write_text("keep me")
    result = run("backup", str(target))
    assert result.exit_code != 0 and "exists" in result.output
    assert target.read_text() == "keep me"


def test_check_reports_a_sound_database(run, issue_credential):
    """`cert check` verifies the audit chain and the status lists."""
    issue_credential()
    result = run("check")
    assert result.exit_code == 0, result.output
    assert "1 records, chain verified" in result.output


def test_check_finds_an_altered_audit_record(run, service_issuer, issue_credential):
    """`cert check` fails, naming the record, when the audit log was altered."""
    issue_credential()
    with service_issuer.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        connection.exec_driver_sql("UPDATE audit_log SET actor = 'mallory'")
    result = run("check")
    assert result.exit_code == 27 and "record 1 was altered" in result.output
