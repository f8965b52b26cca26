"""Write the root-owned Jupyter configuration that users' servers read.

The spawner points ``JUPYTER_CONFIG_PATH`` at ``<config_root>/<role>`` and
``<config_root>/common``:

- ``common/nbgrader_config.py``: the exchange (nbgrader's transfers as HTTP calls to
  the qcampus service, authenticated by the server's own hub token), nbgrader's
  ``JupyterHubAuthPlugin`` (a learner sees only the courses of their
  ``nbgrader-<track>`` groups), learner HTML sanitized before formgrader or
  feedback renders it, and, in an instructor's per-track named server
  (``QCAMPUS_COURSE``), that track's course directory for formgrader;
- ``learner/``: formgrader and the course list switched off, in the server and
  in JupyterLab; only the Assignments tab remains;
- ``instructor/``: everything on, formgrader may be framed by its own server, and its
  *Autograde* button queues the submission for the sandboxed grading service;
  ``instructor/nbgrader_config.py`` names each track's gradebook (a PostgreSQL
  URL with ``database.url``, so root and the instructors' group alone read it).

``disable_user_config`` keeps ``~/.jupyter`` out of the path, so a learner
cannot switch these back on from their home.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from submissions.exchange.client import nbgrader_config_lines

NBGRADER_CONFIG = '''\
# Written by qcampus at every hub start; edits are overwritten.
import os

c = get_config()  # noqa: F821
# Fetch, submit, list, collect and feedback go through the qcampus service: no shared
# directory that one user could rename, forge a name in, or link out of.
{exchange}c.Exchange.path_includes_course = True
c.Authenticator.plugin_class = "nbgrader.auth.JupyterHubAuthPlugin"
# Formgrader shows learners' markdown and outputs in the instructor's own server, and
# feedback pages are rendered from them too: sanitize that HTML first, so a learner's
# <script> or onerror= never runs in an instructor's page.
c.HTMLExporter.preprocessors = ["nbconvert.preprocessors.sanitize.SanitizeHTML"]
c.HTMLExporter.sanitize_html = True
# Feedback formgrader generates shows what each check said, never hidden tests' code.
from grader.autograde.feedback import feedback_preprocessors  # noqa: E402

c.GenerateFeedback.preprocessors = feedback_preprocessors()
_course = os.environ.get("QCAMPUS_COURSE", "")
if _course and os.path.isdir(os.path.join({courses_root!r}, _course)):
    c.CourseDirectory.root = os.path.join({courses_root!r}, _course)
    c.CourseDirectory.course_id = _course
elif os.environ.get("JUPYTERHUB_USER"):
    # Submissions carry the hub name (as in the roster and the gradebook), not the
    # system account jupyter-<name>.
    c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
'''

INSTRUCTOR_NBGRADER_CONFIG = '''\
# Written by qcampus at every hub start; edits are overwritten. Root and the instructors'
# group alone read it: a gradebook URL may hold a password (settings: database.url).
import os

c = get_config()  # noqa: F821
GRADEBOOKS = {gradebooks!r}
_course = os.environ.get("QCAMPUS_COURSE", "")
if _course in GRADEBOOKS:
    c.CourseDirectory.db_url = GRADEBOOKS[_course]
'''

LEARNER_SERVER = {"ServerApp": {"jpserver_extensions": {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
}}}
# JupyterHub's singleuser default is "frame-ancestors 'none'", which blanks the
# formgrader JupyterLab shows in an iframe of the same server. Only instructors'
# servers relax it, to their own origin.
# Formgrader's Autograde goes to the grading service (submissions.exchange.formgrader):
# learners' code never runs in an instructor's server, where answer keys are readable.
INSTRUCTOR_SERVER = {"ServerApp": {
    "tornado_settings": {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}},
    "jpserver_extensions": {"submissions.exchange.formgrader": True},
}}
LEARNER_LAB = {"disabledExtensions": {
    "@jupyter/nbgrader:formgrader": True,
    "@jupyter/nbgrader:course-list": True,
    "@jupyter/nbgrader:create-assignment": True,
}}


def _write(path: Path, text: str, mode: int = 0o644, group: int = -1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o755)
    tmp = path.with_name(path.name + ".tmp")
    # Created closed, then opened to *mode*: a private file is never readable on the way.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    os.chmod(tmp, 0o600)
    tmp.write_text(text, encoding="utf-8")
    os.chown(tmp, -1, group)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_config(config_root: Path, exchange_url: str, courses_root: Path,
                 gradebooks: Mapping[str, str] | None = None, group: int = -1) -> None:
    """Write (or refresh) the per-role configuration under *config_root*, mode 0755/0644.

    *gradebooks* maps a track to the URL its instructors' server opens the
    gradebook with; that file is 0640, for root and *group* (the instructors' gid).
    """
    config_root.mkdir(parents=True, exist_ok=True)
    os.chmod(config_root, 0o755)
    _write(config_root / "common" / "nbgrader_config.py",
           NBGRADER_CONFIG.format(exchange=nbgrader_config_lines(exchange_url),
                                  courses_root=str(courses_root)))
    _write(config_root / "learner" / "jupyter_server_config.json", json.dumps(LEARNER_SERVER, indent=2))
    _write(config_root / "learner" / "labconfig" / "page_config.json", json.dumps(LEARNER_LAB, indent=2))
    _write(config_root / "instructor" / "jupyter_server_config.json",
           json.dumps(INSTRUCTOR_SERVER, indent=2))
    _write(config_root / "instructor" / "nbgrader_config.py",
           INSTRUCTOR_NBGRADER_CONFIG.format(gradebooks=dict(sorted((gradebooks or {}).items()))),
           mode=0o640, group=group)
