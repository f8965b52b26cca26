"""The issuer's status lists in the database: publish them signed, change a credential's status.

There is one Bitstring Status List per purpose (revocation, suspension), of
the same length; a credential's one random status index points into both.
Revoking, suspending or reinstating flips the bits, bumps the list's version,
records a status event and appends an audit record, all in one transaction
that holds the lists' lock, so the lists and the credential rows always agree
(:func:`check_consistency`). The signed list is cached per version: every
worker signs the same version identically (its ``updated_at`` is the signing
time), and a verification reads only both lists' version numbers, in one
statement; the verified, decoded lists are remembered per token by
:mod:`certificates.statuslist`, so an unchanged list is neither re-verified nor
re-inflated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from certificates import audit, statuslist, vcjwt
from certificates.db import write_session
from certificates.errors import (
    CredentialNotFound,
    IssuanceError,
    KeyStoreError,
    StatusUnavailable,
)
from certificates.models import (
    PURPOSES,
    REASON_CATEGORIES,
    Credential,
    StatusEvent,
    StatusList,
    utcnow,
)

if TYPE_CHECKING:
    from certificates.issuance import Issuer


def _credential(session: Session, credential_id: str) -> Credential | None:
    return session.scalar(select(Credential).where(
        Credential.id == f"urn:uuid:{credential_id.removeprefix('urn:uuid:')}"))


def ensure_status_lists(session: Session, length: int = statuslist.MIN_LENGTH) -> None:
    """Create the revocation and suspension lists if they do not exist."""
    for purpose in PURPOSES:
        if session.get(StatusList, purpose) is None:
            session.add(StatusList(purpose=purpose, size=length, bits=bytes(length // 8),
                                   version=1, updated_at=utcnow()))
    session.flush()


def locked_lists(session: Session, issuer: Issuer) -> dict[str, StatusList]:
    """Return both status lists, locked until commit (row locks on PostgreSQL)."""
    ensure_status_lists(session, issuer.status_list_length)
    rows = session.scalars(select(StatusList).where(StatusList.purpose.in_(PURPOSES))
                           .order_by(StatusList.purpose).with_for_update())
    return {row.purpose: row for row in rows}


#: Both lists' versions in one statement, read on every verification.
_VERSIONS_SQL = "SELECT purpose, version FROM status_lists"


def list_versions(engine: Engine) -> dict[str, int]:
    """Return the current version of every status list, by purpose.

    One statement on a pooled connection, outside the ORM: this is the only
    database work a verification does while the lists are unchanged, and one
    statement reads both versions from the same snapshot.
    """
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(_VERSIONS_SQL)
            return {purpose: int(version) for purpose, version in cursor.fetchall()}
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool, which ends any transaction the driver began


def _opened(session: Session | Callable[[], Session]) -> Session:
    return session if isinstance(session, Session) else session()


def signed_status_list(issuer: Issuer, session: Session | Callable[[], Session], purpose: str, *,
                       version: int | None = None, kid: str | None = None) -> str:
    """Return the signed status list credential of *purpose* (cached per list version).

    The list is signed with its ``updated_at`` as signing time, so every worker
    produces the same token for the same version. *version* (committed, read
    by :func:`list_versions`) and *kid* let a caller that already read them for
    this request pass them in; they are read through *session* otherwise.
    *session* may be a function returning one, called only when something has
    to be read.
    """
    # Only the version is read on a cache hit: the 16 KiB bitstring and the private
    # key are loaded when a new version has to be signed.
    if version is None:
        version = _opened(session).scalar(select(StatusList.version)
                                          .where(StatusList.purpose == purpose))
    if version is None:
        raise IssuanceError(f"There is no {purpose} status list yet; run `qcampus init`.")
    token = issuer._status_tokens.get((purpose, version, kid or issuer.active_kid()))
    if token is None:
        row = _opened(session).get(StatusList, purpose)
        key = issuer.keystore.signing_key()
        cache_key = (purpose, row.version, key.kid)
        document = statuslist.build_credential(
            issuer=issuer.profile, url=issuer.status_url(purpose), purpose=purpose,
            status_list=statuslist.StatusList(row.size, row.bits),
            valid_from=row.updated_at.replace(microsecond=0), ttl_ms=300_000)
        token = vcjwt.sign(document, key, signed_at=row.updated_at.replace(microsecond=0))
        issuer._status_tokens = {cache_key: token, **{
            k: v for k, v in issuer._status_tokens.items() if k[0] != purpose}}
    return token


class DatabaseStatusSource:
    """The status lists of this issuer, read from its database (a ``StatusSource``).

    A source answers one verification: the first :meth:`fetch` reads both
    lists' current versions in one query (unless the caller already read them,
    *versions*) and later fetches reuse them, so a credential's revocation and
    suspension entries are judged on the same snapshot. A new source (every
    request makes one) reads the versions again, so a status change is seen by
    the next verification.
    """

    def __init__(self, issuer: Issuer, session: Session | Callable[[], Session], *,
                 kid: str | None = None, versions: Mapping[str, int] | None = None) -> None:
        """Read *issuer*'s lists through *session*.

        Args:
            issuer: The issuer whose lists are read.
            session: A session, or a function returning one; it is called only
                when a list version has to be signed or a status change looked
                up, so a verification served from caches opens no session.
            kid: The active key, when the caller already looked it up.
            versions: Both lists' versions, when the caller already read them.
        """
        self.issuer = issuer
        self._session = session
        self._kid = kid
        self._versions = dict(versions) if versions is not None else None

    def session(self) -> Session:
        """Return the session, opening it on first use."""
        self._session = _opened(self._session)
        return self._session

    def fetch(self, url: str) -> statuslist.StatusListDocument:
        """Return the signed list published at *url*, or raise ``StatusUnavailable``."""
        for purpose in PURPOSES:
            if url == self.issuer.status_url(purpose):
                try:
                    if self._versions is None:
                        self._versions = list_versions(self.issuer.engine)
                    token = signed_status_list(self.issuer, self.session, purpose,
                                               version=self._versions.get(purpose),
                                               kid=self._kid)
                except (IssuanceError, KeyStoreError) as exc:
                    # No list or no key to sign it: the status is unknown, never "valid".
                    raise StatusUnavailable(f"The {purpose} list cannot be served: {exc}") \
                        from exc
                return statuslist.StatusListDocument(token=token)
        raise StatusUnavailable(f"{url} is not a status list of this issuer.")

    def detail(self, url: str, index: int) -> statuslist.StatusDetail | None:
        """Return when and why (category only) the credential at *index* changed status."""
        session = self.session()
        row = session.scalar(select(Credential).where(Credential.status_index == index))
        event = latest_event(session, row) if row is not None else None
        if event is None:
            return None
        return statuslist.StatusDetail(changed_at=event.at, reason=event.reason_category)


# --- status changes --------------------------------------------------------------------

#: action → (states it applies to, resulting state, audit action)
TRANSITIONS = {
    "revoked": ({"active", "suspended"}, "revoked", "revoke"),
    "suspended": ({"active"}, "suspended", "suspend"),
    "reinstated": ({"suspended"}, "active", "reinstate"),
}


def change_status(issuer: Issuer, credential_id: str, action: str, *, reason_category: str,
                  reason: str, actor: str) -> StatusEvent:
    """Revoke, suspend or reinstate a credential, with its status bits and audit record.

    Revocation is final; a suspension can be reinstated.

    Raises:
        CredentialNotFound: no such credential.
        IssuanceError: the change does not apply to the credential's current state,
            or the reason category is unknown.
    """
    if action not in TRANSITIONS:
        raise IssuanceError(f"Unknown status change {action!r}; use one of {sorted(TRANSITIONS)}.")
    if reason_category not in REASON_CATEGORIES:
        raise IssuanceError(f"Unknown reason category {reason_category!r}; use one of "
                            f"{', '.join(REASON_CATEGORIES)}.")
    allowed, new_state, audit_action = TRANSITIONS[action]
    with write_session(issuer.engine) as session:
        lists = locked_lists(session, issuer)
        row = _credential(session, credential_id)
        if row is None or row.token is None:
            raise CredentialNotFound(f"Credential {credential_id} does not exist.")
        if row.status not in allowed:
            raise IssuanceError(f"Credential {row.id} is {row.status}; it cannot be {action}.")
        now = utcnow()
        for purpose, bit in (("revocation", new_state == "revoked"),
                             ("suspension", new_state == "suspended")):
            status_list = lists[purpose]
            if status_list.bit(row.status_index) != bit:
                status_list.bits = status_list.with_bit(row.status_index, bit)
                status_list.version += 1
                status_list.updated_at = now
        row.status = new_state
        event = StatusEvent(credential_serial=row.serial, action=action,
                            reason_category=reason_category, reason=reason, actor=actor, at=now)
        session.add(event)
        audit.append(session, actor=actor, action=audit_action, reason=reason,
                     reason_category=reason_category, credential_id=row.id, at=now,
                     details={"status_index": row.status_index, "from": sorted(allowed)})
        return event


def latest_event(session: Session, row: Credential) -> StatusEvent | None:
    """Return the last status change of *row*, if any."""
    return session.scalar(select(StatusEvent).where(StatusEvent.credential_serial == row.serial)
                          .order_by(StatusEvent.id.desc()).limit(1))


def check_consistency(session: Session) -> list[str]:
    """Return every disagreement between credential rows and the status lists (empty: none)."""
    problems = []
    lists = {row.purpose: row for row in session.scalars(select(StatusList))}
    seen: set[int] = set()
    for row in session.scalars(select(Credential).order_by(Credential.serial)):
        if row.status_index in seen:
            problems.append(f"{row.id}: status index {row.status_index} used twice")
        seen.add(row.status_index)
        if not lists:
            problems.append(f"{row.id}: no status lists exist")
            continue
        revoked = lists["revocation"].bit(row.status_index)
        suspended = lists["suspension"].bit(row.status_index)
        expected = "revoked" if revoked else "suspended" if suspended else "active"
        if revoked and suspended:
            problems.append(f"{row.id}: both revoked and suspended bits set")
        if row.status != expected:
            problems.append(f"{row.id}: row says {row.status}, status lists say {expected}")
        if row.token is None and row.status != "active":
            problems.append(f"{row.id}: reservation with a status change")
    return problems
