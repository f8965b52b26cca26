"""Load, validate and write the settings of one deployment.

A deployment is a data directory (``QCAMPUS_HOME``, default ``./var``) with one
settings file, ``settings.yaml``. Every setting has a default that works on one
machine; the file overrides the defaults and environment variables named
``QCAMPUS_<SECTION>__<KEY>`` override the file. Unknown sections or keys are an
error that names them, as a typo must never be silently ignored.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from qcampus import DEPLOYMENT_VERSION
from qcampus.database import (
    CERTIFICATES_SCHEMA,
    HUB_SCHEMA,
    SUBMISSIONS_SCHEMA,
    gradebook_schema,
    schema_url,
)
from qcampus.errors import SettingsError

SETTINGS_FILE = "settings.yaml"
ENV_PREFIX = "QCAMPUS_"

DEFAULTS: dict[str, dict[str, Any]] = {
    "deployment": {
        # Layout version of the data directory; written by ``qcampus init``.
        "version": DEPLOYMENT_VERSION,
        "name": "qcampus",
    },
    "hub": {
        "ip": "127.0.0.1",
        "port": 8000,
        # "firstuse": instructors enrol a roster, learners choose a password at first login.
        # "workshop": temporary accounts without e-mail for outreach sessions.
        "authenticator": "firstuse",
        # Hub admins can open every learner's server: none unless named here
        # (and only enrolled instructors are kept).
        "admin_users": [],
        "idle_timeout": 3600,
        # Directory of the Python environment learners' servers run from. It must
        # be readable by every learner, so it never lives under /root.
        "venv": "/opt/qcampus/venv",
        "proxy_command": "",
        # Origin isolation: every user's server and every service on its own subdomain
        # (JupyterHub's subdomain_host), so a page a learner controls can never act in
        # the hub's or the certificates service's origin. "auto" is
        # http://localhost:<port>, whose subdomains browsers resolve to loopback (one
        # machine); production names its wildcard host, e.g. "https://hub.example.org"
        # (DNS wildcard and TLS). "" puts everything in one origin: unsafe with learners.
        "subdomain_host": "auto",
        # Run the certificates web service at /services/qcampus/ as a managed service
        # (listening on 127.0.0.1:certificates_port behind the hub's proxy).
        "certificates_service": True,
        "certificates_port": 10101,
    },
    "courses": {
        # Where the nbgrader source notebooks of the tracks live (a checkout's courses/).
        "source": "courses",
    },
    "accounts": {
        # Learners choose their password at their first login. false: they activate
        # with a one-time code from `qcampus roster add`, as staff always do.
        "learner_first_use": True,
        # Hours an activation code printed by `qcampus roster add` stays valid.
        "activation_hours": 168,
    },
    "database": {
        # One PostgreSQL server for every component when one machine is not enough, e.g.
        # postgresql+psycopg://qcampus@127.0.0.1:5432/qcampus. Each keeps its own schema
        # (JupyterHub, nbgrader and Alembic all name a table alembic_version): hub,
        # gradebook_<track>, submissions, certificates; `qcampus init` creates them.
        # "" keeps every component's SQLite file in the deployment directory.
        # certificates.database_url and submissions.database_url still win when set.
        "url": "",
        # URL instructors' servers (formgrader) open their track's gradebook with; "" is url.
        # Every instructor can read it: name a role that reaches only the gradebook schemas.
        "instructors_url": "",
    },
    "certificates": {
        "database_url": "",
        "public_url": "",
        "issuer_name": "qcampus",
    },
    "submissions": {
        # SQLAlchemy URL of the exchange's and the grading queue's records;
        # "" is submissions.sqlite in the deployment directory.
        "database_url": "",
        # Largest notebook (MiB) and most files one submission may hold.
        "max_notebook_mib": 20,
        "max_files": 20,
        # Base URL users' servers reach the exchange at; "" is the qcampus service on this
        # machine (http://127.0.0.1:<certificates_port>/services/qcampus/exchange).
        "exchange_url": "",
    },
    "grading": {
        # "" grades with the embedded queue of the grading service on this machine;
        # a redis:// or amqp:// URL hands submissions to Celery workers on any machine.
        "broker": "",
        # Submissions graded at the same time by the embedded queue.
        "workers": 1,
        # Attempts before a submission that keeps crashing its worker is marked failed.
        "max_attempts": 3,
        # Seconds one submission may take before it is marked timed out.
        "timeout": 900,
    },
}


def _coerce(section: str, key: str, value: Any, default: Any) -> Any:
    """Return *value* converted to the type of *default*, or raise naming the key."""
    where = f"{section}.{key}"
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.lower() in {"1", "true", "yes", "on"}
        raise SettingsError(f"Setting {where} must be true or false, not {value!r}.")
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SettingsError(f"Setting {where} must be a whole number, not {value!r}.") from None
    if isinstance(default, list):
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return list(value)
        raise SettingsError(f"Setting {where} must be a list of names, not {value!r}.")
    if isinstance(default, str):
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise SettingsError(f"Setting {where} must be text, not {value!r}.")
    raise SettingsError(f"Setting {where} has an unsupported type.")  # pragma: no cover


def merge(overrides: Mapping[str, Any], base: Mapping[str, Mapping[str, Any]] = DEFAULTS,
          origin: str = "settings") -> dict[str, dict[str, Any]]:
    """Return *base* updated with validated *overrides*.

    Raises:
        SettingsError: a section or key is unknown or a value has the wrong type.
    """
    if not isinstance(overrides, Mapping):
        raise SettingsError(f"{origin} must be a mapping of sections, not {type(overrides).__name__}.")
    result = copy.deepcopy({section: dict(values) for section, values in base.items()})
    for section, values in overrides.items():
        if section not in DEFAULTS:
            known = ", ".join(sorted(DEFAULTS))
            raise SettingsError(f"Unknown section {section!r} in {origin}; known sections: {known}.")
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise SettingsError(f"Section {section!r} in {origin} must be a mapping of keys.")
        for key, value in values.items():
            if key not in DEFAULTS[section]:
                known = ", ".join(sorted(DEFAULTS[section]))
                raise SettingsError(
                    f"Unknown setting {section}.{key} in {origin}; known keys of {section}: {known}."
                )
            result[section][key] = _coerce(section, key, value, DEFAULTS[section][key])
            if (section, key) == ("hub", "subdomain_host"):
                _check_subdomain_host(result[section][key], origin)
            if section == "database":
                _check_database_url(f"{section}.{key}", result[section][key], origin)
    return result


def _check_subdomain_host(value: str, origin: str) -> None:
    """Refuse a ``hub.subdomain_host`` that is not "", "auto" or a bare http(s) origin."""
    if value in ("", "auto"):
        return
    parsed = urlparse(value)
    try:
        parsed.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        parsed = parsed._replace(netloc="")
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path.strip("/") \
            or parsed.query or parsed.fragment or parsed.username:
        raise SettingsError(
            f"Setting hub.subdomain_host in {origin} must be \"auto\", \"\" or an origin such as "
            f"https://hub.example.org (scheme and host, no path), not {value!r}.")


def _check_database_url(where: str, value: str, origin: str) -> None:
    """Refuse a ``database`` URL that is neither "" nor a PostgreSQL URL."""
    scheme = urlparse(value).scheme
    if value and scheme.partition("+")[0] not in ("postgresql", "postgres"):
        raise SettingsError(
            f"Setting {where} in {origin} must be \"\" (SQLite files) or a PostgreSQL URL such "
            f"as postgresql+psycopg://qcampus@127.0.0.1:5432/qcampus, not a {scheme or 'bare'} URL.")


def env_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the ``QCAMPUS_*`` variables of *environ* (settings overrides and service tuning)."""
    return {name: value for name, value in environ.items() if name.startswith(ENV_PREFIX)}


def env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Collect ``QCAMPUS_<SECTION>__<KEY>`` variables as nested overrides."""
    found: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("__")
        found.setdefault(section, {})[key] = value
    return found


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """Return the deployment directory: ``$QCAMPUS_HOME`` or ``./var``."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("QCAMPUS_HOME") or "var").resolve()


@dataclass(frozen=True)
class Settings:
    """The validated settings of one deployment directory."""

    home: Path
    values: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(DEFAULTS))

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.values[section]

    @property
    def settings_file(self) -> Path:
        return self.home / SETTINGS_FILE

    @property
    def courses_source(self) -> Path:
        return Path(self["courses"]["source"]).resolve()

    @property
    def courses_root(self) -> Path:
        """Directory holding one nbgrader course directory per track."""
        return self.home / "courses"

    @property
    def exchange(self) -> Path:
        return self.home / "exchange"

    @property
    def hub_dir(self) -> Path:
        return self.home / "hub"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def secrets(self) -> Path:
        return self.home / "secrets"

    @property
    def subdomain_host(self) -> str:
        """Return the origin users' subdomains hang from, or ``""`` when all share one origin."""
        value = self["hub"]["subdomain_host"].rstrip("/")
        if value == "auto":
            return f"http://localhost:{self['hub']['port']}"
        return value

    @property
    def hub_url(self) -> str:
        """Return the hub's public URL as browsers open it (no trailing slash)."""
        return self.subdomain_host or f"http://{self['hub']['ip']}:{self['hub']['port']}"

    def service_url(self, name: str) -> str:
        """Return the public URL of the hub-managed service *name* (no trailing slash).

        With subdomains JupyterHub serves each service on its own origin,
        ``<name>--service.<domain>`` (its ``subdomain_hook_idna`` for names that
        are already DNS-safe, as service names here are).
        """
        if not self.subdomain_host:
            return f"{self.hub_url}/services/{name}"
        scheme, _, host = self.subdomain_host.partition("://")
        return f"{scheme}://{name}--service.{host}/services/{name}"

    def schema_url(self, schema: str) -> str:
        """Return the URL of *schema* on the ``database.url`` server, or "" when there is none."""
        return schema_url(self["database"]["url"], schema) if self["database"]["url"] else ""

    @property
    def hub_database_url(self) -> str:
        return self.schema_url(HUB_SCHEMA) or f"sqlite:///{self.hub_dir / 'jupyterhub.sqlite'}"

    @property
    def certificates_database_url(self) -> str:
        return (self["certificates"]["database_url"] or self.schema_url(CERTIFICATES_SCHEMA)
                or f"sqlite:///{self.home / 'certificates.sqlite'}")

    @property
    def submissions_database_url(self) -> str:
        return (self["submissions"]["database_url"] or self.schema_url(SUBMISSIONS_SCHEMA)
                or f"sqlite:///{self.home / 'submissions.sqlite'}")

    def gradebook_url(self, track: str) -> str:
        """Return the URL of *track*'s nbgrader gradebook (nbgrader's own file by default)."""
        return (self.schema_url(gradebook_schema(track))
                or f"sqlite:///{self.courses_root / track / 'gradebook.db'}")

    def instructors_gradebook_url(self, track: str) -> str:
        """Return the URL instructors' servers open *track*'s gradebook with."""
        url = self["database"]["instructors_url"]
        return schema_url(url, gradebook_schema(track)) if url else self.gradebook_url(track)

    @property
    def exchange_url(self) -> str:
        """Return the base URL of the exchange API as users' servers reach it (no trailing slash)."""
        return (self["submissions"]["exchange_url"].rstrip("/") or
                f"http://127.0.0.1:{self['hub']['certificates_port']}/services/qcampus/exchange")


def read_file(path: Path) -> dict[str, Any]:
    """Parse a settings file, or raise :class:`SettingsError` that says how to fix it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(f"Cannot read {path}: {exc.strerror}.") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SettingsError(
            f"{path} is not valid YAML ({exc.__class__.__name__}). Fix the file, or move it away "
            f"and run `qcampus init` to write a fresh one."
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path} must hold a mapping of sections, not {type(data).__name__}.")
    return data


def load(home: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Load the settings of the deployment in *home* with environment overrides applied."""
    environ = os.environ if environ is None else environ
    home = (home or default_home(environ)).resolve()
    from_file = merge(read_file(home / SETTINGS_FILE), origin=str(home / SETTINGS_FILE))
    values = merge(env_overrides(environ), base=from_file, origin="the environment")
    return Settings(home=home, values=values)


def dump(values: Mapping[str, Mapping[str, Any]]) -> str:
    """Render settings as the YAML text ``qcampus init`` writes."""
    header = (
        "# qcampus deployment settings. Every key has a default; delete a key to go back to it.\n"
        "# Environment variables QCAMPUS_<SECTION>__<KEY> override this file.\n"
    )
    return header + yaml.safe_dump({k: dict(v) for k, v in values.items()}, sort_keys=False,
                                   allow_unicode=True)
