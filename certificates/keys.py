"""The issuer's Ed25519 signing keys: generation, rotation, compromise, publication.

A :class:`KeyStore` is a directory (mode 0700; in a deployment
``<QCAMPUS_HOME>/secrets/issuer-keys``) holding one PEM file per private key
(``<kid>.pem``, mode 0600) and ``keys.json``, the state of every key. A key's
``kid`` is its RFC 7638 JWK thumbprint. Exactly one key is *active* and signs;
:meth:`KeyStore.rotate` retires it (it keeps verifying what it signed) and
makes a new one active; :meth:`KeyStore.mark_compromised` records the moment
from which a key's signatures are no longer trusted.

The published JWKS (:meth:`KeyStore.jwks`) names the issuer id in a top-level
``issuer`` member and lists every key with standard JWK members plus three
documented extension members that RFC 7517 allows and JOSE libraries ignore:

- ``status``: ``"active"``, ``"retired"`` or ``"compromised"``;
- ``created``: when the key was generated (XML Schema dateTime, UTC);
- ``revoked``: for a compromised key, the moment from which its signatures are
  rejected (the name Controlled Identifiers v1.0 gives this property).

:class:`TrustedKeys` is what verifiers hold: built from a :class:`KeyStore` or
from a published JWKS, it answers "may this kid verify something signed at T?".
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from certificates import base64url
from certificates.errors import KeyStoreError, UnknownKey

KeyStatus = Literal["active", "retired", "compromised"]
STATE_FILE = "keys.json"


def _now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime | None) -> str | None:
    """Return *moment* as an XML Schema dateTime in UTC (``…Z``, seconds), or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(text: object, where: str) -> datetime | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise KeyStoreError(f"{where} must be a date-time text, not {text!r}.")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise KeyStoreError(f"{where} is not a date-time: {text!r}.") from exc
    if moment.tzinfo is None:
        raise KeyStoreError(f"{where} has no time zone: {text!r}.")
    return moment.astimezone(UTC)


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None:
        raise KeyStoreError(f"{what} needs a time zone (e.g. 2026-05-01T12:00:00Z).")
    return moment.astimezone(UTC)


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """Return the bare OKP/Ed25519 JWK of *public_key* (``kty``, ``crv``, ``x``)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": base64url.encode(raw)}


def thumbprint(public_key: Ed25519PublicKey) -> str:
    """Return the RFC 7638 JWK thumbprint (SHA-256, base64url) of *public_key*."""
    # RFC 7638: the required members only, in lexicographic order, no whitespace.
    members = json.dumps(public_jwk(public_key), separators=(",", ":"), sort_keys=True)
    return base64url.encode(hashlib.sha256(members.encode("ascii")).digest())


@dataclass(frozen=True)
class IssuerKey:
    """The public half of an issuer key and its life cycle."""

    kid: str
    public_key: Ed25519PublicKey
    status: KeyStatus
    created: datetime
    retired_at: datetime | None = None
    compromised_at: datetime | None = None

    def jwk(self) -> dict[str, str]:
        """Return the published JWK: key, ``kid``, ``alg``, ``use`` and life-cycle members."""
        jwk = {**public_jwk(self.public_key), "kid": self.kid, "alg": "EdDSA", "use": "sig",
               "status": self.status, "created": format_time(self.created)}
        if self.compromised_at is not None:
            jwk["revoked"] = format_time(self.compromised_at)
        return jwk

    def trusts(self, signed_at: datetime) -> bool:
        """Return whether a signature made at *signed_at* is still trusted.

        Active and retired keys are trusted; a compromised key only for
        signatures made strictly before its compromise moment.
        """
        if self.compromised_at is None:
            return True
        return signed_at < self.compromised_at

    def _state(self) -> dict[str, str | None]:
        return {"kid": self.kid, "status": self.status, "created": format_time(self.created),
                "retired_at": format_time(self.retired_at),
                "compromised_at": format_time(self.compromised_at)}


@dataclass(frozen=True)
class SigningKey:
    """The active private key and its ``kid``."""

    kid: str
    private_key: Ed25519PrivateKey


_STATUSES = ("active", "retired", "compromised")


class TrustedKeys(Mapping[str, IssuerKey]):
    """The keys a verifier trusts for one issuer, by ``kid``.

    Attributes:
        issuer: The issuer id the keys belong to, when the JWKS names it.
    """

    def __init__(self, keys: Mapping[str, IssuerKey] | list[IssuerKey],
                 issuer: str | None = None) -> None:
        items = list(keys.values()) if isinstance(keys, Mapping) else list(keys)
        self._keys = {key.kid: key for key in items}
        self.issuer = issuer

    @classmethod
    def from_jwks(cls, jwks: object) -> TrustedKeys:
        """Build from a published JWKS document (a dict with ``keys``).

        Only ``OKP``/``Ed25519`` keys are accepted; each ``kid`` must equal the
        key's thumbprint, so a JWKS cannot bind one kid to another key. A
        top-level ``issuer`` member (see :meth:`KeyStore.jwks`) becomes
        :attr:`issuer`.

        Raises:
            KeyStoreError: the document is not such a JWKS.
        """
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise KeyStoreError("A JWKS must be a JSON object with a list 'keys'.")
        issuer = jwks.get("issuer")
        if issuer is not None and not isinstance(issuer, str):
            raise KeyStoreError("The JWKS member 'issuer' must be the issuer id as text.")
        found: list[IssuerKey] = []
        for number, jwk in enumerate(jwks["keys"], start=1):
            where = f"JWKS key #{number}"
            if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                raise KeyStoreError(f"{where} is not an Ed25519 (OKP) key.")
            if "d" in jwk:
                raise KeyStoreError(f"{where} contains a private key; publish public keys only.")
            try:
                raw = base64url.decode(jwk.get("x"))
                public_key = Ed25519PublicKey.from_public_bytes(raw)
            except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
                raise KeyStoreError(f"{where} has an invalid 'x'.") from exc
            kid = thumbprint(public_key)
            if jwk.get("kid") != kid:
                raise KeyStoreError(f"{where}: 'kid' must be the key's RFC 7638 thumbprint {kid}.")
            if jwk.get("alg", "EdDSA") != "EdDSA" or jwk.get("use", "sig") != "sig":
                raise KeyStoreError(f"{where} is not a signing key for EdDSA.")
            status = jwk.get("status", "active")
            if status not in _STATUSES:
                raise KeyStoreError(f"{where} has unknown status {status!r}.")
            revoked = _parse_time(jwk.get("revoked"), f"{where} 'revoked'")
            if (status == "compromised") != (revoked is not None):
                raise KeyStoreError(f"{where}: a compromised key must name when ('revoked').")
            created = _parse_time(jwk.get("created"), f"{where} 'created'") \
                or datetime.min.replace(tzinfo=UTC)
            found.append(IssuerKey(kid, public_key, status, created, compromised_at=revoked))
        return cls(found, issuer)

    @cached_property
    def fingerprint(self) -> bytes:
        """Return a SHA-256 digest of every key, its status and compromise time.

        Two sets of keys that trust exactly the same signatures have the same
        fingerprint; any rotation or compromise changes it, so results
        remembered under one fingerprint are never used under another.
        """
        state = sorted((key.kid, base64url.encode(key.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)), key.status,
            key.compromised_at.isoformat() if key.compromised_at else None)
            for key in self._keys.values())
        return hashlib.sha256(json.dumps(state).encode("ascii")).digest()

    def __getitem__(self, kid: str) -> IssuerKey:
        return self._keys[kid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def key_for(self, kid: str, signed_at: datetime) -> Ed25519PublicKey:
        """Return the public key *kid* if it may verify a signature made at *signed_at*.

        Raises:
            UnknownKey: the kid is not published, or the key was compromised at
                or before *signed_at*.
        """
        key = self._keys.get(kid)
        if key is None:
            raise UnknownKey(f"The signing key {kid!r} is not one the issuer publishes.")
        if not key.trusts(signed_at):
            raise UnknownKey(
                f"The signing key {kid} was reported compromised at "
                f"{format_time(key.compromised_at)}; what it signed from then on is not trusted."
            )
        return key.public_key

    def jwks(self) -> dict[str, Any]:
        """Return these keys as a JWKS document (with ``issuer`` when known)."""
        document: dict[str, Any] = {"issuer": self.issuer} if self.issuer else {}
        document["keys"] = [key.jwk() for key in self._keys.values()]
        return document


class KeyStore:
    """The issuer's key directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._private: dict[str, Ed25519PrivateKey] = {}

    # -- state file -------------------------------------------------------------------

    @property
    def _state_file(self) -> Path:
        return self.directory / STATE_FILE

    def _read_state(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self._state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise KeyStoreError(f"Cannot read {self._state_file}: {exc.strerror}.") from exc
        except ValueError as exc:
            raise KeyStoreError(f"{self._state_file} is not valid JSON; restore it from a "
                                f"backup.") from exc
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise KeyStoreError(f"{self._state_file} must hold an object with a list 'keys'.")
        return data["keys"]

    def _write_state(self, keys: list[IssuerKey]) -> None:
        text = json.dumps({"keys": [key._state() for key in keys]}, indent=2) + "\n"
        self._write_private(self._state_file, text.encode("utf-8"))

    def _write_private(self, path: Path, data: bytes) -> None:
        """Write *data* to *path* atomically with mode 0600."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise KeyStoreError(f"Cannot write {path}: {exc.strerror}.") from exc

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise changes between processes (workers, CLI) with a lock file."""
        self._make_directory()
        try:
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise KeyStoreError(f"Cannot lock {self.directory}: {exc.strerror}.") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _make_directory(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
        except OSError as exc:
            raise KeyStoreError(f"Cannot create the key directory {self.directory}: "
                                f"{exc.strerror}.") from exc

    # -- keys -------------------------------------------------------------------------

    def _key_file(self, kid: str) -> Path:
        return self.directory / f"{kid}.pem"

    def _load_private(self, kid: str) -> Ed25519PrivateKey:
        cached = self._private.get(kid)
        if cached is not None:
            return cached
        path = self._key_file(kid)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise KeyStoreError(f"Cannot open the private key {path}: {exc.strerror}.") from exc
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if mode & 0o077:
                raise KeyStoreError(
                    f"The private key {path} is accessible to group or others (mode "
                    f"{stat.S_IMODE(mode):04o}); refusing to use it. Run `chmod 600 {path}` "
                    f"and, if others may have read it, mark the key compromised."
                )
            data = handle.read()
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyStoreError(f"{path} is not a PEM private key.") from exc
        if not isinstance(key, Ed25519PrivateKey) or thumbprint(key.public_key()) != kid:
            raise KeyStoreError(f"{path} does not hold the Ed25519 key {kid}.")
        self._private[kid] = key
        return key

    def _new_key(self, now: datetime) -> IssuerKey:
        private = Ed25519PrivateKey.generate()
        kid = thumbprint(private.public_key())
        pem = private.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        self._write_private(self._key_file(kid), pem)
        self._private[kid] = private
        return IssuerKey(kid, private.public_key(), "active", now)

    def keys(self) -> list[IssuerKey]:
        """Return every key, oldest first."""
        found = []
        for number, raw in enumerate(self._read_state(), start=1):
            where = f"{self._state_file} key #{number}"
            if not isinstance(raw, dict) or raw.get("status") not in _STATUSES \
                    or not isinstance(raw.get("kid"), str):
                raise KeyStoreError(f"{where} is invalid.")
            private = self._load_private(raw["kid"])
            found.append(IssuerKey(
                kid=raw["kid"], public_key=private.public_key(), status=raw["status"],
                created=_parse_time(raw.get("created"), where),
                retired_at=_parse_time(raw.get("retired_at"), where),
                compromised_at=_parse_time(raw.get("compromised_at"), where),
            ))
        return found

    def ensure(self, *, now: datetime | None = None) -> IssuerKey:
        """Create the directory (0700) and a first active key unless one exists.

        Returns:
            The active key.

        Raises:
            KeyStoreError: the directory or a key file cannot be created, or an
                existing key file is readable by group or others.
        """
        with self._locked():
            keys = self.keys()
            active = [key for key in keys if key.status == "active"]
            if active:
                return active[0]
            key = self._new_key(_aware(now or _now(), "The creation time"))
            self._write_state([*keys, key])
            return key

    def active(self) -> IssuerKey:
        """Return the public half of the active key.

        Raises:
            KeyStoreError: the store holds no active key (run ``qcampus init``).
        """
        for key in self.keys():
            if key.status == "active":
                return key
        raise KeyStoreError(f"The key store {self.directory} has no active signing key; run "
                            f"`qcampus init` (or `qcampus cert keys rotate`) to create one.")

    def signing_key(self) -> SigningKey:
        """Load the active private key.

        Raises:
            KeyStoreError: no active key, or its file is readable by group or
                others (fix with ``chmod 600``) or unreadable.
        """
        kid = self.active().kid
        return SigningKey(kid, self._load_private(kid))

    def rotate(self, *, now: datetime | None = None) -> IssuerKey:
        """Make a new active key; the previous one is retired but stays published.

        Returns:
            The new active key.
        """
        now = _aware(now or _now(), "The rotation time")
        with self._locked():
            keys = [replace(key, status="retired", retired_at=now) if key.status == "active"
                    else key for key in self.keys()]
            key = self._new_key(now)
            self._write_state([*keys, key])
            return key

    def mark_compromised(self, kid: str, at: datetime) -> IssuerKey:
        """Record that *kid* is compromised from *at* on.

        Signatures made at or after *at* no longer verify. If *kid* is the active
        key a new active key is generated first, so issuing continues.

        Raises:
            KeyStoreError: *kid* is unknown or *at* has no time zone.
        """
        at = _aware(at, "The compromise time")
        with self._locked():
            keys = self.keys()
            if kid not in {key.kid for key in keys}:
                known = ", ".join(key.kid for key in keys) or "none"
                raise KeyStoreError(f"Unknown key {kid!r}; keys in this store: {known}.")
            now = _now()
            changed: list[IssuerKey] = []
            replacement = None
            for key in keys:
                if key.kid == kid:
                    earliest = min(at, key.compromised_at) if key.compromised_at else at
                    if key.status == "active":
                        replacement = self._new_key(now)
                    key = replace(key, status="compromised", compromised_at=earliest,
                                  retired_at=key.retired_at or now)
                changed.append(key)
            if replacement is not None:
                changed.append(replacement)
            self._write_state(changed)
            return next(key for key in changed if key.kid == kid)

    def trusted_keys(self, issuer: str | None = None) -> TrustedKeys:
        """Return every published key as :class:`TrustedKeys` of *issuer*."""
        return TrustedKeys(self.keys(), issuer)

    def jwks(self, issuer: str | None = None) -> dict[str, Any]:
        """Return the public JWKS: every key with its life-cycle members.

        Args:
            issuer: The issuer id (``certificates.public_url``). When given it is
                published as the top-level ``issuer`` member, so an offline
                verifier that holds this file knows which issuer id to trust.
        """
        return self.trusted_keys(issuer).jwks()

    def did_web_document(self, domain: str, path: str | None = None) -> dict[str, Any]:
        """Build the ``did:web`` DID document that lists the keys.

        Args:
            domain: Host (and optional port) serving ``/.well-known/did.json`` or
                ``/<path>/did.json``, e.g. ``campus.example.org``.
            path: Optional path below the host, e.g. ``services/qcampus``.

        Returns:
            A DID document with one ``JsonWebKey`` verification method per key
            (id ``<did>#<kid>``), active and retired keys under
            ``assertionMethod``, and a ``revoked`` time on compromised ones.
        """
        from certificates import did  # did builds on this module's keys

        return did.web_document(self.keys(), domain, path)

