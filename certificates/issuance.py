"""Issue credentials, durably and idempotently.

Issuing runs in three steps, so that a process killed at any moment leaves
the database consistent and no signed credential exists without its row:

1. **reserve** (one write transaction): take the next serial and a random,
   unused status list index, fix the unsigned credential JSON, record the
   ``Idempotency-Key``; commit.
2. **sign**, outside any transaction. Nothing leaves the process yet.
3. **commit** (one write transaction): store the VC-JWT and append the
   ``issue`` audit record; commit. Only then is the token returned.

A crash after step 1 leaves a reservation (a row without token, status bits
clear): the retry of the same request, or :func:`finish_pending`, signs the
same JSON again; Ed25519 signatures are deterministic, so two workers finishing
one reservation produce the same token.

One exam result (``source``) never yields two credentials, and an
``Idempotency-Key`` replayed with the same payload returns the same credential;
with a different payload it is refused (:class:`IdempotencyConflict`).
Revoking, suspending and publishing the status lists are in :mod:`certificates.status`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certificates import audit, statuslist, vcjwt
from certificates import credential as credential_mod
from certificates.achievements import Catalogue
from certificates.db import write_session
from certificates.errors import (
    IdempotencyConflict,
)
from certificates.keys import KeyStore, TrustedKeys
from certificates.models import (
    Credential,
    IdempotencyKey,
    utcnow,
)
from certificates.status import locked_lists


@dataclass(frozen=True)
class IssueRequest:
    """What to certify, for whom, on whose authority.

    Attributes:
        learner: The learner's hub user name (only its salted hash is published).
        achievement_id: The achievement awarded (see ``qcampus cert achievements``).
        source: The exam result (or manual issue) certified; one credential per source.
        actor: Who asks: a staff user name or the exam service.
        reason: Why, for the audit log.
        display_name: The learner's name as shown, if the learner chose to show it.
        show_name: The learner chose to show the name.
        evidence: Graded work, by SHA-256 digest and name (written only with consent).
        result: The grade (written only with consent).
        consent_results: The learner agreed to disclose the grade.
        consent_evidence: The learner agreed to disclose the evidence.
        valid_for_days: Validity period, or None for no expiry.
    """

    learner: str
    achievement_id: str
    source: str
    actor: str
    reason: str
    display_name: str | None = None
    show_name: bool = False
    evidence: tuple[tuple[str, str], ...] = ()
    result: str | None = None
    consent_results: bool = False
    consent_evidence: bool = False
    valid_for_days: int | None = None

    def payload_hash(self) -> str:
        """Return the SHA-256 of everything that defines the credential (not who asked)."""
        data = asdict(self)
        del data["actor"], data["reason"]
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    """An issued credential as returned to the requester."""

    credential_id: str
    serial: int
    token: str
    #: False when the request replayed an earlier one and got its credential.
    created: bool
    #: 201 when this request (or the first with its Idempotency-Key) issued it, else 200.
    status_code: int = 201


@dataclass
class Issuer:
    """Everything issuing and publishing needs: database, keys, identity, catalogue."""

    engine: Engine
    keystore: KeyStore
    public_url: str
    name: str
    catalogue: Catalogue
    status_list_length: int = statuslist.MIN_LENGTH
    _keys: tuple[object, TrustedKeys, str] | None = field(default=None, repr=False)
    _status_tokens: dict[tuple[str, int, str], str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], engine: Engine,
                    catalogue: Catalogue | None = None) -> Issuer:
        """Build the issuer a service configuration (:func:`certificates.web.default_config`) names."""
        from certificates import achievements

        return cls(engine=engine, keystore=KeyStore(config["KEYS_DIR"]),
                   public_url=config["PUBLIC_URL"], name=config["ISSUER_NAME"],
                   catalogue=catalogue or achievements.load(config.get("ACHIEVEMENTS_PATH")),
                   status_list_length=config.get("STATUS_LIST_LENGTH", statuslist.MIN_LENGTH))

    @property
    def profile(self) -> credential_mod.IssuerProfile:
        """Return the issuer profile written into every credential."""
        return credential_mod.IssuerProfile(id=self.public_url, name=self.name,
                                            url=self.public_url)

    def status_url(self, purpose: str) -> str:
        """Return where the *purpose* status list is published."""
        return f"{self.public_url}/status/{purpose}"

    def verify_url(self, credential_id: str) -> str:
        """Return the public verification page of a credential."""
        return f"{self.public_url}/verify/{credential_id.removeprefix('urn:uuid:')}"

    def _key_state(self) -> tuple[object, TrustedKeys, str]:
        """Return the published keys and the active kid, re-read when the key store changes."""
        stamp = (self.keystore.directory / "keys.json").stat()
        marker = (stamp.st_mtime_ns, stamp.st_size, stamp.st_ino)
        if self._keys is None or self._keys[0] != marker:
            self._keys = (marker, self.keystore.trusted_keys(), self.keystore.active().kid)
        return self._keys

    def trusted_keys(self) -> TrustedKeys:
        """Return the published keys (rotation and compromise take effect on the next call)."""
        return self._key_state()[1]

    def active_kid(self) -> str:
        """Return the kid of the key that signs now."""
        return self._key_state()[2]

    def published_keys(self) -> tuple[TrustedKeys, str]:
        """Return the published keys and the active kid, from one look at the key store."""
        _, keys, kid = self._key_state()
        return keys, kid


# --- issuing ---------------------------------------------------------------------------


class _UsedIndices:
    """The status indices already taken, asked of the database one at a time."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __contains__(self, index: object) -> bool:
        return self.session.scalar(
            select(Credential.serial).where(Credential.status_index == index)) is not None



def _find_existing(session: Session, request: IssueRequest, payload_hash: str,
                   idempotency: tuple[str, str] | None) -> Credential | None:
    if idempotency is not None:
        known = session.get(IdempotencyKey, idempotency)
        if known is not None:
            if known.payload_hash != payload_hash:
                raise IdempotencyConflict(
                    "This Idempotency-Key was already used with a different request. Use a new "
                    "key for a new request, or resend the original request unchanged.")
            return session.get(Credential, known.credential_serial)
    row = session.scalar(select(Credential).where(Credential.source == request.source))
    if row is not None and (row.learner != request.learner
                            or row.achievement_id != request.achievement_id):
        raise IdempotencyConflict(
            f"The result {request.source!r} is already certified by credential {row.id} for "
            f"another learner or achievement; nothing was issued.")
    return row


def _reserve(issuer: Issuer, request: IssueRequest, payload_hash: str,
             idempotency: tuple[str, str] | None) -> tuple[Credential, int]:
    achievement = issuer.catalogue.get(request.achievement_id)
    with write_session(issuer.engine) as session:
        # Locking the lists first serialises reservations on PostgreSQL too, so the
        # look-ups below see every earlier reservation.
        locked_lists(session, issuer)
        known = session.get(IdempotencyKey, idempotency) if idempotency else None
        row = _find_existing(session, request, payload_hash, idempotency)
        status_code = 200 if row is not None else 201
        if known is not None:
            return row, known.response_status
        if row is None:
            index = statuslist.allocate_index(_UsedIndices(session), issuer.status_list_length)
            credential_id = credential_mod.new_id()
            issued_at = utcnow().replace(microsecond=0)
            valid_until = (issued_at + timedelta(days=request.valid_for_days)
                           if request.valid_for_days else None)
            learner = credential_mod.Learner(identity=request.learner,
                                             display_name=request.display_name,
                                             show_name=request.show_name)
            document = credential_mod.build(
                issuer=issuer.profile, achievement=achievement, learner=learner,
                base_url=issuer.public_url, valid_from=issued_at, valid_until=valid_until,
                # One entry, as Open Badges 3.0 allows; the suspension list at the same
                # index is implied (credential.implied_suspension).
                status=[credential_mod.StatusEntry(credential_mod.REVOCATION, index,
                                                   issuer.status_url(credential_mod.REVOCATION))],
                evidence=[credential_mod.Evidence(digest, name)
                          for digest, name in request.evidence],
                result=request.result,
                consent=credential_mod.Consent(results=request.consent_results,
                                               evidence=request.consent_evidence),
                credential_id=credential_id)
            identifier = document["credentialSubject"]["identifier"]
            identity_hash = (identifier[0] if isinstance(identifier, list)
                             else identifier)["identityHash"]
            row = Credential(
                id=credential_id, learner_hash=identity_hash, learner=request.learner,
                display_name=request.display_name if request.show_name else None,
                achievement_id=request.achievement_id, status_index=index, status="active",
                issued_at=issued_at, valid_until=valid_until, source=request.source,
                document=json.dumps(document, sort_keys=True, ensure_ascii=False),
                issued_by=request.actor, reason=request.reason)
            session.add(row)
            session.flush()
        if idempotency is not None:
            session.add(IdempotencyKey(client=idempotency[0], key=idempotency[1],
                                       payload_hash=payload_hash, credential_serial=row.serial,
                                       response_status=status_code, created_at=utcnow()))
        return row, status_code


def _sign(issuer: Issuer, row: Credential) -> str:
    return vcjwt.sign(json.loads(row.document), issuer.keystore.signing_key(),
                      signed_at=row.issued_at)


def _commit(issuer: Issuer, serial: int, token: str) -> str:
    with write_session(issuer.engine) as session:
        row = session.get(Credential, serial, with_for_update=True)
        if row.token is not None:
            # Another worker finished this reservation first; its token stands.
            return row.token
        row.token = token
        row.token_sha256 = token_sha256(token)
        audit.append(session, actor=row.issued_by, action="issue", reason=row.reason,
                     credential_id=row.id, details={
                         "achievement": row.achievement_id,
                         "learner_hash": row.learner_hash,
                         "source": row.source,
                         "serial": row.serial,
                         "status_index": row.status_index,
                         "token_sha256": row.token_sha256,
                     })
        return token


def issue(issuer: Issuer, request: IssueRequest, *,
          idempotency: tuple[str, str] | None = None) -> Issued:
    """Issue the credential *request* asks for, or return the one it already produced.

    Args:
        issuer: The issuer.
        request: What to certify.
        idempotency: ``(client, Idempotency-Key)`` of an API request, if any.

    Raises:
        AchievementError: the achievement is unknown.
        IdempotencyConflict: the key or the exam result was used with another payload.
    """
    payload_hash = request.payload_hash()
    try:
        row, status_code = _reserve(issuer, request, payload_hash, idempotency)
    except IntegrityError:
        # A concurrent request reserved the same result or key between our look-up
        # and insert (possible on PostgreSQL); the retry finds and returns it.
        row, status_code = _reserve(issuer, request, payload_hash, idempotency)
    created = row.token is None
    token = row.token or _commit(issuer, row.serial, _sign(issuer, row))
    return Issued(credential_id=row.id, serial=row.serial, token=token, created=created,
                  status_code=status_code)


def finish_pending(issuer: Issuer) -> list[str]:
    """Sign and commit every reservation a crash left unfinished; return their ids."""
    with Session(issuer.engine) as session:
        pending = list(session.scalars(select(Credential).where(Credential.token.is_(None))
                                       .order_by(Credential.serial)))
    for row in pending:
        _commit(issuer, row.serial, _sign(issuer, row))
    return [row.id for row in pending]


def token_sha256(token: str) -> str:
    """Return the SHA-256 (hex) under which the issuer records a token it issued."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def recorded_issue_time(session: Session, token: str) -> datetime | None:
    """Return when this issuer recorded issuing exactly *token*, or None if it never did.

    The record, not the token, says when it was signed: a forger with a stolen
    key chooses the token's ``iat`` and ``validFrom`` but cannot add a row here.
    """
    return session.scalar(select(Credential.issued_at)
                          .where(Credential.token_sha256 == token_sha256(token)))


def find(session: Session, credential_id: str) -> Credential | None:
    """Return the credential with this id (``urn:uuid:…`` or the bare UUID), if any."""
    if not credential_id.startswith("urn:uuid:"):
        credential_id = f"urn:uuid:{credential_id}"
    return session.scalar(select(Credential).where(Credential.id == credential_id))


def credentials_of(session: Session, learner: str) -> Sequence[Credential]:
    """Return a learner's issued credentials, newest first."""
    return session.scalars(select(Credential).where(Credential.learner == learner,
                                                    Credential.token.is_not(None))
                           .order_by(Credential.issued_at.desc())).all()



# --- Flask wiring ----------------------------------------------------------------------


def init_app(app) -> None:
    """Build the app's :class:`Issuer` from its configuration.

    Other packages of the service (the exams) issue through
    ``app.extensions["qcampus_issue"]`` (:func:`issue_for`), never by importing this module.
    """
    issuer = Issuer.from_config(app.config, app.extensions["qcampus_engine"])
    app.extensions["qcampus_achievements"] = issuer.catalogue
    app.extensions["qcampus_issuer"] = issuer
    app.extensions["qcampus_issue"] = lambda **fields: issue_for(issuer, **fields)


def issue_for(issuer: Issuer, **fields: Any) -> dict[str, Any]:
    """Issue what :class:`IssueRequest` *fields* ask for; return its id, page and whether it is new.

    The same *source* with the same fields returns the credential issued the first time.

    Raises:
        CertificateError: the achievement is unknown, or the source was certified differently.
    """
    fields["evidence"] = tuple(tuple(pair) for pair in fields.get("evidence", ()))
    issued = issue(issuer, IssueRequest(**fields))
    return {"credential_id": issued.credential_id, "verify_url": issuer.verify_url(issued.credential_id),
            "created": issued.created}


def current_issuer() -> Issuer:
    """Return the issuer of the current app."""
    from flask import current_app

    return current_app.extensions["qcampus_issuer"]
