"""nbgrader's metadata validation with one validator per schema: same verdicts, same errors."""

from __future__ import annotations

import subprocess
import sys

import jsonschema
import nbgrader.nbgraderformat.common as common
import pytest
from nbformat.v4 import new_code_cell
from nbgrader.nbgraderformat import MetadataValidator

from grader.autograde.engines import shared_engines
from grader.autograde.schema import cached_metadata_schema
from tests.grader.autograde.conftest import nbgrader_env


def _cell(**nbgrader) -> object:
    meta = {"grade": True, "solution": False, "locked": True, "schema_version": 3,
            "grade_id": "test", "points": 2, **nbgrader}
    return new_code_cell("assert True", metadata={"nbgrader": meta})


def test_valid_metadata_passes_and_the_patch_is_undone():
    """Valid metadata validates inside the block; nbgrader's module is restored after it."""
    original = common.jsonschema
    with cached_metadata_schema():
        MetadataValidator().validate_cell(_cell())
        MetadataValidator().validate_cell(_cell(points=3))
    assert common.jsonschema is original


@pytest.mark.parametrize("change", [{"points": "two"}, {"grade_id": 7}, {"locked": "yes"}])
def test_invalid_metadata_raises_the_same_error_as_jsonschema(change):
    """Invalid metadata raises the error plain jsonschema.validate raises, message and path."""
    with pytest.raises(jsonschema.ValidationError) as stock:
        MetadataValidator().validate_cell(_cell(**change))
    with cached_metadata_schema(), pytest.raises(jsonschema.ValidationError) as cached:
        MetadataValidator().validate_cell(_cell(**change))
    assert (cached.value.message, list(cached.value.path)) == (stock.value.message,
                                                               list(stock.value.path))


def test_shared_engines_reuse_the_schema_and_write_the_same_rows(tmp_path, monkeypatch):
    """Gradebooks opened inside the block reuse one engine and still read and write rows."""
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", nbgrader_env()["PATH"])  # a new gradebook runs alembic
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with shared_engines():
        with Gradebook(url, "course") as gb:
            gb.add_student("alice")
        with Gradebook(url, "course") as gb:
            gb.add_student("bob")
            engine = gb.engine
        with Gradebook(url, "course") as gb:
            assert gb.engine is engine
            assert sorted(s.id for s in gb.students) == ["alice", "bob"]
    with Gradebook(url, "course") as gb:
        assert sorted(s.id for s in gb.students) == ["alice", "bob"]


def test_first_import_of_jsonschema_skips_the_iri_grammar_only_inside_the_block():
    """A fresh process imports nbgrader without the IRI grammar, and can still import it later."""
    code = ("import sys\n"
            "from grader.autograde.schema import without_format_grammars\n"
            "with without_format_grammars():\n"
            "    import nbgrader.converters\n"
            "assert 'rfc3987_syntax' not in sys.modules\n"
            "import rfc3987_syntax\n"
            "import jsonschema\n"
            "jsonschema.validate({'a': 1}, {'type': 'object'})\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_shared_engines_check_each_course_once_and_restore_nbgrader(tmp_path, monkeypatch):
    """A known course is not queried again; an unknown one is still created; nbgrader is restored."""
    from nbgrader.api import Course, Gradebook
    from sqlalchemy import event

    monkeypatch.setenv("PATH", nbgrader_env()["PATH"])
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    original = (Gradebook.check_course, Gradebook.close)
    statements: list[str] = []
    with shared_engines():
        with Gradebook(url, "course") as gb:
            event.listen(gb.engine, "before_cursor_execute",
                         lambda conn, cursor, sql, *args: statements.append(sql))
        with Gradebook(url, "course"):
            pass
        assert statements == []
        with Gradebook(url, "other") as gb:
            assert statements and sorted(c.id for c in gb.db.query(Course)) == ["course",
                                                                                 "other"]
    assert (Gradebook.check_course, Gradebook.close) == original
    with Gradebook(url, "third") as gb:
        assert sorted(c.id for c in gb.db.query(Course)) == ["course", "other", "third"]
