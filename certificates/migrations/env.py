"""Run the certificates migrations (Alembic environment; see qcampus.database)."""

from __future__ import annotations

from certificates.models import Model
from qcampus.database import run_alembic_environment

run_alembic_environment(Model.metadata)
