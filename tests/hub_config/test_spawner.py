"""System users of the spawner: naming, creation and private homes."""

from __future__ import annotations

import os
import pwd
import subprocess
import uuid

import pytest

from hub_config.spawner import ensure_system_user, system_username


def test_hub_name_is_prefixed():
    """A hub user called root maps to jupyter-root, never to root."""
    assert system_username("root") == "jupyter-root"


def test_long_names_fit_useradd():
    """Workshop uuids map to distinct names within useradd's 32 bytes."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    assert len(system_username(a)) <= 32
    assert system_username(a) != system_username(b)
    assert system_username(a) == system_username(a)


@pytest.mark.sandbox
def test_new_system_user_has_private_home():
    """A created system user's home is 0700 and owned by that user."""
    name = f"qctest-{uuid.uuid4().hex[:8]}"
    try:
        entry = ensure_system_user(name)
        st = os.stat(entry.pw_dir)
        assert st.st_mode & 0o777 == 0o700
        assert st.st_uid == entry.pw_uid != 0
        os.chmod(entry.pw_dir, 0o755)
        ensure_system_user(name)
        assert os.stat(entry.pw_dir).st_mode & 0o777 == 0o700
    finally:
        subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
    with pytest.raises(KeyError):
        pwd.getpwnam(name)


def test_server_log_is_private_and_per_server(tmp_path, monkeypatch):
    """Each server's log is root's 0600 file in a 0700 directory, one per named server."""
    from types import SimpleNamespace

    from hub_config.spawner import QcampusSpawner

    monkeypatch.setenv("QCAMPUS_HOME", str(tmp_path / "home"))
    spawner = QcampusSpawner(user=SimpleNamespace(name="ada", groups=[], url="/user/ada/"))
    assert spawner.log_dir == str(tmp_path / "home" / "logs" / "servers")
    old = os.umask(0)
    try:
        os.close(spawner.open_log())
    finally:
        os.umask(old)
    log = tmp_path / "home" / "logs" / "servers" / "jupyter-ada.log"
    assert spawner.log_path == str(log)
    assert (log.parent.stat().st_mode & 0o777, log.stat().st_mode & 0o777) == (0o700, 0o600)
    named = QcampusSpawner(user=spawner.user, orm_spawner=SimpleNamespace(name="foundations",
                                                                         server=None))
    assert named.log_path == str(log.parent / "jupyter-ada-foundations.log")
