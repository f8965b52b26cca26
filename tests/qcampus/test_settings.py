"""Settings: defaults, validated overrides, environment variables, bad files."""

from __future__ import annotations

import pytest

from qcampus import settings
from qcampus.errors import SettingsError


def test_defaults_work_without_a_file(tmp_path):
    """An empty deployment directory loads with every default in place."""
    loaded = settings.load(tmp_path, environ={})
    assert loaded["hub"]["port"] == 8000
    assert loaded.certificates_database_url == f"sqlite:///{tmp_path / 'certificates.sqlite'}"


def test_file_overrides_defaults(tmp_path):
    """A value in settings.yaml replaces the default and keeps its type."""
    (tmp_path / "settings.yaml").write_text("hub:\n  port: '8123'\n")
    assert settings.load(tmp_path, environ={})["hub"]["port"] == 8123


def test_environment_overrides_file(tmp_path):
    """QCAMPUS_<SECTION>__<KEY> wins over the file."""
    (tmp_path / "settings.yaml").write_text("hub:\n  port: 8123\n")
    loaded = settings.load(tmp_path, environ={"QCAMPUS_HUB__PORT": "9000"})
    assert loaded["hub"]["port"] == 9000


@pytest.mark.parametrize(("text", "message"), [
    ("hub:\n  prot: 1\n", r"Unknown setting hub\.prot"),
    ("hubb:\n  port: 1\n", r"Unknown section 'hubb'"),
    ("hub:\n  port: eighty\n", r"hub\.port must be a whole number"),
    ("hub: [1, 2]\n", r"must be a mapping of keys"),
    ("- just\n- a list\n", r"must hold a mapping"),
    ("hub: {port: 1\n", r"not valid YAML"),
])
def test_bad_file_names_the_problem(tmp_path, text, message):
    """A typo, wrong type or corrupt file is an error that names the key and the fix."""
    (tmp_path / "settings.yaml").write_text(text)
    with pytest.raises(SettingsError, match=message):
        settings.load(tmp_path, environ={})


def test_unknown_environment_key_is_an_error(tmp_path):
    """A misspelt environment override is reported, not ignored."""
    with pytest.raises(SettingsError, match="the environment"):
        settings.load(tmp_path, environ={"QCAMPUS_HUB__PROT": "1"})


def test_dump_round_trips(tmp_path):
    """What init writes loads back to the same values."""
    values = settings.merge({"hub": {"admin_users": ["ana", "ben"]}})
    (tmp_path / "settings.yaml").write_text(settings.dump(values))
    assert settings.load(tmp_path, environ={}).values == values


def test_certificates_service_runs_by_default(tmp_path):
    """`qcampus up` runs the certificates service unless a setting turns it off."""
    assert settings.load(tmp_path, environ={})["hub"]["certificates_service"] is True
    off = settings.load(tmp_path, environ={"QCAMPUS_HUB__CERTIFICATES_SERVICE": "false"})
    assert off["hub"]["certificates_service"] is False


def test_env_variables_are_the_qcampus_ones():
    """Only QCAMPUS_* variables are collected for the services."""
    assert settings.env_variables({"QCAMPUS_HUB__PORT": "1", "QCAMPUS_HOME": "/x", "HOME": "/root",
                                   "XQCAMPUS_A": "b"}) == {"QCAMPUS_HUB__PORT": "1",
                                                          "QCAMPUS_HOME": "/x"}


def test_no_hub_admins_by_default(tmp_path):
    """No hub admin is named by default; an operator can name some."""
    assert settings.load(tmp_path, environ={})["hub"]["admin_users"] == []
    named = settings.load(tmp_path, environ={"QCAMPUS_HUB__ADMIN_USERS": "ana, ben"})
    assert named["hub"]["admin_users"] == ["ana", "ben"]


def test_every_section_comes_from_a_valid_schema_with_described_keys():
    """Each settings.schema.yaml is a JSON Schema; every key has a default and a description."""
    import jsonschema
    import yaml

    files = settings.schema_files()
    assert {path.parent.name for path in files} >= {"schemas", "certificates", "submissions"}
    for path in files:
        jsonschema.Draft202012Validator.check_schema(yaml.safe_load(path.read_text()))
    schemas = settings.section_schemas()
    assert set(schemas) == set(settings.DEFAULTS)
    for section, (schema, path) in schemas.items():
        assert schema.get("additionalProperties") is False and schema.get("description"), section
        for key, prop in schema["properties"].items():
            assert set(prop) <= settings.VALUE_KEYWORDS, (path, section, key)
            assert prop.get("description") and "default" in prop, (path, section, key)
            jsonschema.validate(prop["default"], prop)
    # A package's sections are its own: the core's file does not define them.
    assert schemas["grading"][1].parent.name == "submissions"
    assert schemas["certificates"][1].parent.name == "certificates"


@pytest.mark.parametrize(("override", "words"), [
    ({"grading": {"workers": 0}}, "grading.workers in settings.yaml must be at least 1"),
    ({"grading": {"broker": "http://x"}}, "grading.broker in settings.yaml has the wrong form"),
    ({"hub": {"authenticator": "pam"}}, "hub.authenticator in settings.yaml must be one of"),
    ({"submissions": {"max_notebook_mib": 5000}},
     "submissions.max_notebook_mib in settings.yaml must be at most"),
])
def test_values_outside_a_keys_schema_name_file_section_and_key(override, words):
    """A value its schema refuses stops with the file, the section.key and the key's description."""
    with pytest.raises(SettingsError, match=words):
        settings.merge(override, origin="settings.yaml")


def test_a_section_defined_twice_is_refused(monkeypatch, tmp_path):
    """Two schema files defining one section stop with both file names."""
    twin = tmp_path / "settings.schema.yaml"
    twin.write_text("properties:\n  grading: {type: object, properties: {}}\n")
    real = settings.schema_files()
    monkeypatch.setattr(settings, "schema_files", lambda: [*real, twin])
    settings.section_schemas.cache_clear()
    try:
        with pytest.raises(SettingsError, match=f"'grading' is defined twice: in .* and {twin}"):
            settings.section_schemas()
    finally:
        settings.section_schemas.cache_clear()
