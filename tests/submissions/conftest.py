"""Fixtures of the submissions tests.

- ``submissions_url``: the URL of an empty submissions database; SQLite, and
  PostgreSQL (marked ``postgres``, one schema per test) when parametrised
  indirectly with ``"postgresql"`` (``@BOTH_DATABASES``).
- ``deployment``: the settings of a fresh deployment directory using that database.
- ``engine``: an engine on that database with every submissions table created.
- ``store``: the deployment's :class:`~submissions.exchange.store.Store`.
- ``notebook``: builds the bytes of a small nbformat 4 notebook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest

from qcampus import settings as settings_module
from qcampus.settings import Settings
from tests.databases import postgres_schema


@pytest.fixture
def submissions_url(request, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty submissions database (SQLite unless parametrised)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'submissions.sqlite'}"
        return
    with postgres_schema("s") as url:
        yield url


#: Parametrise a test over both databases.
BOTH_DATABASES = pytest.mark.parametrize(
    "submissions_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True)


@pytest.fixture
def deployment(tmp_path: Path, submissions_url: str) -> Settings:
    """Return the settings of a fresh deployment whose submissions live at *submissions_url*."""
    home = tmp_path / "home"
    home.mkdir()
    values = settings_module.merge({"submissions": {"database_url": submissions_url,
                                                    "max_notebook_mib": 1, "max_files": 3}})
    (home / settings_module.SETTINGS_FILE).write_text(settings_module.dump(values))
    return settings_module.load(home, {})


@pytest.fixture
def engine(deployment: Settings):
    """Yield an engine on the deployment's submissions database, tables created."""
    from submissions.db import open_engine

    engine = open_engine(deployment.submissions_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(deployment: Settings):
    """Return the deployment's exchange store."""
    from submissions.exchange.store import Store

    return Store.for_deployment(deployment)


@pytest.fixture
def notebook() -> Callable[..., bytes]:
    """Return a factory of notebook bytes: ``notebook("print(1)")``."""

    def make(*sources: str) -> bytes:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s, id=f"cell-{i}")
                                                for i, s in enumerate(sources)])
        return nbformat.writes(nb).encode("utf-8")

    return make
