"""Run the web migrations (Alembic environment; see qcampus.database)."""

from __future__ import annotations

from qcampus.database import run_alembic_environment
from web import models as _models  # noqa: F401  (tables on Base)
from web.db import VERSION_TABLE, Base

run_alembic_environment(Base.metadata, version_table=VERSION_TABLE)
