"""nbgrader's cell-metadata schema checked once per worker, not once per cell.

nbgrader validates every graded cell's ``nbgrader`` metadata with
``jsonschema.validate``, which first checks the schema itself against the
JSON Schema meta-schema: two thirds of the time of ``CheckCellMetadata``,
which runs twice per notebook. Inside a worker process, and only there, the
validator for each distinct schema is built (and the schema checked) once,
then reused; the instance is validated exactly as ``jsonschema.validate``
does, and the same error (``best_match``) is raised for invalid metadata.
"""

from __future__ import annotations

import contextlib
import json
import sys
import types
from collections.abc import Iterator


@contextlib.contextmanager
def cached_metadata_schema() -> Iterator[None]:
    """Within the block, nbgrader's metadata validation reuses one validator per schema."""
    import jsonschema
    import nbgrader.nbgraderformat.common as common

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
