"""One SQLAlchemy engine per gradebook URL for the life of a grading worker.

nbgrader opens a new ``Gradebook`` (and so a new engine) about ten times per
submission; a new engine starts with an empty SQL compilation cache, which is
a third of nbgrader's own time per submission. Inside a worker process, and
only there, ``nbgrader.api.create_engine`` hands back the engine it made the
first time for that URL. The SQL and the rows written are unchanged;
``Gradebook.close()`` still disposes of the connection pool, and the next use
opens a fresh connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def shared_engines() -> Iterator[None]:
    """Within the block, reuse one engine per database URL for nbgrader's gradebook."""
    import nbgrader.api

    create = nbgrader.api.create_engine
    engines = {}

    def create_engine(url, *args, **kwargs):
        key = (str(url), tuple(args), tuple(sorted(kwargs.items())))
        if key not in engines:
            engines[key] = create(url, *args, **kwargs)
        return engines[key]

    nbgrader.api.create_engine = create_engine
    try:
        yield
    finally:
        nbgrader.api.create_engine = create
        for engine in engines.values():
            engine.dispose()
