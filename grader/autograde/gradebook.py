"""nbgrader's gradebook preprocessors with one query per notebook and one commit per notebook.

nbgrader's ``OverwriteCells`` looks up each graded cell's source and grade cell
with its own query, and ``SaveAutoGrades`` looks up each grade and comment with
its own seven-table join and commits after every cell: for a notebook of three
exercises, fifteen queries and six commits, each commit waiting for the disk
while it holds SQLite's only write lock. The subclasses here keep nbgrader's
per-cell logic (what is compared, overwritten, scored and flagged) untouched;
only the lookups are answered from the notebook's rows loaded at once, and
``SaveAutoGrades`` commits once, after the last cell, so a notebook's grades are
saved together or not at all. The rows written are the same (tested against
stock nbgrader).

Configured, like any nbgrader preprocessor, in ``nbgrader_config.py``::

    from grader.autograde import autograde_preprocessors, sanitize_preprocessors
    c.Autograde.sanitize_preprocessors = sanitize_preprocessors()
    c.Autograde.autograde_preprocessors = autograde_preprocessors()
"""

from __future__ import annotations

from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import (
    BaseCell,
    Comment,
    Grade,
    Gradebook,
    GradeCell,
    MissingEntry,
    SolutionCell,
    SourceCell,
    TaskCell,
)
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells, SaveAutoGrades


class _Rows:
    """A gradebook whose per-cell lookups for one notebook come from rows loaded once.

    Everything not looked up here is the wrapped :class:`~nbgrader.api.Gradebook`'s.
    """

    def __init__(self, gradebook: Gradebook) -> None:
        self._gradebook = gradebook

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gradebook, name)

    def _row(self, loaded: dict[str, Any], name: str, *where: str) -> Any:
        """Return the loaded row named *name*, or nbgrader's own answer for another notebook."""
        if where != self._where:
            return None
        try:
            return loaded[name]
        except KeyError:
            raise MissingEntry(f"No such cell row: {'/'.join(reversed(where[:2]))}/{name}"
                               + (f" for {where[2]}" if len(where) > 2 else "")) from None


def _by_name(rows, preferred: type) -> dict[str, Any]:
    """Map cell name → row, letting cells of the *preferred* type win, as nbgrader's finders do."""
    found: dict[str, Any] = {}
    for row, name, kind in rows:
        if name not in found or kind == preferred.__mapper__.polymorphic_identity:
            found[name] = row
    return found


class NotebookCells(_Rows):
    """The source cells and graded (grade or task) cells of one release notebook."""

    def __init__(self, gradebook: Gradebook, notebook: str, assignment: str) -> None:
        super().__init__(gradebook)
        self._where = (notebook, assignment)
        release = gradebook.find_notebook(notebook, assignment)
        db = gradebook.db
        self._source = {cell.name: cell for cell in
                        db.query(SourceCell).filter(SourceCell.notebook_id == release.id)}
        graded = db.query(BaseCell, BaseCell.name, BaseCell.type).filter(
            BaseCell.notebook_id == release.id,
            BaseCell.type.in_([GradeCell.__mapper__.polymorphic_identity,
                               TaskCell.__mapper__.polymorphic_identity]))
        self._graded = _by_name(graded, GradeCell)

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> SourceCell:
        return self._row(self._source, name, notebook, assignment) or \
            self._gradebook.find_source_cell(name, notebook, assignment)

    def find_graded_cell(self, name: str, notebook: str, assignment: str) -> GradeCell | TaskCell:
        return self._row(self._graded, name, notebook, assignment) or \
            self._gradebook.find_graded_cell(name, notebook, assignment)


class _Deferred:
    """A session whose ``commit()`` only flushes; the owner commits once at the end."""

    def __init__(self, session) -> None:
        self._session = session

    def commit(self) -> None:
        self._session.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class SubmissionRows(_Rows):
    """The grades and comments of one student's notebook, saved by one commit at the end."""

    def __init__(self, gradebook: Gradebook, notebook: str, assignment: str, student: str) -> None:
        super().__init__(gradebook)
        self._where = (notebook, assignment, student)
        self.db = _Deferred(gradebook.db)
        submitted = gradebook.find_submission_notebook(notebook, assignment, student)
        db = gradebook.db
        grades = db.query(Grade, BaseCell.name, BaseCell.type).join(
            BaseCell, BaseCell.id == Grade.cell_id).filter(Grade.notebook_id == submitted.id)
        self._grades = _by_name(grades, GradeCell)
        comments = db.query(Comment, BaseCell.name, BaseCell.type).join(
            BaseCell, BaseCell.id == Comment.cell_id).filter(Comment.notebook_id == submitted.id)
        self._comments = _by_name(comments, SolutionCell)

    def find_grade(self, grade_cell: str, notebook: str, assignment: str, student: str):
        return self._row(self._grades, grade_cell, notebook, assignment, student) or \
            self._gradebook.find_grade(grade_cell, notebook, assignment, student)

    def find_comment(self, solution_cell: str, notebook: str, assignment: str, student: str):
        return self._row(self._comments, solution_cell, notebook, assignment, student) or \
            self._gradebook.find_comment(solution_cell, notebook, assignment, student)

    def commit(self) -> None:
        """Commit everything saved for this notebook at once."""
        self._gradebook.db.commit()


class BatchedOverwriteCells(OverwriteCells):
    """nbgrader's ``OverwriteCells``, looking each cell up among its notebook's rows loaded once."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.db_url = info["db_url"]
        with Gradebook(self.db_url) as gradebook:
            self.gradebook = NotebookCells(gradebook, self.notebook_id, self.assignment_id)
            nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)
            if self.add_missing_cells:
                nb, resources = self.add_missing_grade_cells(nb, resources)
                nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


class BatchedSaveAutoGrades(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades``, saving a notebook's grades and comments in one transaction."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.student_id, self.db_url = info["student"], info["db_url"]
        with Gradebook(self.db_url) as gradebook:
            rows = SubmissionRows(gradebook, self.notebook_id, self.assignment_id,
                                  self.student_id)
            self.gradebook = rows
            nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)
            rows.commit()
        return nb, resources
