"""The web service's Alembic migrations: reversible, identical to the models, own version table."""

from __future__ import annotations

import pytest
from alembic import command

from qcampus.database import alembic_config
from tests.databases import postgres_schema, table_names
from web.db import MIGRATIONS, VERSION_TABLE, Base, open_engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    """Yield the URL of an empty database, SQLite and PostgreSQL (one schema per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'web.sqlite'}"
        return
    with postgres_schema("w") as schema_url:
        yield schema_url


def test_upgrade_downgrade_upgrade_leaves_no_diff(url):
    """Upgrade → downgrade → upgrade works and `alembic check` finds no model change."""
    open_engine(url).dispose()
    assert table_names(url) == {*Base.metadata.tables, VERSION_TABLE}
    config = alembic_config(MIGRATIONS, url)
    command.downgrade(config, "base")
    assert table_names(url) == {VERSION_TABLE}
    command.upgrade(config, "head")
    assert table_names(url) == {*Base.metadata.tables, VERSION_TABLE}
    command.check(config)


def test_shares_a_database_with_the_certificates(url):
    """Each package keeps its own version table, so both migrate one database independently."""
    from certificates import db as certificates_db
    from certificates.models import Model

    certificates_db.upgrade(url)
    open_engine(url).dispose()
    assert table_names(url) == {*Model.metadata.tables, *Base.metadata.tables,
                            "alembic_version", VERSION_TABLE}
