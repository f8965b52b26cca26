"""Bring a running hub to the deployment's roster (entry point ``qcampus.roster: hub``).

``qcampus roster add`` and ``remove`` write ``roster.yaml`` first; the roster
file stays the source of truth, and the hub's login check reads it at every
login. Then, if this deployment's hub is running, :func:`sync` compares the
hub's users and group memberships with the roster and sends the difference
through the REST API with the roster token (:mod:`hub_config.hubapi`):

1. create the enrolled users the hub does not know;
2. add members to the role groups and nbgrader's ``nbgrader-``/``formgrade-<track>``;
3. take enrolled users out of the groups they no longer belong to;
4. for each hub user no longer enrolled: stop every server (named ones too),
   then delete the hub user, which ends their sessions and tokens.

Deleting a hub user touches nothing on disk but the first-use password: the
system user ``jupyter-<name>``, their home, their submissions in the exchange
and course directories and their grades in the gradebook all stay. Enrolled
again, they choose a password at first login (staff with a new code) and find
the same home. The comparison covers the whole roster, so running any roster
command again, or restarting the hub, finishes a change that stopped midway.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub_config import configurer
from hub_config.hubapi import HubAPI, HubAPIError, ensure_token, read_token, running_hub_pid
from qcampus.errors import ServiceError
from qcampus.settings import Settings


class RosterSyncError(ServiceError):
    """The roster file was saved but the running hub was updated only in part."""


@dataclass
class Change:
    """The hub API calls that bring the hub's users and groups to the roster."""

    create: list[str] = field(default_factory=list)
    add: dict[str, list[str]] = field(default_factory=dict)
    drop: dict[str, list[str]] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create or self.add or self.drop or self.remove)


def plan(wanted: Mapping[str, list[str]], hub_users: Mapping[str, set[str]]) -> Change:
    """Return the change from the hub's state to the roster's.

    Args:
        wanted: Members of every group the roster manages (``configurer.groups``),
            each listed under its role group at least.
        hub_users: The hub's users, each with the groups it belongs to.
    """
    enrolled = {name for members in wanted.values() for name in members}
    change = Change(create=sorted(enrolled - set(hub_users)),
                    remove=sorted(set(hub_users) - enrolled))
    for group, members in sorted(wanted.items()):
        have = {name for name, groups in hub_users.items() if group in groups}
        if joining := sorted(set(members) - have):
            change.add[group] = joining
        # A removed user leaves every group when the hub deletes them.
        if leaving := sorted(have - set(members) - set(change.remove)):
            change.drop[group] = leaving
    return change


def stop_servers(api: HubAPI, name: str, timeout: float = 60,
                 sleep: Callable[[float], None] = time.sleep) -> None:
    """Stop every server of *name* (JupyterHub refuses to delete a user with a named one running).

    Raises:
        HubAPIError: a server is still stopping after *timeout* seconds.
    """
    quoted = urllib.parse.quote(name)
    model = api.user(name)
    for server in (model or {}).get("servers", {}):
        api.request("DELETE", f"users/{quoted}/servers/{urllib.parse.quote(server)}"
                    if server else f"users/{quoted}/server")
    deadline = time.monotonic() + timeout
    while model and model.get("servers"):
        if time.monotonic() > deadline:
            raise HubAPIError(f"the servers of {name} were still stopping after {timeout:.0f} s")
        sleep(0.5)
        model = api.user(name)


def apply(api: HubAPI, change: Change, **stop_options: Any) -> list[str]:
    """Send *change* to the hub in order; return what was done, in words.

    Raises:
        RosterSyncError: a call failed; its message lists what was applied before.
    """
    done: list[str] = []
    try:
        if change.create:
            api.request("POST", "users", {"usernames": change.create})
            done.append(f"created {', '.join(change.create)}")
        for group, names in change.add.items():
            api.request("POST", f"groups/{group}/users", {"users": names})
            done.append(f"added {', '.join(names)} to {group}")
        for group, names in change.drop.items():
            api.request("DELETE", f"groups/{group}/users", {"users": names})
            done.append(f"took {', '.join(names)} out of {group}")
        for name in change.remove:
            stop_servers(api, name, **stop_options)
            api.request("DELETE", f"users/{urllib.parse.quote(name)}")
            done.append(f"stopped the servers of {name} and ended their hub access")
    except HubAPIError as exc:
        applied = "; ".join(done) or "nothing"
        raise RosterSyncError(
            f"The roster file is saved and logins follow it, but updating the running hub "
            f"failed: {exc.message}. Applied before the failure: {applied}. Run the same "
            f"command again, or restart the hub (Ctrl-C, then `qcampus up`), to finish.") from exc
    return done


def hub_api(settings: Settings, cfg: Mapping[str, Any], token: str) -> HubAPI:
    """Return a client of the hub's own API port on loopback."""
    hub_port, _ = configurer._ports(cfg)
    return HubAPI(f"http://127.0.0.1:{hub_port}/hub/api", token)


def sync(settings: Settings) -> str | None:
    """Bring this deployment's running hub to its roster; None when no hub of it runs.

    Raises:
        RosterSyncError: the hub could not be updated, or only in part (what was applied is named).
    """
    if settings["hub"]["authenticator"] != "firstuse" or not running_hub_pid(settings.hub_dir):
        return None  # workshop accounts do not come from the roster; a stopped hub reads it at start
    token = read_token(settings.hub_dir)
    if token is None:
        raise RosterSyncError("The roster file is saved, but the running hub has no roster "
                              "token to be updated with. Restart it (Ctrl-C, then `qcampus up`): "
                              "it reads the roster at start.")
    cfg = configurer.config_from_settings(settings)
    api = hub_api(settings, cfg, token)
    try:
        hub_users = {user["name"]: set(user.get("groups") or ()) for user in api.users()}
    except HubAPIError as exc:
        raise RosterSyncError(f"The roster file is saved, but the running hub could not be "
                              f"read: {exc.message}. Restart it (Ctrl-C, then `qcampus up`) "
                              f"to apply the roster.") from exc
    wanted = {group: entry["users"] for group, entry in configurer.groups(cfg).items()}
    done = apply(api, plan(wanted, hub_users))
    return ("The running hub was updated: " + "; ".join(done) + "." if done
            else "The running hub already matched the roster.")


def init_token(settings: Settings) -> None:
    """Create the roster token in ``hub/`` (step of ``qcampus init``, entry point ``hub-roster``)."""
    ensure_token(settings.hub_dir)
