"""The certificates database: credentials, status lists, status events, audit log, idempotency.

Typed SQLAlchemy 2.0 models on one :class:`Model` base whose ``MetaData``
names every constraint, so Alembic migrations name them the same way on
SQLite and PostgreSQL. Times are stored and returned as UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from qcampus.database import UTCDateTime, utcnow  # noqa: F401  (utcnow: used by importers)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Purposes of the Bitstring Status Lists this issuer keeps (one list each).
PURPOSES = ("revocation", "suspension")

#: Why a credential was revoked or suspended; shown to verifiers as a category only.
REASON_CATEGORIES = {
    "issued_in_error": ("Issued in error", "誤って発行"),
    "academic_misconduct": ("Academic misconduct", "学術上の不正"),
    "superseded": ("Superseded by a newer credential", "新しい証明書に置き換え"),
    "learner_request": ("At the learner's request", "受講者の申し出"),
    "under_review": ("Under review", "審査中"),
    "key_compromise": ("Issuer key compromised", "発行者の鍵の漏えい"),
    "other": ("Other", "その他"),
}


class Model(DeclarativeBase):
    """Base of every certificates table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Credential(Model):
    """One issued (or reserved, while being signed) credential.

    A row with ``token`` NULL is a reservation: its serial and status index
    are taken, nothing was handed out yet. Issuing finishes it; a crash leaves
    it to be finished by the retry of the same request.
    """

    __tablename__ = "credentials"

    serial: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: ``urn:uuid:…``, the credential's ``id``.
    id: Mapped[str] = mapped_column(String(45), unique=True)
    #: The salted ``identityHash`` identifying the learner in ``credentialSubject``.
    learner_hash: Mapped[str] = mapped_column(String(100), index=True)
    #: The hub user name, to list a learner's own credentials; never published.
    learner: Mapped[str] = mapped_column(String(200), index=True)
    #: The name shown on the credential, only if the learner opted in.
    display_name: Mapped[str | None] = mapped_column(String(200))
    achievement_id: Mapped[str] = mapped_column(String(100), index=True)
    #: Index in both the revocation and the suspension status list.
    status_index: Mapped[int] = mapped_column(Integer, unique=True)
    #: ``revoked``/``suspended`` mirrors the status lists; ``active`` otherwise.
    status: Mapped[str] = mapped_column(String(20), default="active")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The exam result (or manual issue) this credential certifies; one credential per result.
    source: Mapped[str] = mapped_column(String(200), unique=True)
    #: The unsigned credential JSON, fixed at reservation so signing can be finished or
    #: repeated after a crash with the same result (Ed25519 signatures are deterministic).
    document: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(200))
    #: The signed VC-JWT; NULL while reserved.
    token: Mapped[str | None] = mapped_column(Text)
    #: SHA-256 (hex) of ``token``: the issuer's own record that it issued exactly these bytes,
    #: which online verification requires (a stolen key can sign, but not write here).
    token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)

    events: Mapped[list[StatusEvent]] = relationship(
        back_populates="credential", order_by="StatusEvent.id")

    @property
    def uuid(self) -> str:
        """Return the bare UUID used in verification URLs."""
        return self.id.removeprefix("urn:uuid:")


class StatusList(Model):
    """One Bitstring Status List (a bit per status index) and its version."""

    __tablename__ = "status_lists"

    purpose: Mapped[str] = mapped_column(String(20), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    #: Incremented on every change, so a signed list can be cached per version.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def bit(self, index: int) -> bool:
        """Return the status bit at *index* (bit 0 is the most significant of byte 0)."""
        return bool(self.bits[index // 8] & (0x80 >> (index % 8)))

    def with_bit(self, index: int, value: bool) -> bytes:
        """Return the bitstring with the bit at *index* set to *value*."""
        data = bytearray(self.bits)
        if value:
            data[index // 8] |= 0x80 >> (index % 8)
        else:
            data[index // 8] &= ~(0x80 >> (index % 8)) & 0xFF
        return bytes(data)


class StatusEvent(Model):
    """A revocation, suspension or reinstatement of one credential."""

    __tablename__ = "status_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    credential_serial: Mapped[int] = mapped_column(ForeignKey("credentials.serial"), index=True)
    #: ``revoked``, ``suspended`` or ``reinstated``.
    action: Mapped[str] = mapped_column(String(20))
    reason_category: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    credential: Mapped[Credential] = relationship(back_populates="events")


class AuditRecord(Model):
    """One append-only, hash-chained audit record.

    ``hash`` is the SHA-256 of ``prev_hash`` and the record's canonical JSON
    (see :mod:`certificates.audit`); ``prev_hash`` is unique, so the chain
    cannot fork even under concurrent writers. Triggers created by the migration
    refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40), index=True)
    credential_id: Mapped[str | None] = mapped_column(String(45), index=True)
    reason_category: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(200))
    #: Canonical JSON of further facts (achievement, learner hash, token hash, …).
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class IdempotencyKey(Model):
    """A client's ``Idempotency-Key``, the hash of its payload and the response given."""

    __tablename__ = "idempotency_keys"

    client: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    payload_hash: Mapped[str] = mapped_column(String(64))
    credential_serial: Mapped[int] = mapped_column(ForeignKey("credentials.serial"))
    #: The HTTP status of the first response (201 issued, 200 already issued), replayed as is.
    response_status: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


Index("ix_credentials_achievement_issued", Credential.achievement_id, Credential.issued_at)
