"""The ``qcampus cert`` commands: achievements, issuer keys and offline verification.

``qcampus cert verify FILE`` needs no network: it checks the credential with a
JWKS file (or the deployment's key store) and, if given, a local copy of the
status list. It prints the verdict in English and Japanese and exits with the
code of its outcome (:data:`certificates.verification.EXIT_CODES`): 0 valid,
2 malformed, 3 tampered, 4 unknown key or issuer, 5 revoked, 6 suspended,
7 expired, 8 not yet valid, 9 status unknown, 10 signed by a key since
reported compromised (not confirmed offline; verify online). Without
``--status-list`` a credential with a status entry is at best "status
unknown" (exit 9).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from certificates import achievements as achievements_module
from certificates.errors import KeyStoreError
from certificates.keys import KeyStore, TrustedKeys
from certificates.models import REASON_CATEGORIES
from certificates.statuslist import FileStatusSource
from certificates.verification import verify as verify_credential
from qcampus.cli import home_option

#: Where the issuer keys live inside the deployment's secrets directory.
KEYS_DIR = "issuer-keys"


def key_store(home: Path) -> KeyStore:
    """Return the key store of the deployment in *home*."""
    from qcampus import settings as settings_mod

    return KeyStore(settings_mod.load(home).secrets / KEYS_DIR)


def issuer_id(home: Path) -> str:
    """Return the issuer id of the deployment in *home* (its certificates public URL)."""
    from certificates.web import default_config

    return default_config(home)["PUBLIC_URL"]


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time such as "
                                 f"2026-05-01T12:00:00Z.", param_hint="--at") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-05-01T12:00:00Z or +09:00.",
                                 param_hint="--at")
    return moment


@click.group()
def cert() -> None:
    """Issue, publish and verify signed Open Badges 3.0 certificates."""


@cert.command()
def achievements() -> None:
    """List the achievement ids a certificate can be issued for."""
    for achievement in achievements_module.load():
        click.echo(f"{achievement.id}\t{achievement.level}\t{achievement.name['en']} / "
                   f"{achievement.name['ja']}")


@cert.command()
@home_option
def jwks(home: Path) -> None:
    """Print the issuer's public keys as a JWKS."""
    published = key_store(home).jwks(issuer=issuer_id(home))
    if not published["keys"]:
        raise KeyStoreError("The deployment has no issuer keys yet; run `qcampus init` first. "
                            "/ 発行者の鍵がまだありません。先に `qcampus init` を実行してください。")
    click.echo(json.dumps(published, indent=2))


@cert.group()
def keys() -> None:
    """Manage the issuer's signing keys."""


@keys.command()
@home_option
def rotate(home: Path) -> None:
    """Make a new signing key; the old one keeps verifying what it signed."""
    key = key_store(home).rotate()
    click.echo(f"New signing key {key.kid}; earlier keys stay published and keep verifying.")


@keys.command()
@home_option
@click.argument("kid")
@click.option("--at", "at", required=True, help="When the key was compromised (ISO 8601).")
def compromise(home: Path, kid: str, at: str) -> None:
    """Stop trusting what KID signed from the moment it was compromised.

    A key id may begin with "-"; give it after "--": ``qcampus cert keys
    compromise --at 2026-05-01T12:00:00+09:00 -- -Ab3…``.
    """
    key = key_store(home).mark_compromised(kid, _moment(at))
    click.echo(f"Key {key.kid} is marked compromised from {key.compromised_at.isoformat()}; "
               f"credentials it signed from then on no longer verify. Publish the new JWKS "
               f"(`qcampus cert jwks`) and reissue the affected credentials.")


@cert.command()
@home_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--keys", "keys_file", type=click.Path(exists=True, dir_okay=False),
              help="The issuer's published JWKS (default: the deployment's key store).")
@click.option("--status-list", "status_lists", multiple=True,
              type=click.Path(exists=True, dir_okay=False),
              help="A local copy of a signed status list (repeat for revocation and suspension).")
@click.option("--issuer", "issuer", default=None,
              help="The trusted issuer id (default: the 'issuer' of the --keys JWKS, or the "
                   "deployment's public URL).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def verify(home: Path, file: str, keys_file: str | None, status_lists: tuple[str, ...],
           issuer: str | None, as_json: bool) -> None:
    """Verify the credential in FILE without network access."""
    with click.open_file(file, "rb") as handle:
        text = handle.read()
    if keys_file is not None:
        try:
            trusted = TrustedKeys.from_jwks(json.loads(Path(keys_file).read_text("utf-8")))
        except ValueError as exc:
            raise KeyStoreError(f"{keys_file} is not a JSON JWKS.") from exc
        issuer = issuer or trusted.issuer
        if issuer is None:
            raise click.UsageError(f"{keys_file} does not name its issuer; pass --issuer with "
                                   f"the issuer id (the campus certificates URL).")
    else:
        trusted = key_store(home).trusted_keys()
        issuer = issuer or issuer_id(home)
    source = FileStatusSource([Path(p) for p in status_lists]) if status_lists else None
    verdict = verify_credential(text, keys=trusted, issuer_id=issuer, status=source,
                                now=datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(verdict.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(f"{verdict.outcome.value}: {verdict.message['en']}")
        click.echo(f"{verdict.outcome.value}: {verdict.message['ja']}")
        for name in ("credential_id", "issuer", "achievement", "valid_from", "valid_until",
                     "kid", "key_compromised_at", "code", "reason"):
            if verdict.details.get(name):
                click.echo(f"  {name}: {verdict.details[name]}")
    raise SystemExit(verdict.exit_code)


def _service_issuer(home: Path):
    """Return the issuer of the deployment in *home*, on its certificates database."""
    from certificates.db import make_engine
    from certificates.issuance import Issuer
    from certificates.web import default_config

    config = default_config(home)
    return Issuer.from_config(config, make_engine(config["DATABASE_URL"]))


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


@cert.command()
@home_option
@click.option("--learner", required=True, help="The learner's hub user name.")
@click.option("--achievement", "achievement_id", required=True,
              help="Achievement id (see `qcampus cert achievements`).")
@click.option("--reason", required=True, help="Why it is issued by hand (audit log).")
@click.option("--display-name", default=None, help="Name to show, if the learner chose so.")
@click.option("--source", default=None,
              help="The exam result certified; the same source never yields two credentials.")
def issue(home: Path, learner: str, achievement_id: str, reason: str,
          display_name: str | None, source: str | None) -> None:
    """Issue a credential and print its VC-JWT on standard output."""
    import uuid

    from certificates.issuance import IssueRequest
    from certificates.issuance import issue as issue_credential

    for name, value in (("--learner", learner), ("--reason", reason),
                        ("--display-name", display_name or ""), ("--source", source or "")):
        if len(value) > 200 or not value.isprintable():
            raise click.BadParameter("at most 200 printable characters.", param_hint=name)
    issuer = _service_issuer(home)
    try:
        issued = issue_credential(issuer, IssueRequest(
            learner=learner, achievement_id=achievement_id,
            source=source or f"manual:{uuid.uuid4().hex}", actor=_actor(), reason=reason,
            display_name=display_name, show_name=display_name is not None))
    finally:
        issuer.engine.dispose()
    click.echo(f"Issued {issued.credential_id}: {issuer.verify_url(issued.credential_id)}",
               err=True)
    click.echo(issued.token)


@cert.command()
@home_option
@click.argument("credential_id")
@click.option("--reason", required=True, help="Why, for the audit log (not published).")
@click.option("--category", default="other", show_default=True,
              type=click.Choice(sorted(REASON_CATEGORIES)),
              help="Reason category shown to verifiers.")
@click.option("--suspend", is_flag=True, help="Suspend (reversible) instead of revoking.")
def revoke(home: Path, credential_id: str, reason: str, category: str, suspend: bool) -> None:
    """Revoke (or suspend) CREDENTIAL_ID; verifiers see it at once."""
    from certificates.status import change_status

    if len(reason) > 200 or not reason.isprintable():
        raise click.BadParameter("at most 200 printable characters.", param_hint="--reason")
    issuer = _service_issuer(home)
    try:
        event = change_status(issuer, credential_id, "suspended" if suspend else "revoked",
                              reason_category=category, reason=reason, actor=_actor())
    finally:
        issuer.engine.dispose()
    click.echo(f"{event.action.capitalize()} {credential_id} at {event.at.isoformat()} "
               f"({category}).")


@cert.command()
@home_option
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup(home: Path, destination: Path) -> None:
    """Copy the certificates database to DESTINATION safely while the service runs."""
    from certificates.db import backup as backup_database
    from certificates.web import default_config

    backup_database(default_config(home)["DATABASE_URL"], destination)
    click.echo(f"Backed up to {destination} (integrity check ok).")


@cert.command()
@home_option
def check(home: Path) -> None:
    """Check the certificate database: audit hash chain, status lists, SQLite integrity."""
    from certificates import audit
    from certificates.db import make_engine, write_session
    from certificates.errors import CertificateError
    from certificates.status import check_consistency
    from certificates.web import default_config

    engine = make_engine(default_config(home)["DATABASE_URL"])
    try:
        with write_session(engine) as session:
            if engine.dialect.name == "sqlite":
                integrity = session.connection().exec_driver_sql(
                    "PRAGMA integrity_check").scalar()
                if integrity != "ok":
                    raise CertificateError(f"SQLite integrity check failed: {integrity}. "
                                           f"Restore the latest backup.")
            chain = audit.verify_chain(session)
            problems = check_consistency(session)
    finally:
        engine.dispose()
    if problems:
        raise CertificateError("Status lists and credentials disagree:\n  " +
                               "\n  ".join(problems[:20]))
    click.echo(f"Audit log: {chain.records} records, chain verified (head {chain.head}).")
    click.echo("Status lists agree with every credential.")
