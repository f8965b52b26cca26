"""A SIGKILL at any step of issuing or revoking leaves a consistent database.

Each test runs the issuance in a child process that kills itself with SIGKILL
at one point (the function there is wrapped so the kill lands exactly between
two steps, or inside the final transaction before its commit), then checks
what a restarted service finds.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import select

from certificates import audit, issuance, status
from certificates.db import make_engine, write_session
from certificates.models import AuditRecord, Credential, StatusEvent
from tests.certificates.conftest import BOTH_DATABASES, SERVICE_URL

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from certificates import achievements, audit, issuance, status
    from certificates.db import make_engine
    from certificates.keys import KeyStore

    url, keys, point, action = sys.argv[1:5]
    issuer = issuance.Issuer(engine=make_engine(url), keystore=KeyStore(Path(keys)),
                             public_url=%(public)r, name="qcampus",
                             catalogue=achievements.load())

    def kill_before(function):
        def wrapper(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        return wrapper

    def kill_after(function):
        def wrapper(*args, **kwargs):
            function(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
        return wrapper

    if point == "before_sign":          # reserved and committed, not signed
        issuance._sign = kill_before(issuance._sign)
    elif point == "before_commit":      # signed in memory, nothing stored
        issuance._commit = kill_before(issuance._commit)
    elif point == "inside_commit":      # token and audit record written, not committed
        issuance.audit.append = kill_after(audit.append)

    request = issuance.IssueRequest(learner="alice", achievement_id="gate-engineer-b1",
                                    source="exam:crash", actor="exams", reason="passed")
    if action == "issue":
        issued = issuance.issue(issuer, request, idempotency=("exams", "crash"))
        print(issued.token, flush=True)
    else:
        credential_id = sys.argv[5]
        status.change_status(issuer, credential_id, "revoked", reason_category="other",
                               reason="crash test", actor="ada")
        print("revoked", flush=True)
""") % {"public": SERVICE_URL}

REQUEST = issuance.IssueRequest(learner="alice", achievement_id="gate-engineer-b1",
                                source="exam:crash", actor="exams", reason="passed")


def _run(deployment, point: str, action: str = "issue", *extra: str):
    return subprocess.run(
        [sys.executable, "-c", CHILD, deployment.certificates_database_url,
         str(deployment.secrets / "issuer-keys"), point, action, *extra],
        capture_output=True, text=True, timeout=120)


def _check_restart(service_issuer) -> None:
    """Check what a restarted service sees: an intact, consistent database."""
    engine = make_engine(service_issuer.engine.url.render_as_string(hide_password=False))
    try:
        with write_session(engine) as session:
            if engine.dialect.name == "sqlite":
                assert session.connection().exec_driver_sql(
                    "PRAGMA integrity_check").scalar() == "ok"
            assert status.check_consistency(session) == []
            audit.verify_chain(session)
            issued_ids = set(session.scalars(select(Credential.id)
                                             .where(Credential.token.is_not(None))))
            audited_ids = set(session.scalars(select(AuditRecord.credential_id)
                                              .where(AuditRecord.action == "issue")))
            # No credential was handed out or stored without its audit record, and back.
            assert issued_ids == audited_ids
    finally:
        engine.dispose()


@BOTH_DATABASES
@pytest.mark.parametrize("point", ["before_sign", "before_commit", "inside_commit"])
def test_kill_during_issuance_leaves_no_orphan(deployment, service_issuer, point):
    """After a kill the row is a reservation, no token escaped, and a retry finishes it."""
    child = _run(deployment, point)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert child.stdout == ""
    _check_restart(service_issuer)
    with write_session(service_issuer.engine) as session:
        rows = session.scalars(select(Credential)).all()
    assert len(rows) == 1 and rows[0].token is None

    retried = issuance.issue(service_issuer, REQUEST, idempotency=("exams", "crash"))
    assert retried.credential_id == rows[0].id
    _check_restart(service_issuer)
    with write_session(service_issuer.engine) as session:
        assert len(session.scalars(select(Credential)).all()) == 1


def test_pending_reservations_are_finished_on_demand(deployment, service_issuer):
    """finish_pending signs a reservation a crash left, with the same id and status index."""
    assert _run(deployment, "before_sign").returncode == -signal.SIGKILL
    with write_session(service_issuer.engine) as session:
        reserved = session.scalar(select(Credential))
    assert issuance.finish_pending(service_issuer) == [reserved.id]
    with write_session(service_issuer.engine) as session:
        done = session.scalar(select(Credential))
    assert done.token is not None and done.status_index == reserved.status_index
    _check_restart(service_issuer)


def test_two_finishers_of_one_reservation_agree(deployment, service_issuer):
    """Signing one reservation twice gives the same token (deterministic Ed25519)."""
    assert _run(deployment, "before_sign").returncode == -signal.SIGKILL
    with write_session(service_issuer.engine) as session:
        row = session.scalar(select(Credential))
    assert issuance._sign(service_issuer, row) == issuance._sign(service_issuer, row)


@BOTH_DATABASES
def test_kill_inside_revocation_changes_nothing(deployment, service_issuer):
    """A kill before the revocation commits leaves the credential active and consistent."""
    issued = issuance.issue(service_issuer, REQUEST)
    child = _run(deployment, "inside_commit", "revoke", issued.credential_id)
    assert child.returncode == -signal.SIGKILL, child.stderr
    _check_restart(service_issuer)
    with write_session(service_issuer.engine) as session:
        assert issuance.find(session, issued.credential_id).status == "active"
        assert session.scalars(select(StatusEvent)).all() == []


def test_init_finishes_an_interrupted_issuance(deployment, service_issuer):
    """`qcampus init` (run by `qcampus up`) signs what a crash left reserved."""
    from certificates import deployment as cert_deployment

    assert _run(deployment, "before_commit").returncode == -signal.SIGKILL
    cert_deployment.init(deployment)
    with write_session(service_issuer.engine) as session:
        row = session.scalar(select(Credential))
    assert row.token is not None
    _check_restart(service_issuer)
