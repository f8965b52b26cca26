"""The store keeps every submission under the server's clock and refuses what is not a notebook."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qcampus.database import write_session
from submissions.errors import RefusedSubmission
from submissions.exchange.models import Feedback, Release, Submission
from submissions.exchange.store import timestamp_text
from tests.submissions.conftest import BOTH_DATABASES


@pytest.fixture
def released(engine, store, notebook):
    """Release foundations/hello with one notebook, hello.ipynb."""
    with write_session(engine) as session:
        store.release(session, "foundations", "hello", {"hello.ipynb": notebook("x = 1")},
                      released_by="teacher")



def _stored_directories(store) -> list[str]:
    base = store.root / "submitted"
    return sorted(str(p) for p in base.rglob("*") if p.is_dir() and p.parent != base) \
        if base.exists() else []


@BOTH_DATABASES
def test_submission_is_timed_by_the_server_and_kept(engine, store, released, notebook):
    """Two submissions a second apart are both kept, in order, with the server's time and user."""
    with write_session(engine) as session:
        first = store.submit(session, "foundations", "hello", "alice", {"hello.ipynb": notebook("a")})
        second = store.submit(session, "foundations", "hello", "alice", {"hello.ipynb": notebook("b")})
        ids = (first.id, second.id)
    with Session(engine) as session:
        rows = store.submissions(session, "foundations", assignment="hello", student="alice")
        assert [r.id for r in rows] == list(ids)
        assert rows[0].submitted_at < rows[1].submitted_at
        assert rows[0].timestamp == timestamp_text(rows[0].submitted_at)
        assert rows[0].timestamp.endswith("UTC")
        assert store.read_submission(rows[0])["hello.ipynb"] != store.read_submission(rows[1])["hello.ipynb"]


def test_files_are_root_only(engine, store, released, notebook):
    """The store, its directories and every stored notebook are closed to everyone but root."""
    with write_session(engine) as session:
        submission = store.submit(session, "foundations", "hello", "alice", {"hello.ipynb": notebook()})
        path = store.path_of(submission)
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE((path / "hello.ipynb").stat().st_mode) == 0o600


@pytest.mark.parametrize(("files", "status", "words"), [
    ({"other.ipynb": b"{}"}, 422, "not a notebook of hello"),
    ({"../hello.ipynb": b"{}"}, 422, "not a notebook of hello"),
    ({}, 422, "Nothing to submit"),
    ({"hello.ipynb": b""}, 422, "empty"),
    ({"hello.ipynb": b"not json at all"}, 422, "not a Jupyter notebook"),
    ({"hello.ipynb": b'{"nbformat": 3, "cells": []}'}, 422, "not a Jupyter notebook"),
    ({"hello.ipynb": b" " * (1024 * 1024 + 1)}, 413, "limit is 1 MiB"),
])
def test_bad_submissions_are_refused_and_store_nothing(engine, store, released, files, status, words):
    """Unexpected names, empty, non-JSON and oversized files are refused; nothing is stored."""
    with pytest.raises(RefusedSubmission) as refused, write_session(engine) as session:
        store.submit(session, "foundations", "hello", "alice", files)
    assert refused.value.status == status
    assert words in refused.value.message
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0
    assert _stored_directories(store) == []


def test_unreleased_assignment_cannot_be_submitted(engine, store, notebook):
    """An assignment nobody released refuses submissions with 404."""
    with pytest.raises(RefusedSubmission) as refused, write_session(engine) as session:
        store.submit(session, "foundations", "hello", "alice", {"hello.ipynb": notebook()})
    assert refused.value.status == 404


def test_a_failed_transaction_leaves_no_files(engine, store, released, notebook):
    """When the record is rolled back, the files written for it are removed too."""
    class Boom(Exception):
        pass

    with pytest.raises(Boom), write_session(engine) as session:
        store.submit(session, "foundations", "hello", "alice", {"hello.ipynb": notebook()})
        raise Boom
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0


@BOTH_DATABASES
def test_releases_are_versioned_and_withdrawn(engine, store, notebook):
    """A new release is a new version; a withdrawn assignment is no longer offered."""
    with write_session(engine) as session:
        store.release(session, "c", "a", {"a.ipynb": notebook("v1")}, released_by="t")
        store.release(session, "c", "a", {"a.ipynb": notebook("v2")}, released_by="t")
        store.release(session, "c", "b", {"b.ipynb": notebook()}, released_by="t")
    with Session(engine) as session:
        active = store.active_release(session, "c", "a")
        assert active.version == 2
        assert b"v2" in store.read_release(active)["a.ipynb"]
        assert [r.assignment for r in store.releases(session, "c")] == ["a", "b"]
        assert session.scalar(select(func.count()).select_from(Release)) == 3
    with write_session(engine) as session:
        store.withdraw(session, "c", "a")
    with Session(engine) as session:
        assert store.active_release(session, "c", "a") is None
        assert [r.assignment for r in store.releases(session, "c")] == ["b"]


@BOTH_DATABASES
def test_feedback_release_replaces_the_page(engine, store, released, notebook):
    """Releasing feedback again replaces the page; feedback for a notebook not submitted is refused."""
    with write_session(engine) as session:
        submission = store.submit(session, "foundations", "hello", "alice", {"hello.ipynb": notebook()})
        store.release_feedback(session, submission, {"hello": b"<p>1/3</p>"}, released_by="grader")
        sid = submission.id
    with write_session(engine) as session:
        submission = session.get(Submission, sid)
        store.release_feedback(session, submission, {"hello": b"<p>3/3</p>"}, released_by="grader")
        with pytest.raises(RefusedSubmission):
            store.release_feedback(session, submission, {"other": b"x"}, released_by="grader")
    with Session(engine) as session:
        rows = session.scalars(select(Feedback)).all()
        assert len(rows) == 1
        assert store.read_feedback(rows[0]) == b"<p>3/3</p>"
        assert session.get(Submission, sid).describe()["feedback"] == {"hello": rows[0].sha256}


@pytest.mark.parametrize("course", ["../etc", "a/b", "", ".hidden", "x" * 200])
def test_course_ids_that_could_name_paths_are_refused(engine, store, notebook, course):
    """Course ids with separators, dots first or too long never become directories."""
    with pytest.raises(RefusedSubmission), write_session(engine) as session:
        store.release(session, course, "a", {"a.ipynb": notebook()}, released_by="t")
    assert not (store.root / "releases").exists() or not any((store.root / "releases").iterdir())


def test_a_full_disk_refuses_with_a_reason_and_stores_nothing(engine, store, released, notebook,
                                                              monkeypatch):
    """When the disk is full the submission is refused with 507 and a reason; no record, no file."""
    import errno
    import os as os_module

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os_module, "fsync", full)
    with pytest.raises(RefusedSubmission) as refused, write_session(engine) as session:
        store.submit(session, "foundations", "hello", "alice", {"hello.ipynb": notebook()})
    monkeypatch.undo()
    assert refused.value.status == 507 and "disk is full" in refused.value.message
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0
    assert _stored_directories(store) == []
