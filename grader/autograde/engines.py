"""One SQLAlchemy engine per gradebook URL, its schema and course checked once, for a grading worker.

nbgrader opens a new ``Gradebook`` (and so a new engine) about ten times per
submission; a new engine starts with an empty SQL compilation cache, which is
a third of nbgrader's own time per submission. Each ``Gradebook`` also lists
the database's tables and runs ``create_all`` (one query per table) to create
any that are missing, then looks up its course (and commits), and closing it
disposes of the engine's connections. Inside a worker process, and only
there, ``nbgrader.api.create_engine`` hands back the engine it made the first
time for that URL; once that engine's tables exist, the table listing is
answered from memory and ``create_all`` is skipped; once a course has been
checked on that engine, ``Gradebook.check_course`` for it returns None without
a query (nbgrader calls it only from ``Gradebook.__init__``, which ignores the
result); and ``Gradebook.close()`` ends the session but keeps the engine's
pooled connection for the next ``Gradebook``, until the block ends. The SQL of
every read and write and the rows written are unchanged.
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
    gradebook = nbgrader.api.Gradebook
    check_course, close = gradebook.check_course, gradebook.close
    metadata = nbgrader.api.Base.metadata
    engines = {}
    #: id(engine) -> table names, for engines whose schema create_all has completed.
    ready: dict[int, list[str]] = {}
    #: (id(engine), course id) of courses known to exist.
    courses: set[tuple[int, str]] = set()

    def shared(engine) -> bool:
        return any(engine is e for e in engines.values())

    def create_engine(url, *args, **kwargs):
        key = (str(url), tuple(args), tuple(sorted(kwargs.items())))
        if key not in engines:
            engines[key] = create(url, *args, **kwargs)
        return engines[key]

    def inspect_known(subject, *args, **kwargs):
        if id(subject) in ready and shared(subject):
            return _KnownTables(ready[id(subject)])
        return inspect(subject, *args, **kwargs)

    def create_all(bind=None, tables=None, checkfirst=True):
        if tables is None and checkfirst and id(bind) in ready:
            return
        type(metadata).create_all(metadata, bind=bind, tables=tables, checkfirst=checkfirst)
        if tables is None and shared(bind):
            ready[id(bind)] = inspect(bind).get_table_names()

    def check_course_once(self, course_id="default_course", **kwargs):
        key = (id(self.engine), course_id)
        if kwargs or key not in courses or not shared(self.engine):
            course = check_course(self, course_id=course_id, **kwargs)
            if shared(self.engine):
                courses.add(key)
            return course
        return None

    def close_session(self):
        if not shared(self.engine):
            return close(self)
        self.db.remove()
        return None

    nbgrader.api.create_engine = create_engine
    nbgrader.api.inspect = inspect_known
    metadata.create_all = create_all
    gradebook.check_course, gradebook.close = check_course_once, close_session
    try:
        yield
    finally:
        nbgrader.api.create_engine = create
        nbgrader.api.inspect = inspect
        del metadata.create_all
        gradebook.check_course, gradebook.close = check_course, close
        for engine in engines.values():
            engine.dispose()
