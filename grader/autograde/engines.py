"""One SQLAlchemy engine per gradebook URL, and its schema checked once, for a grading worker.

nbgrader opens a new ``Gradebook`` (and so a new engine) about ten times per
submission; a new engine starts with an empty SQL compilation cache, which is
a third of nbgrader's own time per submission. Each ``Gradebook`` also lists
the database's tables and runs ``create_all`` (one query per table) to create
any that are missing. Inside a worker process, and only there,
``nbgrader.api.create_engine`` hands back the engine it made the first time
for that URL, and once that engine's tables exist, the table listing is
answered from memory and ``create_all`` is skipped. The SQL of every read and
write and the rows written are unchanged; ``Gradebook.close()`` still
disposes of the connection pool, and the next use opens a fresh connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class _KnownTables:
    """Stands in for an inspector of a gradebook whose tables are known to exist."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def get_table_names(self, schema: str | None = None, **kw: object) -> list[str]:
        return list(self.names)


@contextlib.contextmanager
def shared_engines() -> Iterator[None]:
    """Within the block, reuse one engine per database URL for nbgrader's gradebook."""
    import nbgrader.api

    create, inspect = nbgrader.api.create_engine, nbgrader.api.inspect
    metadata = nbgrader.api.Base.metadata
    engines = {}
    #: id(engine) -> table names, for engines whose schema create_all has completed.
    ready: dict[int, list[str]] = {}

    def create_engine(url, *args, **kwargs):
        key = (str(url), tuple(args), tuple(sorted(kwargs.items())))
        if key not in engines:
            engines[key] = create(url, *args, **kwargs)
        return engines[key]

    def inspect_known(subject, *args, **kwargs):
        if id(subject) in ready and any(subject is e for e in engines.values()):
            return _KnownTables(ready[id(subject)])
        return inspect(subject, *args, **kwargs)

    def create_all(bind=None, tables=None, checkfirst=True):
        if tables is None and checkfirst and id(bind) in ready:
            return
        type(metadata).create_all(metadata, bind=bind, tables=tables, checkfirst=checkfirst)
        if tables is None and any(bind is e for e in engines.values()):
            ready[id(bind)] = inspect(bind).get_table_names()

    nbgrader.api.create_engine = create_engine
    nbgrader.api.inspect = inspect_known
    metadata.create_all = create_all
    try:
        yield
    finally:
        nbgrader.api.create_engine = create
        nbgrader.api.inspect = inspect
        del metadata.create_all
        for engine in engines.values():
            engine.dispose()
