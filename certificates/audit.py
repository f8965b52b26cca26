"""Append to and check the hash-chained audit log.

Each record's ``hash`` is ``SHA-256(prev_hash || "\\n" || canonical JSON of the
record)``; the first record's ``prev_hash`` is 64 zeros. Changing, removing or
reordering any record breaks the chain from that record on, and
:func:`verify_chain` names the first broken record. The code has no path that
updates or deletes a record, and database triggers refuse both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from certificates.errors import AuditChainBroken
from certificates.models import AuditRecord, utcnow

GENESIS = "0" * 64

#: What an audit record may say happened.
ACTIONS = frozenset({"issue", "revoke", "suspend", "reinstate"})


def canonical(record: AuditRecord) -> str:
    """Return the canonical JSON text hashed for *record* (everything but the hashes)."""
    at = record.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(
        {
            "seq": record.seq,
            "at": at,
            "actor": record.actor,
            "action": record.action,
            "credential_id": record.credential_id,
            "reason_category": record.reason_category,
            "reason": record.reason,
            "details": json.loads(record.details),
        },
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )


def record_hash(prev_hash: str, record: AuditRecord) -> str:
    """Return the chained hash of *record* after *prev_hash*."""
    return hashlib.sha256(f"{prev_hash}\n{canonical(record)}".encode()).hexdigest()


def append(session: Session, *, actor: str, action: str, reason: str,
           credential_id: str | None = None, reason_category: str | None = None,
           details: Mapping[str, object] | None = None,
           at: datetime | None = None) -> AuditRecord:
    """Add the next audit record to *session*'s transaction and return it.

    The caller commits; the record is part of the same transaction as the
    change it records, so neither exists without the other. Concurrent
    writers are serialised (SQLite ``BEGIN IMMEDIATE``; a table lock on
    PostgreSQL), and ``prev_hash`` is unique, so the chain never forks.
    """
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}; expected one of {sorted(ACTIONS)}.")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
    last = session.scalar(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1))
    record = AuditRecord(
        seq=1 if last is None else last.seq + 1,
        at=(at or utcnow()).astimezone(UTC),
        actor=actor,
        action=action,
        credential_id=credential_id,
        reason_category=reason_category,
        reason=reason,
        details=json.dumps(dict(details or {}), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False),
        prev_hash=GENESIS if last is None else last.hash,
    )
    record.hash = record_hash(record.prev_hash, record)
    session.add(record)
    session.flush()
    return record


@dataclass(frozen=True)
class ChainReport:
    """The result of :func:`verify_chain`."""

    records: int
    head: str


def verify_chain(session: Session) -> ChainReport:
    """Check every record of the audit log in order.

    Returns:
        The number of records and the hash of the last one.

    Raises:
        AuditChainBroken: a record was changed, removed, inserted or reordered;
            the message names the first record that does not verify.
    """
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    for record in session.scalars(select(AuditRecord).order_by(AuditRecord.seq)):
        if record.seq != expected_seq:
            raise AuditChainBroken(
                f"Audit record {expected_seq} is missing (next record is {record.seq}).")
        if record.prev_hash != prev_hash:
            raise AuditChainBroken(
                f"Audit record {record.seq} does not follow record {record.seq - 1}.")
        if record_hash(prev_hash, record) != record.hash:
            raise AuditChainBroken(f"Audit record {record.seq} was altered after it was written.")
        prev_hash = record.hash
        expected_seq += 1
        count += 1
    return ChainReport(records=count, head=prev_hash)
