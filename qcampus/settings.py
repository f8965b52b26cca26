"""Load, validate and write the settings of one deployment.

A deployment is a data directory (``QCAMPUS_HOME``, default ``./var``) with one
settings file, ``settings.yaml``. Every setting has a default that works on one
machine; the file overrides the defaults and environment variables named
``QCAMPUS_<SECTION>__<KEY>`` override the file. Unknown sections or keys are an
error that names them, as a typo must never be silently ignored.

Each section is described by a JSON Schema (default, type, range, description
of every key): the core's own in ``qcampus/schemas/settings.schema.yaml``, and
each package's in its ``settings.schema.yaml``, named by a ``qcampus.settings``
entry point, so a package brings its settings without the core knowing them.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from qcampus import DEPLOYMENT_VERSION
from qcampus.database import (
    CERTIFICATES_SCHEMA,
    EXAMS_SCHEMA,
    HUB_SCHEMA,
    SUBMISSIONS_SCHEMA,
    WEB_SCHEMA,
    gradebook_schema,
    schema_url,
)
from qcampus.errors import SettingsError

SETTINGS_FILE = "settings.yaml"
ENV_PREFIX = "QCAMPUS_"

#: Entry point group naming the packages that add sections: each package's directory
#: holds a ``settings.schema.yaml`` (found without importing the package).
SETTINGS_GROUP = "qcampus.settings"
CORE_SCHEMA = Path(__file__).resolve().with_name("schemas") / "settings.schema.yaml"
SCHEMA_FILE = "settings.schema.yaml"


def schema_files() -> list[Path]:
    """Return the core's settings schema and each installed package's, core first."""
    from importlib.metadata import entry_points
    from importlib.util import find_spec

    files = [CORE_SCHEMA]
    for entry in sorted(entry_points(group=SETTINGS_GROUP), key=lambda e: e.name):
        spec = find_spec(entry.module)
        if spec is None or not spec.submodule_search_locations:
            raise SettingsError(f"Package {entry.module!r} (entry point {SETTINGS_GROUP}: "
                                f"{entry.name}) is not installed; reinstall qcampus.")
        files.append(Path(next(iter(spec.submodule_search_locations))) / SCHEMA_FILE)
    return files


@cache
def section_schemas() -> dict[str, tuple[dict[str, Any], Path]]:
    """Return each section's JSON Schema and the file it comes from.

    The files are JSON Schemas (the tests check them against the meta-schema);
    values are checked here by :func:`_check_value`, without importing jsonschema,
    whose import costs most of a second on every command.

    Raises:
        SettingsError: a schema file is missing or unreadable, or two files define one section.
    """
    found: dict[str, tuple[dict[str, Any], Path]] = {}
    for path in schema_files():
        try:
            schema = yaml.safe_load(path.read_text(encoding="utf-8"))
            sections = schema["properties"]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
            raise SettingsError(f"The settings schema {path} cannot be used: {exc}") from exc
        for section, section_schema in sections.items():
            if section in found:
                raise SettingsError(f"Settings section {section!r} is defined twice: in "
                                    f"{found[section][1]} and {path}.")
            found[section] = (section_schema, path)
    return found


def _defaults() -> dict[str, dict[str, Any]]:
    defaults = {section: {key: copy.deepcopy(prop["default"])
                          for key, prop in schema["properties"].items()}
                for section, (schema, _) in section_schemas().items()}
    defaults["deployment"]["version"] = DEPLOYMENT_VERSION
    return defaults


#: Every section's defaults, from the core's and the packages' settings schemas.
DEFAULTS: dict[str, dict[str, Any]] = _defaults()


#: The JSON Schema keywords a setting's schema may use (tests/qcampus/test_settings.py).
VALUE_KEYWORDS = {"type", "items", "default", "description", "enum", "minimum", "maximum",
                  "minLength", "pattern"}


def _check_value(section: str, key: str, value: Any, origin: str) -> None:
    """Refuse a value its key's schema does not allow (choice, range, pattern), naming them."""
    prop = section_schemas()[section][0]["properties"][key]
    why = None
    if "enum" in prop and value not in prop["enum"]:
        why = f"must be one of {', '.join(map(repr, prop['enum']))}"
    elif "minimum" in prop and value < prop["minimum"]:
        why = f"must be at least {prop['minimum']}"
    elif "maximum" in prop and value > prop["maximum"]:
        why = f"must be at most {prop['maximum']}"
    elif "minLength" in prop and len(value) < prop["minLength"]:
        why = "must not be empty"
    elif "pattern" in prop and not re.search(prop["pattern"], value):
        why = "has the wrong form"
    if why:
        raise SettingsError(f"Setting {section}.{key} in {origin} {why}, not {value!r}. "
                            f"({' '.join(prop.get('description', '').split())})")


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
            _check_value(section, key, result[section][key], origin)
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

    @property
    def exams_database_url(self) -> str:
        return (self["exams"]["database_url"] or self.schema_url(EXAMS_SCHEMA)
                or f"sqlite:///{self.home / 'exams.sqlite'}")

    @property
    def web_database_url(self) -> str:
        return (self["web"]["database_url"] or self.schema_url(WEB_SCHEMA)
                or f"sqlite:///{self.home / 'web.sqlite'}")

    @property
    def public_url(self) -> str:
        """Return the address learners and verifiers use for the qcampus service (no trailing slash).

        ``certificates.public_url``, or by default the URL JupyterHub serves the
        service at: its own origin with subdomains.
        """
        return (self["certificates"]["public_url"] or self.service_url("qcampus")).rstrip("/")

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


def for_app(config: Mapping[str, Any]) -> Settings:
    """Return the settings a web app's configuration names: ``QCAMPUS_SETTINGS`` as given,
    else those of the deployment in ``QCAMPUS_HOME`` (default: :func:`default_home`)."""
    given = config.get("QCAMPUS_SETTINGS")
    return given if given is not None else load(config.get("QCAMPUS_HOME"))


def dump(values: Mapping[str, Mapping[str, Any]]) -> str:
    """Render settings as the YAML text ``qcampus init`` writes."""
    header = (
        "# qcampus deployment settings. Every key has a default; delete a key to go back to it.\n"
        "# Environment variables QCAMPUS_<SECTION>__<KEY> override this file.\n"
    )
    return header + yaml.safe_dump({k: dict(v) for k, v in values.items()}, sort_keys=False,
                                   allow_unicode=True)
