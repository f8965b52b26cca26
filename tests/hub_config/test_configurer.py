"""The hub configuration as data, on a bare traitlets Config."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config import configurer
from hub_config.configurer import HubConfigError, apply_config, config_from_settings, validate
from qcampus import settings


def test_unknown_section_is_named():
    """An unknown configuration section is an error naming it."""
    with pytest.raises(HubConfigError, match="'hubb'"):
        validate({"hubb": {}})


def test_unknown_key_is_named():
    """An unknown key is an error naming section and key."""
    with pytest.raises(HubConfigError, match=r"internal\.hub_prot"):
        validate({"internal": {"hub_prot": 1}})


def test_unknown_hub_setting_is_named():
    """An unknown hub setting is an error naming it."""
    with pytest.raises(HubConfigError, match=r"hub\.portt"):
        validate({"hub": {"portt": 1}})


def test_wrong_type_is_refused():
    """A value of the wrong type is refused, naming the key."""
    with pytest.raises(HubConfigError, match=r"internal\.hub_port"):
        validate({"internal": {"hub_port": "8081"}})


def test_roster_role_is_checked():
    """A roster entry with an unknown role is refused."""
    with pytest.raises(HubConfigError, match="'mallory'"):
        validate({"roster": {"mallory": {"role": "admin"}}})


def test_defaults_are_not_mutated():
    """Validating overrides leaves the defaults untouched."""
    validate({"internal": {"hub_port": 9}, "roster": {"a": {"role": "learner"}}})
    assert configurer.DEFAULTS["internal"]["hub_port"] == 0
    assert configurer.DEFAULTS["roster"] == {}


def test_listens_on_loopback_with_state_under_home(hub_config, deployment_settings):
    """The hub listens on 127.0.0.1:8000 and keeps db and cookie secret under home/hub."""
    hub_dir = deployment_settings.hub_dir
    assert hub_config.JupyterHub.bind_url == "http://127.0.0.1:8000/"
    assert hub_config.JupyterHub.hub_port == 8001
    assert hub_config.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:8002"
    assert hub_config.JupyterHub.db_url == f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}"
    assert hub_config.JupyterHub.cookie_secret_file == str(hub_dir / "jupyterhub_cookie_secret")


def test_hub_database_is_the_hub_schema_of_the_database_server(deployment_settings):
    """With database.url the hub keeps its tables in the schema "hub" of that server."""
    server = "postgresql+psycopg://qcampus:pw@db.example.org:5432/qcampus"
    loaded = settings.load(deployment_settings.home, {"QCAMPUS_DATABASE__URL": server})
    c = Config()
    apply_config(c, config_from_settings(loaded, environ={}))
    assert c.JupyterHub.db_url == f"{server}?options=-csearch_path%3Dhub"


def test_only_enrolled_users_log_in(hub_config):
    """FirstUse never creates users; the roster is the allow list."""
    assert hub_config.JupyterHub.authenticator_class == "hub_config.authenticator.RosterAuthenticator"
    assert hub_config.FirstUseAuthenticator.create_users is False
    assert hub_config.Authenticator.allow_all is False
    assert hub_config.Authenticator.allow_existing_users is False
    assert hub_config.Authenticator.allowed_users == {"teacher", "ada", "bob", "eve"}


def test_authenticator_and_spawner_read_this_deployment(hub_config, deployment_settings):
    """Activation codes, first-use policy and server logs come from this deployment, not the environment."""
    home = deployment_settings.home
    assert hub_config.RosterAuthenticator.home == str(home)
    assert hub_config.RosterAuthenticator.learner_first_use is True
    assert hub_config.QcampusSpawner.log_dir == str(home / "logs" / "servers")


def test_learners_activate_when_first_use_is_off(deployment_settings, monkeypatch):
    """accounts.learner_first_use: false reaches the authenticator."""
    monkeypatch.setenv("QCAMPUS_ACCOUNTS__LEARNER_FIRST_USE", "false")
    c = Config()
    apply_config(c, config_from_settings(settings.load(deployment_settings.home)))
    assert c.RosterAuthenticator.learner_first_use is False


def test_no_admins_by_default(hub_config):
    """Nobody is a hub admin unless the settings name them, not even an enrolled instructor."""
    assert hub_config.Authenticator.admin_users == set()


def test_unenrolled_admin_name_is_dropped(deployment_settings):
    """An admin name nobody enrolled is dropped, so nobody can claim it."""
    cfg = validate({"hub": {"admin_users": ["instructor"]}},
                   base=config_from_settings(deployment_settings))
    c = Config()
    configurer.update_auth(c, cfg)
    assert c.Authenticator.admin_users == set()


def test_enrolled_instructor_can_be_admin(deployment_settings):
    """An admin name that is an enrolled instructor stays admin; a learner never does."""
    cfg = config_from_settings(deployment_settings)
    cfg = validate({"hub": {"admin_users": ["teacher", "ada"]}}, base=cfg)
    c = Config()
    configurer.update_auth(c, cfg)
    assert c.Authenticator.admin_users == {"teacher"}


def test_workshop_mode_uses_temporary_accounts(deployment_settings):
    """Workshop mode logs anyone in with a temporary account and no admins."""
    cfg = validate({"hub": {"authenticator": "workshop"}}, base=config_from_settings(deployment_settings))
    c = Config()
    configurer.update_auth(c, cfg)
    assert c.JupyterHub.authenticator_class == "tmpauthenticator.TmpAuthenticator"
    assert c.Authenticator.admin_users == set()


def test_unknown_authenticator_is_refused(deployment_settings):
    """An unknown authenticator name is an error naming the setting and the choices."""
    with pytest.raises(HubConfigError, match="hub.authenticator .*'firstuse', 'workshop'"):
        validate({"hub": {"authenticator": "pam"}}, base=config_from_settings(deployment_settings))


def test_servers_run_from_shared_venv_without_user_config(hub_config):
    """Servers start jupyterhub-singleuser from the venv and ignore ~/.jupyter."""
    assert hub_config.JupyterHub.spawner_class == "hub_config.spawner.QcampusSpawner"
    assert hub_config.Spawner.cmd == ["/opt/qcampus/venv/bin/jupyterhub-singleuser"]
    assert hub_config.Spawner.disable_user_config is True
    assert hub_config.Spawner.environment["PATH"].startswith("/opt/qcampus/venv/bin:")


def test_kernels_use_unix_sockets(hub_config):
    """Kernels of single-user servers talk over ipc, not loopback TCP."""
    assert "--KernelManager.transport=ipc" in hub_config.Spawner.args


def test_server_token_scopes_are_minimal(hub_config):
    """A server's token touches only its own user and server, and reaches the qcampus service."""
    scopes = hub_config.Spawner.server_token_scopes
    assert set(scopes) == {"access:servers!server", "users:activity!user",
                           "read:users:name!user", "read:users:groups!user",
                           "access:services!service=qcampus"}
    assert all("!" in scope for scope in scopes)


def test_every_user_has_an_origin_by_default(hub_config):
    """By default users and services get their own subdomains of localhost."""
    assert hub_config.JupyterHub.subdomain_host == "http://localhost:8000"
    # Plain HTTP: `__Host-` cookies need `Secure`, which clients send over TLS only.
    assert hub_config.JupyterHub.cookie_host_prefix_enabled is False


def test_subdomains_follow_the_hub_port(deployment_settings, monkeypatch):
    """The default subdomain host names the hub's real port."""
    monkeypatch.setenv("QCAMPUS_HUB__PORT", "9123")
    c = Config()
    apply_config(c, config_from_settings(settings.load(deployment_settings.home)))
    assert c.JupyterHub.subdomain_host == "http://localhost:9123"


def test_shared_origin_only_when_asked(deployment_settings):
    """An empty subdomain_host puts everything in one origin, without __Host- cookies."""
    cfg = validate({"hub": {"subdomain_host": ""}}, base=config_from_settings(deployment_settings))
    c = Config()
    configurer.update_security(c, cfg)
    assert c.JupyterHub.subdomain_host == ""
    assert c.JupyterHub.cookie_host_prefix_enabled is False


def test_unresolved_auto_is_refused():
    """'auto' must be resolved from the settings before the hub is configured."""
    with pytest.raises(HubConfigError, match="resolved"):
        configurer.update_security(Config(), validate({}))


@pytest.mark.parametrize("value", ["hub.example.org", "ftp://hub.example.org",
                                   "https://hub.example.org/prefix", "https://h:port"])
def test_subdomain_host_must_be_an_origin(value):
    """A subdomain host that is not a bare http(s) origin is refused, naming the setting."""
    with pytest.raises(HubConfigError, match=r"hub\.subdomain_host"):
        validate({"hub": {"subdomain_host": value}})


def test_service_url_matches_jupyterhub():
    """The certificates service's public URL is the origin JupyterHub gives the service."""
    from jupyterhub.utils import subdomain_hook_idna

    loaded = settings.Settings(home=Path("/srv/q"), values=settings.merge({}))
    assert loaded.service_url("qcampus") == (
        f"http://{subdomain_hook_idna('qcampus', 'localhost', 'service')}:8000/services/qcampus")
    shared = settings.Settings(home=Path("/srv/q"), values=settings.merge(
        {"hub": {"subdomain_host": ""}}))
    assert shared.service_url("qcampus") == "http://127.0.0.1:8000/services/qcampus"


def test_hub_pages_send_security_headers(hub_config):
    """The hub's pages say nosniff and same-origin referrers, and keep JupyterHub's CSP."""
    headers = hub_config.JupyterHub.tornado_settings["headers"]
    assert headers == {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def test_subdomains_enable_host_prefix(deployment_settings):
    """With subdomain_host set, __Host- cookies are on."""
    cfg = validate({"hub": {"subdomain_host": "https://hub.example.org"}},
                   base=config_from_settings(deployment_settings))
    c = Config()
    configurer.update_security(c, cfg)
    assert c.JupyterHub.subdomain_host == "https://hub.example.org"
    assert c.JupyterHub.cookie_host_prefix_enabled is True


def test_groups_follow_roster(hub_config):
    """Role groups and nbgrader's per-track groups come from the roster."""
    groups = hub_config.JupyterHub.load_groups
    assert groups["learners"]["users"] == ["ada", "bob"]
    assert groups["instructors"]["users"] == ["teacher"]
    assert groups["examiners"]["users"] == ["eve"]
    assert groups["nbgrader-alpha"]["users"] == ["ada", "bob"]
    assert groups["nbgrader-beta"]["users"] == ["bob"]
    assert groups["formgrade-alpha"]["users"] == ["teacher"]
    assert groups["formgrade-beta"]["users"] == ["teacher"]


def test_user_role_is_self_only(hub_config):
    """Every user holds only 'self' and access to the qcampus service; no user or group reaches
    others' servers (only the qcampus service reaches learners', for exam tasks)."""
    roles = {r["name"]: r for r in hub_config.JupyterHub.load_roles}
    assert roles["user"]["scopes"] == ["self", "access:services!service=qcampus"]
    for role in roles.values():
        if role.get("services"):
            continue
        assert not any(s.startswith(("admin", "access:servers", "servers")) for s in role["scopes"])


def test_services_have_explicit_filtered_roles(hub_config):
    """The culler and the qcampus service have exactly their documented scopes; none is unassigned."""
    roles = {r["name"]: r for r in hub_config.JupyterHub.load_roles}
    services = {s["name"] for s in hub_config.JupyterHub.services}
    assert services == {"idle-culler", "qcampus", "qcampus-redis", "qcampus-grading"}
    assert roles["idle-culler"]["services"] == ["idle-culler"]
    assert set(roles["idle-culler"]["scopes"]) == {
        "list:users", "read:users:activity", "read:servers", "delete:servers"}
    assert roles["qcampus-service"] == {
        "name": "qcampus-service",
        "description": "Identify users; place and collect exam tasks in learners' servers.",
        "scopes": ["read:servers!group=learners", "access:servers"],
        "services": ["qcampus"]}
    culler = hub_config.JupyterHub.services[0]
    assert "--timeout=3600" in culler["command"]


def test_certificates_service_runs_by_default(hub_config, deployment_settings):
    """The qcampus service runs by default on loopback, reading the deployment's settings."""
    service = next(s for s in hub_config.JupyterHub.services if s["name"] == "qcampus")
    assert service["url"] == "http://127.0.0.1:10101"
    assert service["command"][-3:] == ["-m", "web", "--workers=2"]
    assert service["environment"]["QCAMPUS_HOME"] == str(deployment_settings.home)
    assert service["oauth_no_confirm"] is True


def test_certificates_service_workers_follow_the_settings(deployment_settings):
    """hub.service_workers sets the service's gunicorn workers; zero is refused, naming the key."""
    cfg = validate({"hub": {"service_workers": 4}}, base=config_from_settings(deployment_settings))
    c = Config()
    configurer.update_services(c, cfg)
    service = next(s for s in c.JupyterHub.services if s["name"] == "qcampus")
    assert service["command"][-1] == "--workers=4"
    with pytest.raises(HubConfigError, match=r"service_workers"):
        validate({"hub": {"service_workers": 0}})


def test_rate_limit_store_runs_beside_the_certificates_service(hub_config, deployment_settings):
    """The service's Redis is a managed service of its own, with no URL, port or scope."""
    store = next(s for s in hub_config.JupyterHub.services if s["name"] == "qcampus-redis")
    assert store["command"][-2:] == ["-m", "web.ratelimit_store"]
    assert store["environment"]["QCAMPUS_HOME"] == str(deployment_settings.home)
    assert "url" not in store and not any("6379" in part for part in store["command"])
    roles = {r["name"]: r for r in hub_config.JupyterHub.load_roles}
    assert not any("qcampus-redis" in role.get("services", []) for role in roles.values())


def test_grading_service_runs_without_url_or_scope(hub_config, deployment_settings):
    """The grading service is started with the deployment; it has no URL, no port and no hub scope."""
    grading = next(s for s in hub_config.JupyterHub.services if s["name"] == "qcampus-grading")
    assert grading["command"][-2:] == ["-m", "submissions.grading"]
    assert grading["environment"]["QCAMPUS_HOME"] == str(deployment_settings.home)
    assert "url" not in grading and "api_token" not in grading
    roles = {r["name"]: r for r in hub_config.JupyterHub.load_roles}
    assert not any("qcampus-grading" in role.get("services", []) for role in roles.values())


def test_certificates_service_gets_the_settings_overrides(deployment_settings):
    """QCAMPUS_* variables of the hub reach the service; QCAMPUS_HOME stays the deployment's."""
    environ = {"QCAMPUS_HUB__PORT": "9000", "QCAMPUS_SERVICE_RATELIMIT_VERIFY": "5/minute",
               "QCAMPUS_HOME": "/elsewhere", "HOME": "/root", "PATH": "/usr/bin"}
    cfg = config_from_settings(deployment_settings, environ)
    c = Config()
    configurer.update_services(c, cfg)
    service = next(s for s in c.JupyterHub.services if s["name"] == "qcampus")
    assert service["environment"] == {
        "QCAMPUS_HUB__PORT": "9000", "QCAMPUS_SERVICE_RATELIMIT_VERIFY": "5/minute",
        "QCAMPUS_HOME": str(deployment_settings.home)}


@pytest.mark.parametrize("environment", [{"HOME": "/root"}, {"QCAMPUS_HUB__PORT": 9000}])
def test_service_environment_holds_only_qcampus_text(environment):
    """Only text QCAMPUS_* variables may be passed to the service."""
    with pytest.raises(HubConfigError, match=r"internal\.service_environment"):
        validate({"internal": {"service_environment": environment}})


def test_certificates_service_can_be_turned_off(deployment_settings):
    """With hub.certificates_service false there is no service, role or access scope for it."""
    cfg = validate({"hub": {"certificates_service": False}},
                   base=config_from_settings(deployment_settings))
    c = Config()
    apply_config(c, cfg)
    assert {s["name"] for s in c.JupyterHub.services} == {"idle-culler"}
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["user"]["scopes"] == ["self"]
    assert "qcampus-service" not in roles


def test_instructors_get_a_named_server_per_track(hub_config):
    """Named servers are allowed, at most one per track."""
    assert hub_config.JupyterHub.allow_named_servers is True
    assert hub_config.JupyterHub.named_server_limit_per_user == 2
    assert hub_config.QcampusSpawner.tracks == ["alpha", "beta"]


def test_jupyterhub_config_file_loads(deployment_settings, monkeypatch):
    """The thin jupyterhub_config.py applies the deployment's settings."""
    from pathlib import Path

    from traitlets.config.loader import PyFileConfigLoader

    import hub_config

    monkeypatch.setenv("QCAMPUS_HOME", str(deployment_settings.home))
    loader = PyFileConfigLoader("jupyterhub_config.py", path=str(Path(hub_config.__file__).parent))
    c = loader.load_config()
    assert c.Authenticator.allowed_users == {"teacher", "ada", "bob", "eve"}
