"""Run the exams migrations (Alembic environment; see qcampus.database)."""

from __future__ import annotations

from exams import models as _models  # noqa: F401  (tables on Base)
from exams.db import VERSION_TABLE, Base
from qcampus.database import run_alembic_environment

run_alembic_environment(Base.metadata, version_table=VERSION_TABLE)
