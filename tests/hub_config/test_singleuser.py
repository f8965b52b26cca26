"""The Jupyter configuration users' servers read: learner HTML never runs in an instructor's page."""

from __future__ import annotations

import stat
from html.parser import HTMLParser

import nbformat
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from hub_config.singleuser import write_config

SCRIPT = "<script>fetch('/api/contents', {method: 'DELETE'})</script>"
ONERROR = '<img src="x" onerror="alert(document.cookie)">'

EXCHANGE_URL = "http://127.0.0.1:10101/services/qcampus/exchange"


def _hostile_notebook() -> nbformat.NotebookNode:
    output = new_output("display_data", data={"text/html": ONERROR + SCRIPT,
                                              "application/javascript": "alert(1)",
                                              "text/plain": "picture"})
    return new_notebook(cells=[
        new_markdown_cell(f"My answer {SCRIPT} and {ONERROR}"),
        new_code_cell("show()", outputs=[output], execution_count=1),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})


class _Active(HTMLParser):
    """Collect what a browser would run: event-handler attributes and script bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.handlers: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.handlers += [f"{name}={value}" for name, value in attrs if name.startswith("on")]
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _active(html: str) -> _Active:
    parser = _Active()
    parser.feed(html)
    return parser


def _config(tmp_path) -> Config:
    write_config(tmp_path / "jupyter", EXCHANGE_URL, tmp_path / "courses")
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path / "jupyter" / "common"))
    return loader.load_config()


def _formgrade(config: Config) -> HTMLExporter:
    """Return the exporter formgrader builds: its config, its 'formgrade' template."""
    from nbgrader.server_extensions.formgrader import handlers

    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    return HTMLExporter(config=config)


RESOURCES = {"assignment_id": "ps1", "notebook_id": "ps1", "submission_id": "s1", "index": 0,
             "total": 1, "base_url": "/user/teacher", "student": "mallory", "last_name": "",
             "first_name": "", "notebook_path": "/user/teacher/tree/ps1.ipynb"}


def test_formgrader_renders_learner_html_without_scripts(tmp_path):
    html, _ = _formgrade(_config(tmp_path)).from_notebook_node(_hostile_notebook(),
                                                               resources=dict(RESOURCES))
    assert "My answer" in html  # the learner's work is still shown, tags as inert text
    active = _active(html)
    assert not any("alert" in h for h in active.handlers)
    assert not any("/api/contents" in s or "alert(1)" in s for s in active.scripts)


def test_without_the_setting_formgrader_would_run_them():
    """The attack is real: formgrader's own template passes learner markdown through as is."""
    html, _ = _formgrade(Config()).from_notebook_node(_hostile_notebook(),
                                                      resources=dict(RESOURCES))
    active = _active(html)
    assert any("alert(document.cookie)" in h for h in active.handlers)
    assert any("/api/contents" in s for s in active.scripts)


def _instructor_config(tmp_path, course: str, monkeypatch) -> Config:
    monkeypatch.setenv("QCAMPUS_COURSE", course)
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path / "jupyter" / "instructor"))
    return loader.load_config()


def test_instructors_server_opens_its_tracks_gradebook(tmp_path, monkeypatch):
    """An instructor's per-track server gets that track's gradebook URL, in a file learners cannot read."""
    gradebooks = {"alpha": "postgresql+psycopg://graders:pw@db/qc?options=-csearch_path%3Dgradebook_alpha",
                  "beta": "postgresql+psycopg://graders:pw@db/qc?options=-csearch_path%3Dgradebook_beta"}
    write_config(tmp_path / "jupyter", EXCHANGE_URL, tmp_path / "courses", gradebooks, group=4321)
    path = tmp_path / "jupyter" / "instructor" / "nbgrader_config.py"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.stat().st_gid == 4321
    assert _instructor_config(tmp_path, "beta", monkeypatch).CourseDirectory.db_url == gradebooks["beta"]
    assert "db_url" not in _instructor_config(tmp_path, "gamma", monkeypatch).CourseDirectory


def test_without_gradebooks_formgrader_keeps_nbgraders_default(tmp_path, monkeypatch):
    """With no URLs (the SQLite default), a stale URL is overwritten and nbgrader's default stands."""
    write_config(tmp_path / "jupyter", EXCHANGE_URL, tmp_path / "courses", {"alpha": "postgresql://x/y"})
    write_config(tmp_path / "jupyter", EXCHANGE_URL, tmp_path / "courses")
    assert "db_url" not in _instructor_config(tmp_path, "alpha", monkeypatch).CourseDirectory
