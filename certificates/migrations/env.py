"""Run the certificates migrations (Alembic environment).

The URL comes from :func:`certificates.db.alembic_config`; an engine passed in
its ``attributes`` (tests, ``qcampus init``) is used as is. SQLite runs in
batch mode, so column changes become table copies it understands.
"""

from __future__ import annotations

from alembic import context

from certificates.db import make_engine
from certificates.models import Model

config = context.config
target_metadata = Model.metadata


def run_migrations_offline() -> None:
    """Emit the migration SQL without a database connection."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection."""
    given = config.attributes.get("engine")
    engine = given or make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.execution_options(qcampus_write=True).connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=connection.dialect.name == "sqlite",
                              compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if given is None:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
