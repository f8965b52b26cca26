"""Turn a deployment's settings and roster into JupyterHub configuration.

The configuration is plain data: :data:`DEFAULTS` overlaid with validated
overrides (an unknown section or key is an error that names it), built from a
deployment by :func:`config_from_settings`. Each ``update_<section>(c, cfg)``
function only *sets* traits on a ``traitlets.config.Config``, so the whole
configuration is tested as data without starting a hub.

Security choices (see docs/architecture.md, section "Hub"):

- single-user servers run as per-user system users ``jupyter-<name>`` and never
  read configuration from the user's home (``disable_user_config``);
- their API token carries only the scopes nbgrader needs (``server_token_scopes``);
- kernels talk over Unix sockets in the user's 0700 home (``KernelManager.transport='ipc'``),
  not over loopback TCP that any local user can connect to;
- failed logins are limited per client address and per account (HTTP 429,
  ``internal.login_attempts`` within ``internal.login_window`` seconds);
- every service has an explicit role with filtered scopes;
- every user's server and every service has its own origin (``subdomain_host``,
  ``http://localhost:<port>`` by default, whose subdomains browsers resolve to
  loopback); without it all servers share one origin and a learner's page could
  use a staff member's sessions.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub_config import hubapi
from qcampus import roster as roster_mod
from qcampus.database import HUB_SCHEMA
from qcampus.deployment import tracks as find_tracks
from qcampus.errors import SettingsError
from qcampus.settings import DEFAULTS as SETTINGS_DEFAULTS
from qcampus.settings import ENV_PREFIX, Settings, env_variables, merge

GROUPS = {"learner": "learners", "instructor": "instructors", "examiner": "examiners"}
# System group that owns the nbgrader course directories (setgid, 2770).
INSTRUCTORS_SYSTEM_GROUP = "qcampus-instructors"
SERVICE_NAME = "qcampus"

# Scopes of $JUPYTERHUB_API_TOKEN in a user's server: report activity, let the
# browser reach the server, and let nbgrader's JupyterHubAuthPlugin read the
# user's own groups (nbgrader-<course> / formgrade-<course>) to list courses.
SERVER_TOKEN_SCOPES = [
    "access:servers!server",
    "users:activity!user",
    "read:users:name!user",
    "read:users:groups!user",
]
# With the qcampus service, a server's token also reaches it: the exchange identifies the
# server's user by this token (submissions.exchange.api).
SERVICE_ACCESS_SCOPE = "access:services!service=qcampus"
# The grading service makes no hub API call: it reads submissions from the database and
# writes gradebooks and feedback as root.
GRADING_SERVICE = "qcampus-grading"
# jupyterhub-idle-culler's documented minimum.
CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
# The qcampus service signs users in with HubOAuth, which reads the signed-in user's
# name and groups with the user's token (JupyterHub's "identify" scopes). Its own token
# only places an exam's Part B notebooks into a learner's running server and collects
# them (exams.lab, through the Jupyter server REST API): it may find the server of a
# learner only, and reach servers; it cannot start, stop or create anyone's server.
# `access:servers` is unfiltered because a single-user server cannot resolve a group
# filter (jupyterhub.services.auth.check_scopes: "except for groups -> user") and
# refuses `access:servers!group=learners` with 403; the service runs as root in any case.
SERVICE_SCOPES: list[str] = [f"read:servers!group={GROUPS['learner']}", "access:servers"]
# `qcampus roster add/remove` updates a running hub as this service (hub_config.enrolment):
# create and delete users, see and stop their servers. Group membership is added per
# managed group (`groups!group=...`). Neither admin:servers, tokens, access:servers nor
# admin:groups: it cannot start, open or impersonate anyone, and JupyterHub 6.1.1 refuses
# "admin": true from a non-admin holder of admin:users (CVE-2024-41942).
ROSTER_SERVICE = "qcampus-roster"
ROSTER_SCOPES = ["admin:users", "read:servers", "delete:servers"]

DEFAULTS: dict[str, dict[str, Any]] = {
    "hub": copy.deepcopy(SETTINGS_DEFAULTS["hub"]),
    "paths": {
        "home": "",
        "courses_root": "",
        "exchange": "",
        "hub_dir": "",
        # Root-owned Jupyter configuration read by users' servers (see singleuser.py).
        "singleuser_config": "",
        # Root-only directory of each server's own log (never the hub's output).
        "server_logs": "",
    },
    "internal": {
        # The hub's own API port and the proxy's API port, on loopback; 0 means hub.port + 1 / + 2.
        "hub_port": 0,
        "proxy_api_port": 0,
        "min_password_length": 8,
        # Failed logins per client address and per account within login_window
        # seconds before further attempts get HTTP 429 (see authenticator.py).
        "login_attempts": 10,
        "login_window": 900,
        # Setting accounts.learner_first_use: learners choose their password at first
        # login; staff always activate with a one-time code.
        "learner_first_use": True,
        # The hub's database (setting database.url, schema "hub"); "" is hub/jupyterhub.sqlite.
        "db_url": "",
        # The qcampus-roster service's API token (hub/roster-token); "" before init made it.
        "roster_token": "",
        # QCAMPUS_* variables the hub was started with, passed on to the certificates
        # service so it reads the same settings (e.g. QCAMPUS_HUB__PORT for its public URL).
        "service_environment": {},
    },
    # username -> {"role": ..., "tracks": [...]}
    "roster": {},
    "tracks": {"ids": []},
}

# Keys whose value must be a whole number of at least 1.
POSITIVE_KEYS = {"internal": ("min_password_length", "login_attempts", "login_window")}


class HubConfigError(SettingsError):
    """The hub configuration has an unknown key or a value of the wrong type."""


def validate(overrides: Mapping[str, Any], base: Mapping[str, Any] = DEFAULTS) -> dict[str, Any]:
    """Return *base* overlaid with *overrides*, refusing unknown sections and keys.

    Raises:
        HubConfigError: a section or key is unknown, or a value has the wrong type.
    """
    cfg = copy.deepcopy(dict(base))
    for section, values in overrides.items():
        if section not in DEFAULTS:
            raise HubConfigError(f"Unknown hub configuration section {section!r}; known: "
                                 f"{', '.join(sorted(DEFAULTS))}.")
        if not isinstance(values, Mapping):
            raise HubConfigError(f"Hub configuration section {section!r} must be a mapping.")
        if section == "roster":
            cfg["roster"] = _validate_roster(values)
            continue
        if section == "hub":
            try:
                cfg["hub"] = merge({"hub": values}, base={"hub": cfg["hub"]},
                                   origin="hub configuration")["hub"]
            except SettingsError as exc:
                raise HubConfigError(exc.message) from exc
            continue
        for key, value in values.items():
            if key not in DEFAULTS[section]:
                raise HubConfigError(f"Unknown hub configuration key {section}.{key}; known keys "
                                     f"of {section}: {', '.join(sorted(DEFAULTS[section]))}.")
            expected = type(DEFAULTS[section][key])
            if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
                raise HubConfigError(f"Hub configuration {section}.{key} must be "
                                     f"{expected.__name__}, not {value!r}.")
            if key == "service_environment" and not all(
                    isinstance(n, str) and n.startswith(ENV_PREFIX) and isinstance(v, str)
                    for n, v in value.items()):
                raise HubConfigError(f"Hub configuration {section}.{key} may only hold text "
                                     f"variables named {ENV_PREFIX}*.")
            if key in POSITIVE_KEYS.get(section, ()) and value < 1:
                raise HubConfigError(f"Hub configuration {section}.{key} must be at least 1, "
                                     f"not {value!r}.")
            cfg[section][key] = copy.deepcopy(value)
    return cfg


def _validate_roster(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    roster: dict[str, dict[str, Any]] = {}
    for name, entry in values.items():
        if not isinstance(entry, Mapping) or entry.get("role") not in GROUPS:
            raise HubConfigError(f"Roster entry {name!r} needs a role among {', '.join(GROUPS)}.")
        roster[name] = {"role": entry["role"], "tracks": list(entry.get("tracks") or [])}
    return roster


def config_from_settings(settings: Settings,
                         environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the hub configuration of the deployment described by *settings*.

    *environ* (default ``os.environ``) supplies the ``QCAMPUS_*`` variables the
    certificates service inherits.
    """
    environ = os.environ if environ is None else environ
    members = roster_mod.load(settings.home)
    return validate({
        # "auto" resolved here, so the hub and the certificates service agree on origins.
        "hub": {**settings["hub"], "subdomain_host": settings.subdomain_host},
        "paths": {
            "home": str(settings.home),
            "courses_root": str(settings.courses_root),
            "exchange": str(settings.exchange),
            "hub_dir": str(settings.hub_dir),
            "singleuser_config": str(settings.home / "jupyter"),
            "server_logs": str(settings.logs / "servers"),
        },
        "internal": {
            "learner_first_use": settings["accounts"]["learner_first_use"],
            "db_url": settings.schema_url(HUB_SCHEMA),
            "roster_token": hubapi.read_token(settings.hub_dir) or "",
            "service_environment": {name: value for name, value in env_variables(environ).items()
                                    if name != "QCAMPUS_HOME"},
        },
        "roster": {name: m.as_dict() for name, m in members.items()},
        "tracks": {"ids": find_tracks(settings.courses_source)
                   or sorted(p.name for p in settings.courses_root.glob("*") if p.is_dir())},
    })


def _ports(cfg: Mapping[str, Any]) -> tuple[int, int]:
    port = cfg["hub"]["port"]
    return (cfg["internal"]["hub_port"] or port + 1, cfg["internal"]["proxy_api_port"] or port + 2)


def update_base(c, cfg: Mapping[str, Any]) -> None:
    """Set where the hub listens and where it keeps its database and secrets."""
    hub, hub_dir = cfg["hub"], Path(cfg["paths"]["hub_dir"])
    hub_port, proxy_api_port = _ports(cfg)
    c.JupyterHub.bind_url = f"http://{hub['ip']}:{hub['port']}/"
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = hub_port
    c.JupyterHub.db_url = cfg["internal"]["db_url"] or f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(hub_dir / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(hub_dir / "jupyterhub.pid")
    # Single-user servers stop with the hub (Ctrl-C); after a SIGKILL the next
    # start finds them again through the pids in the database.
    c.JupyterHub.cleanup_servers = True
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(hub_dir / "proxy.pid")
    c.ConfigurableHTTPProxy.command = [hub["proxy_command"] or
                                       "/opt/qcampus/node_modules/.bin/configurable-http-proxy"]


def update_auth(c, cfg: Mapping[str, Any]) -> None:
    """Choose the authenticator: an enrolled roster with first-use passwords, or workshop."""
    hub = cfg["hub"]
    if hub["authenticator"] == "workshop":
        c.JupyterHub.authenticator_class = "tmpauthenticator.TmpAuthenticator"
        c.Authenticator.allow_all = True
        c.Authenticator.admin_users = set()
        return
    if hub["authenticator"] != "firstuse":
        raise HubConfigError(f"Setting hub.authenticator must be 'firstuse' or 'workshop', not "
                             f"{hub['authenticator']!r}.")
    roster = cfg["roster"]
    c.JupyterHub.authenticator_class = "hub_config.authenticator.RosterAuthenticator"
    # Only users already in the hub's database may log in: the roster puts them there.
    c.FirstUseAuthenticator.create_users = False
    c.FirstUseAuthenticator.dbm_path = str(Path(cfg["paths"]["hub_dir"]) / "passwords.dbm")
    c.FirstUseAuthenticator.min_password_length = cfg["internal"]["min_password_length"]
    c.RosterAuthenticator.login_attempts = cfg["internal"]["login_attempts"]
    c.RosterAuthenticator.login_window = cfg["internal"]["login_window"]
    c.RosterAuthenticator.home = cfg["paths"]["home"]
    c.RosterAuthenticator.learner_first_use = cfg["internal"]["learner_first_use"]
    c.Authenticator.allow_all = False
    # Someone removed from the roster must not keep logging in because the hub remembers them.
    c.Authenticator.allow_existing_users = False
    c.Authenticator.allowed_users = set(roster)
    # An admin name that nobody enrolled would exist in the hub without a password,
    # and the first visitor would choose it: admins must be enrolled instructors.
    c.Authenticator.admin_users = {name for name in hub["admin_users"]
                                   if roster.get(name, {}).get("role") == "instructor"}


def update_spawner(c, cfg: Mapping[str, Any]) -> None:
    """Start each server as its user's system user from the shared, root-owned venv."""
    hub, paths = cfg["hub"], cfg["paths"]
    venv = Path(hub["venv"])
    c.JupyterHub.spawner_class = "hub_config.spawner.QcampusSpawner"
    c.Spawner.cmd = [str(venv / "bin" / "jupyterhub-singleuser")]
    c.Spawner.args = ["--KernelManager.transport=ipc"]
    c.Spawner.default_url = "/lab"
    c.Spawner.notebook_dir = "~"
    c.Spawner.disable_user_config = True
    c.Spawner.server_token_scopes = SERVER_TOKEN_SCOPES + (
        [SERVICE_ACCESS_SCOPE] if hub["certificates_service"] else [])
    c.Spawner.env_keep = ["LANG", "LC_ALL"]
    c.Spawner.environment = {"PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
    c.QcampusSpawner.config_root = paths["singleuser_config"]
    c.QcampusSpawner.tracks = list(cfg["tracks"]["ids"])
    c.QcampusSpawner.courses_root = paths["courses_root"]
    c.QcampusSpawner.instructors_system_group = INSTRUCTORS_SYSTEM_GROUP
    c.QcampusSpawner.log_dir = paths["server_logs"]
    # Instructors get one named server per track, each with that track's formgrader.
    c.JupyterHub.allow_named_servers = True
    c.JupyterHub.named_server_limit_per_user = max(1, len(cfg["tracks"]["ids"]))


def groups(cfg: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Return the hub groups: one per role, plus nbgrader's ``nbgrader-``/``formgrade-<track>``."""
    result: dict[str, dict[str, list[str]]] = {g: {"users": []} for g in GROUPS.values()}
    for track in cfg["tracks"]["ids"]:
        result[f"nbgrader-{track}"] = {"users": []}
        result[f"formgrade-{track}"] = {"users": []}
    for name, entry in sorted(cfg["roster"].items()):
        result[GROUPS[entry["role"]]]["users"].append(name)
        if entry["role"] == "learner":
            for track in entry["tracks"]:
                if f"nbgrader-{track}" in result:
                    result[f"nbgrader-{track}"]["users"].append(name)
        elif entry["role"] == "instructor":
            for track in cfg["tracks"]["ids"]:
                result[f"formgrade-{track}"]["users"].append(name)
    return result


def update_groups(c, cfg: Mapping[str, Any]) -> None:
    """Load the role and course groups from the roster (JupyterHub only ever adds members)."""
    c.JupyterHub.load_groups = groups(cfg)


def update_roles(c, cfg: Mapping[str, Any]) -> None:
    """Give each group and service an explicit role with filtered scopes."""
    user_scopes = ["self"]
    if cfg["hub"]["certificates_service"]:
        user_scopes.append(f"access:services!service={SERVICE_NAME}")
    roles = [
        {"name": "user", "description": "Every user: their own servers only.",
         "scopes": user_scopes},
        {"name": "qcampus-instructor", "description": "See learners and course groups.",
         "scopes": ["list:users", "read:users:name", "read:users:groups", "read:users:activity",
                    "list:groups", "read:groups", "list:services", "read:services"],
         "groups": ["instructors"]},
        {"name": "qcampus-examiner", "description": "See who the candidates are.",
         "scopes": ["list:users", "read:users:name", "read:users:groups"],
         "groups": ["examiners"]},
        {"name": "idle-culler", "description": "Stop idle servers.",
         "scopes": list(CULLER_SCOPES), "services": ["idle-culler"]},
    ]
    if cfg["hub"]["certificates_service"]:
        roles.append({"name": "qcampus-service",
                      "description": "Identify users; place and collect exam tasks in learners' servers.",
                      "scopes": list(SERVICE_SCOPES), "services": [SERVICE_NAME]})
    if _roster_service(cfg):
        roles.append({
            "name": ROSTER_SERVICE, "description": "Apply roster changes to the running hub.",
            "scopes": ROSTER_SCOPES + [f"groups!group={name}" for name in sorted(groups(cfg))],
            "services": [ROSTER_SERVICE]})
    c.JupyterHub.load_roles = roles


def update_services(c, cfg: Mapping[str, Any]) -> None:
    """Run the idle culler, the roster token's service and, unless turned off, the qcampus web service."""
    hub, venv = cfg["hub"], Path(cfg["hub"]["venv"])
    services: list[dict[str, Any]] = [{
        "name": "idle-culler",
        "command": [str(venv / "bin" / "python"), "-m", "jupyterhub_idle_culler",
                    f"--timeout={hub['idle_timeout']}"],
        # Lets `qcampus up` recognise this deployment's services orphaned by a killed hub.
        "environment": {"QCAMPUS_HOME": cfg["paths"]["home"]},
    }]
    if hub["certificates_service"]:
        services.append({
            "name": SERVICE_NAME,
            "url": f"http://127.0.0.1:{hub['certificates_port']}",
            "command": [str(venv / "bin" / "python"), "-m", "web",
                        f"--workers={hub['service_workers']}"],
            # It reads the deployment's settings itself, with the same overrides as the hub.
            "environment": {**cfg["internal"]["service_environment"],
                            "QCAMPUS_HOME": cfg["paths"]["home"]},
            "oauth_no_confirm": True,
            "display": True,
        })
        # The service's rate-limit counters: its own Redis on a root-only Unix socket with a
        # password, not a shared one on TCP that every local user can reach.
        services.append({
            "name": "qcampus-redis",
            "command": [str(venv / "bin" / "python"), "-m", "web.ratelimit_store"],
            "environment": {**cfg["internal"]["service_environment"],
                            "QCAMPUS_HOME": cfg["paths"]["home"]},
        })
        # Grades every submission as it arrives (embedded workers), or hands it to Celery
        # workers when grading.broker is set; runs as root to start the sandbox. Started
        # after the rate-limit store, which the qcampus service must find running.
        services.append({
            "name": GRADING_SERVICE,
            "command": [str(venv / "bin" / "python"), "-m", "submissions.grading"],
            "environment": {**cfg["internal"]["service_environment"],
                            "QCAMPUS_HOME": cfg["paths"]["home"]},
        })
    if _roster_service(cfg):
        services.append({"name": ROSTER_SERVICE, "api_token": cfg["internal"]["roster_token"]})
    c.JupyterHub.services = services


def _roster_service(cfg: Mapping[str, Any]) -> bool:
    """Tell whether the roster token's service runs: first-use accounts and an initialised token.

    Without the token file (never initialised) there is no service, and roster
    changes wait for a restart; workshop accounts have no roster.
    """
    return cfg["hub"]["authenticator"] == "firstuse" and bool(cfg["internal"]["roster_token"])


def update_security(c, cfg: Mapping[str, Any]) -> None:
    """Give every user's server and every service its own origin (``subdomain_host``).

    Everything under ``/user/<name>/`` is served by a process the learner controls;
    in a shared origin a page there could use the sessions that a staff member's
    browser holds for the hub or the certificates service. With subdomains the hub
    stays on the host itself, users on ``<name>.<host>`` and services on
    ``<service>--service.<host>`` (JupyterHub's ``subdomain_hook_idna``).
    """
    subdomain_host = cfg["hub"]["subdomain_host"]
    if subdomain_host == "auto":
        raise HubConfigError("hub.subdomain_host must be resolved (config_from_settings) "
                             "before the hub is configured.")
    c.JupyterHub.subdomain_host = subdomain_host
    # `__Host-` cookies need `Secure`, which HTTP clients only send over TLS; with
    # per-user subdomains they also stop a learner's subdomain from tossing cookies
    # onto the hub (CVE-2024-28233). On plain http (the one-machine demo) the
    # service's session is server-side and rotated at login instead.
    c.JupyterHub.cookie_host_prefix_enabled = subdomain_host.startswith("https://")
    c.JupyterHub.cookie_max_age_days = 1
    # Added to the hub's own pages; JupyterHub keeps its CSP (frame-ancestors 'none').
    c.JupyterHub.tornado_settings = {"headers": {"X-Content-Type-Options": "nosniff",
                                                 "Referrer-Policy": "same-origin"}}
    c.JupyterHub.redirect_to_server = True


def apply_config(c, cfg: Mapping[str, Any]) -> None:
    """Set every section of *cfg* on the traitlets config *c*."""
    update_base(c, cfg)
    update_auth(c, cfg)
    update_spawner(c, cfg)
    update_groups(c, cfg)
    update_roles(c, cfg)
    update_services(c, cfg)
    update_security(c, cfg)
