"""The hub's init step: course directory ownership and servers' configuration."""

from __future__ import annotations

import grp
import json
import os
import subprocess
import uuid

import pytest
from traitlets.config.loader import PyFileConfigLoader

from hub_config.deployment import ensure_group, share_course_dirs
from hub_config.singleuser import write_config

EXCHANGE_URL = "http://127.0.0.1:10101/services/qcampus/exchange"


def test_learner_config_disables_formgrader(tmp_path):
    """Learners' servers run without formgrader and the course list, in server and lab."""
    write_config(tmp_path / "jupyter", EXCHANGE_URL, tmp_path / "courses")
    server = json.loads((tmp_path / "jupyter/learner/jupyter_server_config.json").read_text())
    exts = server["ServerApp"]["jpserver_extensions"]
    assert exts["nbgrader.server_extensions.formgrader"] is False
    assert exts["nbgrader.server_extensions.course_list"] is False
    lab = json.loads((tmp_path / "jupyter/learner/labconfig/page_config.json").read_text())
    assert lab["disabledExtensions"]["@jupyter/nbgrader:formgrader"] is True
    assert "@jupyter/nbgrader:assignment-list" not in lab["disabledExtensions"]


def test_only_instructors_may_frame_their_own_server(tmp_path):
    """Instructors' servers allow same-origin frames (formgrader in Lab); learners' keep the default."""
    write_config(tmp_path / "jupyter", EXCHANGE_URL, tmp_path / "courses")
    server = json.loads((tmp_path / "jupyter/instructor/jupyter_server_config.json").read_text())
    headers = server["ServerApp"]["tornado_settings"]["headers"]
    assert headers == {"Content-Security-Policy": "frame-ancestors 'self'"}
    learner = json.loads((tmp_path / "jupyter/learner/jupyter_server_config.json").read_text())
    assert "tornado_settings" not in learner["ServerApp"]


def test_formgrader_autograde_is_routed_in_instructors_servers(tmp_path):
    """Instructors' servers load the extension that sends Autograde to the grading service."""
    write_config(tmp_path / "jupyter", EXCHANGE_URL, tmp_path / "courses")
    server = json.loads((tmp_path / "jupyter/instructor/jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == {"submissions.exchange.formgrader": True}


def test_config_is_root_owned_and_not_writable_by_others(tmp_path):
    """Every file and directory of the servers' configuration is 0644/0755."""
    write_config(tmp_path / "jupyter", EXCHANGE_URL, tmp_path / "courses")
    for path in [tmp_path / "jupyter", *(tmp_path / "jupyter").rglob("*")]:
        assert path.stat().st_mode & 0o022 == 0, path
        assert path.stat().st_uid == os.getuid()


@pytest.mark.parametrize("course", ["", "alpha"])
def test_nbgrader_config_sets_course_only_for_named_server(tmp_path, monkeypatch, course):
    """The global nbgrader config sets the exchange, the hub auth plugin and the course dir."""
    (tmp_path / "courses/alpha").mkdir(parents=True)
    write_config(tmp_path / "jupyter", EXCHANGE_URL, tmp_path / "courses")
    monkeypatch.setenv("QCAMPUS_COURSE", course)
    monkeypatch.setenv("JUPYTERHUB_USER", "ada")
    c = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path / "jupyter/common")).load_config()
    assert c.ExchangeFactory.submit == "submissions.exchange.client.Submit"
    assert c.ServiceExchange.url == EXCHANGE_URL
    # Feedback formgrader generates never shows hidden tests' code.
    assert [cls.__name__ for cls in c.GenerateFeedback.preprocessors][0] == "HideHiddenTests"
    assert "root" not in c.Exchange
    assert c.Authenticator.plugin_class == "nbgrader.auth.JupyterHubAuthPlugin"
    if course:
        assert c.CourseDirectory.root == str(tmp_path / "courses/alpha")
        assert c.CourseDirectory.course_id == "alpha"
        assert "student_id" not in c.CourseDirectory
    else:
        assert "root" not in c.CourseDirectory
        assert c.CourseDirectory.student_id == "ada"


@pytest.mark.sandbox
def test_course_dirs_belong_to_instructors_group(tmp_path):
    """Course directories become root:<group> 2770 and files group-writable, not world-readable."""
    group = f"qctest-{uuid.uuid4().hex[:6]}"
    course = tmp_path / "courses" / "alpha"
    (course / "source").mkdir(parents=True)
    (course / "source" / "a.ipynb").write_text("{}")
    os.chmod(course / "source" / "a.ipynb", 0o644)
    try:
        gid = ensure_group(group)
        assert ensure_group(group) == gid
        share_course_dirs(tmp_path / "courses", gid)
        for path in (course, course / "source"):
            assert path.stat().st_mode & 0o7777 == 0o2770
            assert path.stat().st_gid == gid
        assert (course / "source" / "a.ipynb").stat().st_mode & 0o777 == 0o660
    finally:
        subprocess.run(["groupdel", group], capture_output=True, check=False)
    with pytest.raises(KeyError):
        grp.getgrnam(group)


def test_course_sources_readable_by_instructors_only(tmp_path, monkeypatch):
    """The hub's init step gives the closed sources to the instructors' group, read-only."""
    from hub_config.deployment import init_deployment
    from qcampus import deployment, settings

    source = tmp_path / "courses" / "alpha" / "source" / "one"
    source.mkdir(parents=True)
    (tmp_path / "courses" / "alpha" / "track.yaml").write_text("title: {en: t, ja: t}\nlevel: A1\n")
    (source / "one.ipynb").write_text("### BEGIN SOLUTION")
    os.chmod(source / "one.ipynb", 0o644)
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(tmp_path / "courses"))
    deployment.init(tmp_path / "home", hooks=[])
    init_deployment(settings.load(tmp_path / "home"))
    gid = grp.getgrnam("qcampus-instructors").gr_gid
    for path in (tmp_path / "courses", source):
        assert (path.stat().st_gid, path.stat().st_mode & 0o777) == (gid, 0o750)
    assert ((source / "one.ipynb").stat().st_gid, (source / "one.ipynb").stat().st_mode & 0o777) \
        == (gid, 0o640)
