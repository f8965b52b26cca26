"""Tests of the ``qcampus cert`` commands through the real ``qcampus`` group."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from certificates import cli as cert_cli
from certificates import credential as cred
from certificates import statuslist, vcjwt
from certificates.keys import KeyStore
from qcampus.cli import cli

from .conftest import BASE, list_url

ISSUED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


@pytest.fixture
def home(qcampus_home):
    """Return a deployment home whose key store holds one key."""
    KeyStore(qcampus_home / "secrets" / cert_cli.KEYS_DIR).ensure(now=ISSUED - timedelta(days=1))
    return qcampus_home


@pytest.fixture
def run(home):
    """Return a runner of ``qcampus cert …`` in *home* with the issuer's public URL set."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, ["cert", *args], catch_exceptions=False,
                             env={"QCAMPUS_HOME": str(home),
                                  "QCAMPUS_CERTIFICATES__PUBLIC_URL": BASE})

    return invoke


@pytest.fixture
def files(home, tmp_path, catalogue, issuer):
    """Write a signed credential, the JWKS and both status lists; return a factory."""
    store = KeyStore(home / "secrets" / cert_cli.KEYS_DIR)

    def write(revoked: bool = False, tamper: bool = False) -> dict[str, str]:
        index = 9_999
        document = cred.build(
            issuer=issuer, achievement=catalogue.get("foundations-a2"),
            learner=cred.Learner("ada"), base_url=BASE, valid_from=ISSUED,
            status=[cred.StatusEntry(p, index, list_url(p)) for p in ("revocation", "suspension")])
        token = vcjwt.sign(document, store.signing_key(), signed_at=ISSUED)
        if tamper:
            head, payload, signature = token.split(".")
            token = f"{head}.{payload[:10]}{'A' if payload[10] != 'A' else 'B'}{payload[11:]}" \
                    f".{signature}"
        paths = {"credential": tmp_path / "credential.jwt", "jwks": tmp_path / "jwks.json"}
        paths["credential"].write_text(token)
        paths["jwks"].write_text(json.dumps(store.jwks(issuer=BASE)))
        for purpose in ("revocation", "suspension"):
            bits = statuslist.StatusList()
            if revoked and purpose == "revocation":
                bits.set(index)
            document = statuslist.build_credential(issuer=issuer, url=list_url(purpose),
                                                   purpose=purpose, status_list=bits,
                                                   valid_from=ISSUED)
            paths[purpose] = tmp_path / f"{purpose}.jwt"
            paths[purpose].write_text(vcjwt.sign(document, store.signing_key(),
                                                 signed_at=ISSUED))
        return {name: str(path) for name, path in paths.items()}

    return write


def test_cert_appears_in_qcampus_help():
    """`qcampus --help` lists the cert group from its entry point."""
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0 and "cert" in result.output


def test_achievements_lists_ids(run):
    """`qcampus cert achievements` prints every achievement id with its names."""
    result = run("achievements")
    assert result.exit_code == 0
    ids = [line.split("\t")[0] for line in result.output.splitlines()]
    assert ids == ["foundations-a2", "gate-engineer-b1", "optimisation-b1", "business-a2",
                   "quantum-literacy-a2", "security-b1"]
    assert "量子技術の基礎" in result.output


def test_jwks_prints_public_keys(run):
    """`qcampus cert jwks` prints the JWKS without private material."""
    result = run("jwks")
    assert result.exit_code == 0
    published = json.loads(result.output)
    (key,) = published["keys"]
    assert key["kty"] == "OKP" and "d" not in key
    assert published["issuer"] == BASE


def test_jwks_without_keys_says_what_to_do(qcampus_home):
    """Without keys, `jwks` fails and says to run qcampus init."""
    result = CliRunner().invoke(cli, ["cert", "jwks", "--home", str(qcampus_home)])
    assert result.exit_code != 0 and "qcampus init" in result.output


def test_rotate_and_compromise(run):
    """`keys rotate` adds an active key; `keys compromise` marks one with its moment."""
    old = json.loads(run("jwks").output)["keys"][0]["kid"]
    assert run("keys", "rotate").exit_code == 0
    # A key id is base64url and may start with "-": "--" ends the options.
    result = run("keys", "compromise", "--at", "2026-05-01T12:00:00+09:00", "--", old)
    assert result.exit_code == 0, result.output
    statuses = {k["kid"]: (k["status"], k.get("revoked")) for k in
                json.loads(run("jwks").output)["keys"]}
    assert statuses[old] == ("compromised", "2026-05-01T03:00:00Z")
    assert sorted(s for s, _ in statuses.values()) == ["active", "compromised"]


@pytest.mark.parametrize("at", ["yesterday", "2026-05-01T12:00:00"])
def test_compromise_needs_an_aware_time(run, at):
    """A compromise time that is not ISO 8601 with a zone is a usage error."""
    kid = json.loads(run("jwks").output)["keys"][0]["kid"]
    result = run("keys", "compromise", "--at", at, "--", kid)
    assert result.exit_code == 2 and "--at" in result.output


def test_verify_valid_offline(run, files):
    """With the JWKS and both lists a genuine credential is valid: exit 0, two languages."""
    paths = files()
    result = run("verify", paths["credential"], "--keys", paths["jwks"],
                 "--status-list", paths["revocation"], "--status-list", paths["suspension"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid: Valid") and "有効です" in result.output


def test_verify_uses_the_deployment_key_store(run, files):
    """Without --keys the deployment's own keys and public URL are trusted."""
    paths = files()
    result = run("verify", paths["credential"], "--status-list", paths["revocation"],
                 "--status-list", paths["suspension"], "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["outcome"] == "valid"


@pytest.mark.parametrize("case, outcome", [
    ({"revoked": True}, "revoked"),
    ({"tamper": True}, "tampered"),
])
def test_verify_exit_codes(run, files, case, outcome):
    """Revoked and tampered credentials exit with their documented codes."""
    from certificates.verification import EXIT_CODES, Outcome

    paths = files(**case)
    result = run("verify", paths["credential"], "--keys", paths["jwks"],
                 "--status-list", paths["revocation"], "--status-list", paths["suspension"],
                 "--json")
    assert json.loads(result.output)["outcome"] == outcome
    assert result.exit_code == EXIT_CODES[Outcome(outcome)]


def test_verify_offline_with_a_compromised_key_is_not_confirmed(run, files, home):
    """Offline, a credential of a key since reported compromised exits 10 and points online."""
    from certificates.verification import EXIT_CODES, Outcome

    store = KeyStore(home / "secrets" / cert_cli.KEYS_DIR)
    paths = files()
    store.mark_compromised(store.active().kid, ISSUED + timedelta(days=1))
    Path(paths["jwks"]).write_text(json.dumps(store.jwks(issuer=BASE)))
    result = run("verify", paths["credential"], "--keys", paths["jwks"],
                 "--status-list", paths["revocation"], "--status-list", paths["suspension"])
    assert result.exit_code == EXIT_CODES[Outcome.KEY_COMPROMISED] == 10
    assert "key_compromised: Not confirmed" in result.output and "未確認" in result.output
    assert f"{BASE}/verify/" in result.output and "key_compromised_at" in result.output
    assert "valid: Valid" not in result.output


def test_verify_without_status_list_is_status_unknown(run, files):
    """Offline without a status list the verdict is status unknown (exit 9), never valid."""
    paths = files()
    result = run("verify", paths["credential"], "--keys", paths["jwks"])
    assert result.exit_code == 9
    assert "status unknown" in result.output and "状態は不明" in result.output


def test_verify_other_issuer(run, files):
    """Trusting another issuer id makes the credential unknown_key (exit 4)."""
    paths = files()
    result = run("verify", paths["credential"], "--keys", paths["jwks"],
                 "--issuer", "https://other.example")
    assert result.exit_code == 4


def test_verify_needs_an_issuer_for_an_anonymous_jwks(run, files, tmp_path):
    """A JWKS that does not name its issuer needs --issuer (usage error otherwise)."""
    paths = files()
    anonymous = tmp_path / "anonymous.json"
    anonymous.write_text(json.dumps({"keys": json.loads(Path(paths["jwks"]).read_text())["keys"]}))
    result = run("verify", paths["credential"], "--keys", str(anonymous))
    assert result.exit_code == 2 and "--issuer" in result.output
    result = run("verify", paths["credential"], "--keys", str(anonymous), "--issuer", BASE,
                 "--status-list", paths["revocation"], "--status-list", paths["suspension"])
    assert result.exit_code == 0
