"""nbgrader's metadata validation with one validator per schema: same verdicts, same errors."""

from __future__ import annotations

import os
import subprocess
import sys

import jsonschema
import nbgrader.nbgraderformat.common as common
import pytest
from nbformat.v4 import new_code_cell
from nbgrader.nbgraderformat import MetadataValidator

from grader.autograde.compat import cached_metadata_schema, shared_engines
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


def test_first_import_of_jsonschema_skips_the_iri_grammar_only_inside_the_block(tmp_path):
    """A fresh process imports nbgrader without the IRI grammar, and can still import it later.

    scripts/bootstrap removes rfc3987-syntax from qcampus's environment; a stand-in on
    the path plays an environment that has it (its import is what costs the time).
    """
    (tmp_path / "rfc3987_syntax.py").write_text(
        "def is_valid_syntax(rule, value):\n    return True\n", encoding="utf-8")
    code = ("import sys\n"
            "from grader.autograde.compat import without_format_grammars\n"
            "with without_format_grammars():\n"
            "    import nbgrader.converters\n"
            "assert 'rfc3987_syntax' not in sys.modules\n"
            "import rfc3987_syntax\n"
            "import jsonschema\n"
            "jsonschema.validate({'a': 1}, {'type': 'object'})\n")
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(tmp_path), os.environ.get("PYTHONPATH", "")]))}
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env=environ)


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


def test_untested_nbgrader_gets_stock_behaviour(monkeypatch):
    """On an nbgrader these patches were not written for, the gradebook patches change nothing."""
    import nbgrader
    import nbgrader.api

    from grader.autograde import compat

    monkeypatch.setattr(nbgrader, "__version__", "0.10.0")
    create = nbgrader.api.create_engine
    with compat.shared_engines(), compat.cached_metadata_schema():
        assert nbgrader.api.create_engine is create
        assert common.jsonschema is jsonschema


def test_formgrader_autograde_goes_to_the_given_grader(monkeypatch, tmp_path):
    """Formgrader's Autograde calls the routed function with its API, the assignment and the student."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from grader.autograde import compat

    monkeypatch.setattr(NbGraderAPI, "autograde", NbGraderAPI.autograde)
    calls = []
    assert compat.route_formgrader_autograde(
        lambda api, *args: calls.append((api.coursedir.course_id, *args))
        or {"success": True, "log": "queued"})
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    config.CourseDirectory.course_id = "foundations"
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    assert api.autograde("first-circuits", "alice") == {"success": True, "log": "queued"}
    assert calls == [("foundations", "first-circuits", "alice")]


def test_formgrader_autograde_refuses_on_an_untested_nbgrader(monkeypatch, tmp_path):
    """On an untested nbgrader the button refuses: stock Autograde would run learner code here."""
    import nbgrader
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from grader.autograde import compat

    monkeypatch.setattr(NbGraderAPI, "autograde", NbGraderAPI.autograde)
    monkeypatch.setattr(nbgrader, "__version__", "0.10.0")
    assert not compat.route_formgrader_autograde(lambda *args: {"success": True})
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    answer = NbGraderAPI(CourseDirectory(config=config), config=config).autograde("a", "s")
    assert answer["success"] is False and "qcampus grading regrade" in answer["error"]
