"""`qcampus up --demo` sets the demo passwords through the deployment's authenticator."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from hub_config import demo
from hub_config.authenticator import for_deployment
from qcampus import roster, settings


def login(authenticator, name: str, password: str):
    """Run one login attempt through *authenticator* and return its result."""
    handler = SimpleNamespace(request=SimpleNamespace(headers={}, remote_ip="127.0.0.1", connection=None),
                              custom_login_error="")
    return asyncio.run(authenticator.authenticate(handler, {"username": name, "password": password}))


def test_demo_password_never_overwritten(tmp_path):
    """A pre-set first-use password is set once and kept on the next run."""
    home = tmp_path / "home"
    (home / "hub").mkdir(parents=True)
    authenticator = for_deployment(settings.load(home, {}))
    assert authenticator.preset_password("learner1", "first-secret") is True
    assert authenticator.preset_password("learner1", "second-secret") is False


def test_demo_accounts_log_in_with_their_written_passwords(deployment_settings):
    """Each demo account logs in with the password written to demo-accounts.txt, and only once created."""
    created = demo.prepare_demo(deployment_settings)
    assert {name for name, _, _ in created} == {demo.DEMO_INSTRUCTOR, demo.DEMO_EXAMINER, *demo.DEMO_LEARNERS}
    written = (deployment_settings.secrets / demo.DEMO_ACCOUNTS_FILE).read_text().splitlines()
    assert sorted(written) == sorted("\t".join(account) for account in created)
    assert demo.prepare_demo(deployment_settings) == []
    # Every demo learner takes every track of the courses source.
    members = roster.load(deployment_settings.home)
    assert all(members[name].tracks == ("alpha", "beta") for name in demo.DEMO_LEARNERS)
    authenticator = for_deployment(settings.load(deployment_settings.home))
    authenticator._user_exists = lambda name: True  # the hub's database is not needed here
    for name, _, password in created:
        assert login(authenticator, name, password) == name
        assert login(authenticator, name, password + "x") is None
