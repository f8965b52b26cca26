"""Feedback that shows what each check said, never the hidden tests' code (nbgrader #917).

nbgrader's ``generate_feedback`` renders the autograded notebook, whose test
cells were restored from the gradebook with their hidden tests, so a learner
reads them in the feedback page. :class:`HideHiddenTests` runs first in
``GenerateFeedback.preprocessors`` and removes them: the region between the
hidden-test delimiters (or the whole source of a test cell holding one), and
the code lines IPython quotes in a traceback of such a cell, keeping the
error's name and message, the cell's other outputs and its points. To enable
it, put this in the course's ``nbgrader_config.py``::

    from grader.autograde.feedback import feedback_preprocessors
    c.GenerateFeedback.preprocessors = feedback_preprocessors()
"""

from __future__ import annotations

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from traitlets import Bool, Unicode


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden tests' code from the notebook a feedback page is made of."""

    enabled = Bool(True, help="Remove hidden tests from feedback.").tag(config=True)
    whole_cell = Bool(
        False, help="Replace the whole source of a test cell that holds hidden tests, not only "
                    "the region between the delimiters.").tag(config=True)
    placeholder = Unicode(
        "# Hidden tests ran here; their code is not shown. / 非公開のテストの内容は表示されません。",
        help="Line shown where hidden tests were removed.").tag(config=True)
    # Feedback must never fail to hide: a region in a non-grade cell is hidden as well.
    enforce_metadata = Bool(False, help="Refuse hidden tests outside grade cells.").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict,
                        index: int) -> tuple[NotebookNode, dict]:
        if cell.cell_type != "code" or self.begin_test_delimeter not in cell.source:
            return cell, resources
        kept = self.whole_cell
        if not kept:
            try:
                kept = not self._hide_region(cell)
            except RuntimeError:  # unbalanced delimiters: hide everything rather than guess
                kept = True
        if kept:
            cell.source = self.placeholder
        cell.outputs = [_without_traceback(output) for output in cell.get("outputs", [])]
        return cell, resources

    def _hide_region(self, cell: NotebookNode) -> bool:
        """Replace each hidden region of *cell* by the placeholder; return whether one was found."""
        lines, kept, inside, found = cell.source.split("\n"), [], False, False
        for line in lines:
            if self.begin_test_delimeter in line:
                if inside:
                    raise RuntimeError("nested hidden tests")
                inside = found = True
                indent = line[:len(line) - len(line.lstrip())]
                kept.append(indent + self.placeholder)
            elif self.end_test_delimeter in line:
                inside = False
            elif not inside:
                kept.append(line)
        if inside:
            raise RuntimeError("no end of hidden tests")
        cell.source = "\n".join(kept)
        return found


def _without_traceback(output: NotebookNode) -> NotebookNode:
    """Return an error output reduced to its name and message (a traceback quotes the code)."""
    if output.get("output_type") != "error":
        return output
    output.traceback = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
    return output


def feedback_preprocessors() -> list[type]:
    """Return nbgrader's feedback preprocessors with :class:`HideHiddenTests` first."""
    return [HideHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
