"""The ``qcampus cert`` commands: achievements, issuer keys and offline verification.

``qcampus cert verify FILE`` needs no network: it checks the credential with a
JWKS file (or the deployment's key store) and, if given, a local copy of the
status list. It prints the verdict in English and Japanese and exits with the
code of its outcome (:data:`certificates.verification.EXIT_CODES`): 0 valid,
2 malformed, 3 tampered, 4 unknown key or issuer, 5 revoked, 6 suspended,
7 expired, 8 not yet valid, 9 status unknown.
"""

from __future__ import annotations

import click

from qcampus.cli import home_option

#: Where the issuer keys live inside the deployment's secrets directory.
KEYS_DIR = "issuer-keys"


@click.group()
def cert() -> None:
    """Issue, publish and verify signed Open Badges 3.0 certificates."""


@cert.command()
def achievements() -> None:
    """List the achievement ids a certificate can be issued for."""
    raise NotImplementedError


@cert.command()
@home_option
def jwks(home) -> None:
    """Print the issuer's public keys as a JWKS."""
    raise NotImplementedError


@cert.group()
def keys() -> None:
    """Manage the issuer's signing keys."""


@keys.command()
@home_option
def rotate(home) -> None:
    """Make a new signing key; the old one keeps verifying what it signed."""
    raise NotImplementedError


@keys.command()
@home_option
@click.argument("kid")
@click.option("--at", "at", required=True, help="When the key was compromised (ISO 8601).")
def compromise(home, kid: str, at: str) -> None:
    """Stop trusting what KID signed from the moment it was compromised."""
    raise NotImplementedError


@cert.command()
@home_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--keys", "keys_file", type=click.Path(exists=True, dir_okay=False),
              help="The issuer's published JWKS (default: the deployment's key store).")
@click.option("--status-list", "status_lists", multiple=True,
              type=click.Path(exists=True, dir_okay=False),
              help="A local copy of a signed status list (repeat for revocation and suspension).")
@click.option("--issuer", "issuer_id", default=None,
              help="The trusted issuer id (default: the deployment's public URL).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def verify(home, file: str, keys_file: str | None, status_lists: tuple[str, ...],
           issuer_id: str | None, as_json: bool) -> None:
    """Verify the credential in FILE without network access."""
    raise NotImplementedError
