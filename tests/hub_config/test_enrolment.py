"""Roster changes reach a running hub: which API calls for which change, the token, the service."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from traitlets.config import Config

from hub_config import configurer, enrolment, hubapi
from hub_config.authenticator import RosterAuthenticator
from hub_config.enrolment import Change, RosterSyncError, plan
from hub_config.hubapi import HubAPI, HubAPIError
from qcampus import roster


def wanted(deployment_settings) -> dict[str, list[str]]:
    cfg = configurer.config_from_settings(deployment_settings)
    return {group: entry["users"] for group, entry in configurer.groups(cfg).items()}


def hub_state(deployment_settings) -> dict[str, set[str]]:
    """Return the hub's users and groups exactly as the roster wants them."""
    state: dict[str, set[str]] = {}
    for group, members in wanted(deployment_settings).items():
        for name in members:
            state.setdefault(name, set()).add(group)
    return state


def test_hub_matching_the_roster_needs_no_call(deployment_settings):
    """A hub whose users and groups are the roster's gets an empty change."""
    assert not plan(wanted(deployment_settings), hub_state(deployment_settings))


def test_new_learner_is_created_and_joins_role_and_course_groups(deployment_settings):
    """A learner added to the roster is created and joins learners and nbgrader-<track>."""
    hub = hub_state(deployment_settings)
    roster.enrol(deployment_settings.home, [roster.Member("cy", "learner", ("beta",))])
    change = plan(wanted(deployment_settings), hub)
    assert change == Change(create=["cy"], add={"learners": ["cy"], "nbgrader-beta": ["cy"]})


def test_removed_user_is_deleted_without_group_calls(deployment_settings):
    """A user no longer on the roster is removed; deleting them ends their memberships."""
    hub = hub_state(deployment_settings)
    roster.withdraw(deployment_settings.home, ["bob"])
    assert plan(wanted(deployment_settings), hub) == Change(remove=["bob"])


def test_role_change_moves_groups(deployment_settings):
    """A learner made instructor leaves learners and nbgrader-<track>, joins instructors and formgrade-*."""
    hub = hub_state(deployment_settings)
    roster.enrol(deployment_settings.home, [roster.Member("ada", "instructor", ())])
    change = plan(wanted(deployment_settings), hub)
    assert change.create == [] and change.remove == []
    assert change.add == {"formgrade-alpha": ["ada"], "formgrade-beta": ["ada"],
                          "instructors": ["ada"]}
    assert change.drop == {"learners": ["ada"], "nbgrader-alpha": ["ada"]}


def test_hub_users_left_from_a_stopped_hub_are_removed(deployment_settings):
    """Someone removed while the hub was stopped is still a hub user: the next change removes them."""
    hub = {**hub_state(deployment_settings), "old": {"learners", "nbgrader-alpha"}}
    assert plan(wanted(deployment_settings), hub).remove == ["old"]


class RecordingHub:
    """Stands in for the hub's REST API in calls that need a running hub (the e2e test has one).

    Servers stop after one look, as JupyterHub answers 202 and stops in the background.
    """

    def __init__(self, servers: dict[str, dict] | None = None, fail_on: str = ""):
        self.calls: list[tuple[str, str, object]] = []
        self.servers = dict(servers or {})
        self.fail_on = fail_on

    def request(self, method, path, body=None, accept="application/json"):
        self.calls.append((method, path, body))
        if self.fail_on and self.fail_on in f"{method} {path}":
            raise HubAPIError(f"{method} {path}: HTTP 403 Forbidden", 403)
        return 200, None

    def user(self, name):
        model = {"name": name, "servers": dict(self.servers)}
        self.servers.clear()
        return model


def test_calls_go_in_order_and_servers_stop_before_the_user_goes():
    """Create, add, drop, then each leaver's servers (named too) stop before their hub user is deleted."""
    hub = RecordingHub(servers={"": {}, "alpha": {}})
    change = Change(create=["cy"], add={"learners": ["cy"]}, drop={"learners": ["ada"]},
                    remove=["bob"])
    done = enrolment.apply(hub, change, sleep=lambda _: None)
    assert hub.calls == [
        ("POST", "users", {"usernames": ["cy"]}),
        ("POST", "groups/learners/users", {"users": ["cy"]}),
        ("DELETE", "groups/learners/users", {"users": ["ada"]}),
        ("DELETE", "users/bob/server", None),
        ("DELETE", "users/bob/servers/alpha", None),
        ("DELETE", "users/bob", None),
    ]
    assert done[0] == "created cy" and "bob" in done[-1]


def test_failure_midway_names_what_was_applied_and_how_to_finish():
    """A refused call stops the update with what was applied and the commands that converge."""
    hub = RecordingHub(fail_on="DELETE groups/learners")
    change = Change(create=["cy"], add={"learners": ["cy"]}, drop={"learners": ["ada"]},
                    remove=["bob"])
    with pytest.raises(RosterSyncError) as info:
        enrolment.apply(hub, change)
    message = info.value.message
    assert "HTTP 403" in message
    assert "created cy; added cy to learners" in message
    assert "again" in message and "qcampus up" in message
    assert ("DELETE", "users/bob", None) not in hub.calls


def test_servers_that_never_stop_fail_the_removal():
    """A server still stopping after the timeout is reported, and the user is not deleted."""

    class Stuck(RecordingHub):
        def user(self, name):
            return {"name": name, "servers": {"": {"pending": "stop"}}}

    hub = Stuck()
    with pytest.raises(RosterSyncError, match="still stopping"):
        enrolment.apply(hub, Change(remove=["bob"]), timeout=0, sleep=lambda _: None)
    assert ("DELETE", "users/bob", None) not in hub.calls


def test_no_running_hub_changes_nothing(deployment_settings):
    """Without a live JupyterHub behind the pid file, nothing is sent (the hub reads the roster at start)."""
    assert enrolment.sync(deployment_settings) is None
    # A pid file left by a killed hub whose pid another program now has.
    other = subprocess.Popen(["sleep", "30"])
    try:
        (deployment_settings.hub_dir / hubapi.PID_FILE).write_text(str(other.pid))
        assert hubapi.running_hub_pid(deployment_settings.hub_dir) == 0
        assert enrolment.sync(deployment_settings) is None
    finally:
        other.kill()
        other.wait()


def test_roster_token_is_created_once_and_private(tmp_path):
    """init creates the token 0600 and keeps it afterwards, so a running hub keeps accepting it."""
    assert hubapi.read_token(tmp_path) is None
    hubapi.ensure_token(tmp_path)
    first = hubapi.read_token(tmp_path)
    assert first and len(first) == 64
    assert stat.S_IMODE(os.stat(hubapi.token_path(tmp_path)).st_mode) == 0o600
    hubapi.ensure_token(tmp_path)
    assert hubapi.read_token(tmp_path) == first


def configured(deployment_settings, **hub) -> Config:
    cfg = configurer.config_from_settings(deployment_settings)
    cfg = {**cfg, "hub": {**cfg["hub"], **hub}}
    c = Config()
    configurer.apply_config(c, cfg)
    return c


def test_roster_service_has_the_token_and_only_its_scopes(deployment_settings):
    """The hub knows the token as service qcampus-roster, whose role holds only the roster's scopes."""
    enrolment.init_token(deployment_settings)
    c = configured(deployment_settings)
    service = [s for s in c.JupyterHub.services if s["name"] == "qcampus-roster"]
    assert service == [{"name": "qcampus-roster",
                        "api_token": hubapi.read_token(deployment_settings.hub_dir)}]
    role = [r for r in c.JupyterHub.load_roles if r.get("services") == ["qcampus-roster"]]
    assert len(role) == 1
    assert sorted(role[0]["scopes"]) == sorted([
        "admin:users", "read:servers", "delete:servers",
        *(f"groups!group={g}" for g in ("learners", "instructors", "examiners",
                                        "nbgrader-alpha", "formgrade-alpha",
                                        "nbgrader-beta", "formgrade-beta"))])


@pytest.mark.parametrize("hub", [{}, {"authenticator": "workshop"}])
def test_no_token_or_workshop_means_no_roster_service(deployment_settings, hub):
    """Without the token file, or with workshop accounts, there is no roster service or role."""
    if hub:
        enrolment.init_token(deployment_settings)
    c = configured(deployment_settings, **hub)
    assert "qcampus-roster" not in [s["name"] for s in c.JupyterHub.services]
    assert not [r for r in c.JupyterHub.load_roles if r.get("services") == ["qcampus-roster"]]


def test_logins_follow_the_roster_file_while_the_hub_runs(deployment_settings):
    """Names added to or removed from roster.yaml are allowed or refused at once; sessions follow."""
    authenticator = RosterAuthenticator(home=str(deployment_settings.home),
                                        check_passwords_on_startup=False,
                                        allowed_users={"ada", "bob"})
    roster.enrol(deployment_settings.home, [roster.Member("cy", "learner", ("alpha",))])
    roster.withdraw(deployment_settings.home, ["bob"])
    assert authenticator.check_allowed("cy")
    assert authenticator.check_allowed("ada")
    assert not authenticator.check_allowed("bob")
    # A session of someone removed while the hub was stopped asks for a new login.
    assert asyncio.run(authenticator.refresh_user(SimpleNamespace(name="ada"))) is True
    assert asyncio.run(authenticator.refresh_user(SimpleNamespace(name="bob"))) is False


class PagedUsers(BaseHTTPRequestHandler):
    """Three users in pages of two, as the hub paginates; 403 without the token."""

    def do_GET(self):
        if self.headers["Authorization"] != "token t0k":
            self.send_response(403)
            self.end_headers()
            self.wfile.write(b'{"message": "Forbidden"}')
            return
        offset = int(parse_qs(urlsplit(self.path).query)["offset"][0])
        names = ["ada", "bob", "cy"][offset:offset + 2]
        following = {"offset": offset + 2} if offset + 2 < 3 else None
        body = {"items": [{"name": n, "groups": []} for n in names],
                "_pagination": {"next": following}}
        self.send_response(200)
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass  # keep the test output clean


@pytest.fixture
def paged_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), PagedUsers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hub/api"
    server.shutdown()
    server.server_close()


def test_client_reads_every_page_and_reports_refusals(paged_server):
    """The client follows the hub's pagination; an error status becomes HubAPIError with it."""
    assert [u["name"] for u in HubAPI(paged_server, "t0k").users()] == ["ada", "bob", "cy"]
    with pytest.raises(HubAPIError) as info:
        list(HubAPI(paged_server, "wrong").users())
    assert info.value.status == 403
