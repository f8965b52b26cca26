"""The certificates step of ``qcampus init``: database, status lists, keys and the issuer token."""

from __future__ import annotations

import stat

from sqlalchemy import inspect, select

from certificates import db
from certificates import deployment as cert_deployment
from certificates.keys import KeyStore
from certificates.models import Model, StatusList
from qcampus import deployment as qcampus_deployment
from qcampus import settings as settings_module


def test_qcampus_init_runs_the_certificates_hook(qcampus_home):
    """`qcampus init` (with its entry-point hooks) prepares the certificates deployment."""
    from importlib.metadata import entry_points

    hooks = [ep.load() for ep in entry_points(group="qcampus.init") if ep.name == "certificates"]
    assert hooks == [cert_deployment.init]
    qcampus_deployment.init(qcampus_home, {}, hooks=hooks)
    settings = settings_module.load(qcampus_home, {})
    engine = db.make_engine(settings.certificates_database_url)
    try:
        assert set(Model.metadata.tables) <= set(inspect(engine).get_table_names())
        with db.write_session(engine) as session:
            lists = session.scalars(select(StatusList)).all()
    finally:
        engine.dispose()
    assert {(row.purpose, row.size) for row in lists} == {("revocation", 131_072),
                                                         ("suspension", 131_072)}
    assert KeyStore(settings.secrets / "issuer-keys").active()
    mode = stat.S_IMODE((settings.secrets / "certificates-issuer-token").stat().st_mode)
    assert mode == 0o600


def test_init_again_changes_nothing(qcampus_home):
    """A second init keeps the key, the secrets and the status lists."""
    qcampus_deployment.init(qcampus_home, {}, hooks=[cert_deployment.init])
    settings = settings_module.load(qcampus_home, {})
    kid = KeyStore(settings.secrets / "issuer-keys").active().kid
    token = (settings.secrets / "certificates-issuer-token").read_text()
    qcampus_deployment.init(qcampus_home, {}, hooks=[cert_deployment.init])
    assert KeyStore(settings.secrets / "issuer-keys").active().kid == kid
    assert (settings.secrets / "certificates-issuer-token").read_text() == token
