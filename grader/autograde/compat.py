"""Every patch of nbgrader's (and jsonschema's) internals the grader uses, in one place.

Each patch applies only to the nbgrader versions it was written and tested
against (:data:`TESTED_NBGRADER`); on any other version it leaves nbgrader's
stock behaviour alone, except where stock behaviour would be unsafe (running
learner code in an instructor's server), where it refuses with a message.

Shared engines
--------------
One SQLAlchemy engine per gradebook URL, its schema and course checked once, for a grading worker.

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

Cached metadata schema
----------------------
nbgrader's cell-metadata schema checked once per worker, not once per cell.

nbgrader validates every graded cell's ``nbgrader`` metadata with
``jsonschema.validate``, which first checks the schema itself against the
JSON Schema meta-schema: two thirds of the time of ``CheckCellMetadata``,
which runs twice per notebook. Inside a worker process, and only there, the
validator for each distinct schema is built (and the schema checked) once,
then reused; the instance is validated exactly as ``jsonschema.validate``
does, and the same error (``best_match``) is raised for invalid metadata.

Formgrader's Autograde
----------------------
Formgrader's *Autograde* button runs ``NbGraderAPI.autograde`` inside the
instructor's server: the learner's code would run as the instructor, next to
the answer keys and hidden tests. :func:`route_formgrader_autograde` replaces
that method with a callable that hands the submission to the sandboxed
grading service and answers formgrader in the format it expects.
"""

from __future__ import annotations

import contextlib
import json
import sys
import types
from collections.abc import Callable, Iterator

#: nbgrader releases whose internals these patches were written for.
TESTED_NBGRADER = ("0.9.",)


def nbgrader_is_tested() -> bool:
    """Tell whether the installed nbgrader is one these patches were written for."""
    from nbgrader import __version__

    return __version__.startswith(TESTED_NBGRADER)


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

    if not nbgrader_is_tested():
        yield
        return

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


@contextlib.contextmanager
def cached_metadata_schema() -> Iterator[None]:
    """Within the block, nbgrader's metadata validation reuses one validator per schema."""
    import jsonschema
    import nbgrader.nbgraderformat.common as common

    if not nbgrader_is_tested():
        yield
        return

    validators: dict[str, object] = {}

    def validate(instance, schema, cls=None, *args, **kwargs):
        if cls is not None or args or kwargs:
            return jsonschema.validate(instance, schema, cls, *args, **kwargs)
        key = json.dumps(schema, sort_keys=True)
        validator = validators.get(key)
        if validator is None:
            kind = jsonschema.validators.validator_for(schema)
            kind.check_schema(schema)
            validator = validators[key] = kind(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error
        return None

    original = common.jsonschema
    common.jsonschema = types.SimpleNamespace(validate=validate)
    try:
        yield
    finally:
        common.jsonschema = original


#: Imported by jsonschema only for its optional "iri" format checker, whose grammar takes
#: about 2 s to build at import; nbformat and nbgrader never check formats.
UNUSED_AT_IMPORT = ("rfc3987_syntax",)


@contextlib.contextmanager
def without_format_grammars() -> Iterator[None]:
    """Within the block, a first import of jsonschema skips building the IRI format grammar."""
    blocked = [name for name in UNUSED_AT_IMPORT
               if "jsonschema" not in sys.modules and name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # an import of it raises ImportError, which jsonschema skips
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def route_formgrader_autograde(grade: Callable[..., dict]) -> bool:
    """Make formgrader's *Autograde* call *grade(api, assignment_id, student_id)* instead.

    *api* is formgrader's ``NbGraderAPI`` (its ``coursedir``, ``authenticator``, ``config``).

    *grade* returns formgrader's answer (``{"success": bool, "log": str, "error": str}``).
    On an nbgrader these patches were not written for, the button refuses instead,
    since stock behaviour would run the learner's code in the instructor's server.

    Returns:
        Whether the installed nbgrader is a tested one.
    """
    from nbgrader.apps.api import NbGraderAPI

    tested = nbgrader_is_tested()

    def autograde(self, assignment_id, student_id, force=True, create=True):
        if not tested:
            return {"success": False, "error": (
                "Autograde is switched off here: this nbgrader version is not supported by "
                "qcampus. Run `qcampus grading regrade ASSIGNMENT --student NAME` on the "
                "service's machine. / この nbgrader では自動採点ボタンを使えません。")}
        return grade(self, assignment_id, student_id)

    NbGraderAPI.autograde = autograde
    return tested
