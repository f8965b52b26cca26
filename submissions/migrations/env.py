"""Run the submissions migrations (Alembic environment; see qcampus.database)."""

from __future__ import annotations

from qcampus.database import run_alembic_environment
from submissions.db import VERSION_TABLE, Base
from submissions.exchange import models as _exchange  # noqa: F401  (tables on Base)
from submissions.grading import models as _grading  # noqa: F401

run_alembic_environment(Base.metadata, version_table=VERSION_TABLE)
