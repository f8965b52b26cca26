"""nbgrader's own transfers work through the service: the classes users' servers are configured with.

The service runs for real (werkzeug on a loopback port) with the stand-in hub;
each test drives nbgrader's exchange classes as the Assignments tab and
formgrader do, with a learner's or an instructor's token.
"""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path

import nbformat
import pytest
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeError
from traitlets.config import Config
from werkzeug.serving import make_server

from submissions.exchange import client
from tests.submissions.exchange.test_api import app, hub, tokens  # noqa: F401 (fixtures)


@pytest.fixture
def service(app):  # noqa: F811
    """Serve the app on a loopback port; yield the exchange's base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/exchange"
    server.shutdown()


@pytest.fixture
def run(service, tokens, tmp_path):  # noqa: F811
    """Return run(cls, who, home, **coursedir) that starts one nbgrader transfer as *who*."""

    def start(cls, who: str, home: Path, assignment: str = "hello", **traits):
        config = Config()
        config.ServiceExchange.url = service
        config.ServiceExchange.token = tokens[who]
        config.Exchange.assignment_dir = str(home)
        config.CourseDirectory.course_id = "foundations"
        config.CourseDirectory.assignment_id = assignment
        config.CourseDirectory.root = str(tmp_path / "course")
        for name, value in traits.items():
            section, _, trait = name.partition("__")
            setattr(getattr(config, section), trait, value)
        coursedir = CourseDirectory(config=config)
        transfer = cls(coursedir=coursedir, authenticator=Authenticator(config=config), config=config)
        return transfer.start()

    return start


def _release_from_course(run, tmp_path, notebook) -> Path:
    release = tmp_path / "course" / "release" / "hello"
    release.mkdir(parents=True)
    (release / "hello.ipynb").write_bytes(notebook("x = 1"))
    run(client.ReleaseAssignment, "teacher", tmp_path / "teacher")
    return release


def test_the_whole_round_trip(run, tmp_path, notebook):
    """Release → fetch → submit → collect → release feedback → list and fetch feedback."""
    _release_from_course(run, tmp_path, notebook)
    alice = tmp_path / "alice"
    listed = run(client.List, "alice", alice)
    assert [(a["assignment_id"], a["status"]) for a in listed] == [("hello", "released")]

    run(client.FetchAssignment, "alice", alice)
    work = alice / "foundations" / "hello" / "hello.ipynb"
    assert work.read_bytes() == notebook("x = 1")
    assert run(client.List, "alice", alice)[0]["status"] == "fetched"

    nb = nbformat.read(work, 4)
    nb.cells[0].source = "x = 42"
    nbformat.write(nb, work)
    run(client.Submit, "alice", alice)

    run(client.Collect, "teacher", tmp_path / "teacher")
    collected = tmp_path / "course" / "submitted" / "alice" / "hello"
    assert "x = 42" in (collected / "hello.ipynb").read_text()
    stamp = (collected / "timestamp.txt").read_text()
    assert stamp.endswith("UTC")

    feedback = tmp_path / "course" / "feedback" / "alice" / "hello"
    feedback.mkdir(parents=True)
    (feedback / "hello.html").write_text("<p>Score: 3 / 3</p>")
    (feedback / "timestamp.txt").write_text(stamp)
    run(client.ReleaseFeedback, "teacher", tmp_path / "teacher")

    submitted = run(client.List, "alice", alice, ExchangeList__cached=True)
    [entry] = submitted
    [one] = entry["submissions"]
    assert one["timestamp"] == stamp and one["has_exchange_feedback"] and not one["has_local_feedback"]
    run(client.FetchFeedback, "alice", alice)
    page = alice / "foundations" / "hello" / "feedback" / stamp / "hello.html"
    assert page.read_text() == "<p>Score: 3 / 3</p>"
    again = run(client.List, "alice", alice, ExchangeList__cached=True)[0]["submissions"][0]
    assert again["has_local_feedback"] and not again["feedback_updated"]


def test_fetch_does_not_overwrite_work(run, tmp_path, notebook):
    """Fetching again refuses to replace the learner's copy and says how to get a fresh one."""
    _release_from_course(run, tmp_path, notebook)
    alice = tmp_path / "alice"
    run(client.FetchAssignment, "alice", alice)
    work = alice / "foundations" / "hello" / "hello.ipynb"
    work.write_bytes(notebook("my work"))
    with pytest.raises(ExchangeError, match="already have a copy"):
        run(client.FetchAssignment, "alice", alice)
    assert work.read_bytes() == notebook("my work")


def test_a_symlinked_notebook_is_not_submitted(run, tmp_path, notebook):
    """A notebook replaced by a symbolic link (to a file the learner hopes root reads) is refused."""
    _release_from_course(run, tmp_path, notebook)
    alice = tmp_path / "alice"
    run(client.FetchAssignment, "alice", alice)
    work = alice / "foundations" / "hello" / "hello.ipynb"
    work.unlink()
    os.symlink("/etc/shadow", work)
    with pytest.raises(ExchangeError, match="symbolic link"):
        run(client.Submit, "alice", alice)
    assert run(client.List, "teacher", tmp_path / "t", ExchangeList__inbound=True) == []


def test_refusals_reach_the_learner_in_both_languages(run, tmp_path, notebook):
    """A notebook that is not JSON is refused by the service, and its message reaches nbgrader."""
    _release_from_course(run, tmp_path, notebook)
    alice = tmp_path / "alice"
    run(client.FetchAssignment, "alice", alice)
    (alice / "foundations" / "hello" / "hello.ipynb").write_text("not a notebook")
    with pytest.raises(ExchangeError, match="not a Jupyter notebook.*ノートブックではありません"):
        run(client.Submit, "alice", alice)


def test_an_unreachable_service_changes_nothing(tmp_path, tokens):  # noqa: F811
    """With the service down, submit fails with a message and the learner's files stay."""
    config = Config()
    config.ServiceExchange.url = "http://127.0.0.1:9/exchange"
    config.ServiceExchange.token = "x"
    config.Exchange.assignment_dir = str(tmp_path)
    config.CourseDirectory.course_id = "foundations"
    config.CourseDirectory.assignment_id = "hello"
    folder = tmp_path / "foundations" / "hello"
    folder.mkdir(parents=True)
    (folder / "hello.ipynb").write_text("{}")
    transfer = client.Submit(coursedir=CourseDirectory(config=config),
                             authenticator=Authenticator(config=config), config=config)
    with pytest.raises(ExchangeError, match="cannot be reached"):
        transfer.start()
    assert (folder / "hello.ipynb").read_text() == "{}"


def test_config_lines_name_every_transfer():
    """The generated configuration routes all eight exchange roles to this module's classes."""
    config = Config()
    exec(client.nbgrader_config_lines("http://x/exchange"), {"c": config})  # noqa: S102
    from nbgrader.exchange import ExchangeFactory

    factory = ExchangeFactory(config=config)
    for trait, name in client.EXCHANGE_CLASSES.items():
        assert getattr(factory, trait) is getattr(client, name)
    assert base64  # the module reads files as base64 on the wire
