"""The per-process verdict cache: repeated verifications are cheap, and never stale."""

from __future__ import annotations

from datetime import timedelta

import pytest

from certificates import db, issuance, status, statuslist, verification
from certificates.models import utcnow
from certificates.verdict_cache import VerdictCache
from certificates.verification import Outcome
from certificates.verify import run_verification
from tests.certificates.conftest import BOTH_DATABASES


@pytest.fixture
def verify_at(app):
    """Return a function verifying a token through the service at an injected time."""

    def verify(token: str, now=None) -> verification.Verdict:
        with app.app_context():
            return run_verification(token, now=now or utcnow())

    return verify


@pytest.fixture
def cache(app) -> VerdictCache:
    """Return the app's verdict cache."""
    return app.extensions["qcampus_verdicts"]


def _uncached(app, token: str, now) -> verification.Verdict:
    """Verify *token* as the service would, without the verdict cache."""
    with app.app_context():
        issuer = app.extensions["qcampus_issuer"]
        keys, kid = issuer.published_keys()
        source = status.DatabaseStatusSource(issuer, db.session, kid=kid)
        return verification.verify(token, keys=keys, issuer_id=issuer.public_url,
                                   status=source, now=now, records=lambda signed: (
                                       issuance.recorded_issue_time(db.session(), signed)))


def test_a_repeated_verification_is_answered_from_the_cache(verify_at, cache,
                                                            issue_credential):
    """The second verification of a token is a hit and gives the same verdict."""
    token = issue_credential().token
    now = utcnow()
    first = verify_at(token, now)
    assert (cache.hits, cache.misses, len(cache)) == (0, 1, 1)
    second = verify_at(token, now)
    assert (cache.hits, cache.misses) == (1, 1)
    assert second == first and second.outcome is Outcome.VALID


@BOTH_DATABASES
@pytest.mark.parametrize(("action", "outcome"), [("revoked", Outcome.REVOKED),
                                                 ("suspended", Outcome.SUSPENDED)])
def test_a_status_change_is_seen_by_the_next_verification(verify_at, cache, issue_credential,
                                                          service_issuer, action, outcome):
    """A revocation or suspension, made by another issuer object, misses the warm entry."""
    issued = issue_credential()
    verify_at(issued.token)
    assert verify_at(issued.token).outcome is Outcome.VALID and cache.hits == 1
    status.change_status(service_issuer, issued.credential_id, action,
                         reason_category="other", reason="x", actor="ada")
    verdict = verify_at(issued.token)
    assert verdict.outcome is outcome and cache.misses == 2
    assert verdict.details["reason_category"] == "other"
    if action == "suspended":
        status.change_status(service_issuer, issued.credential_id, "reinstated",
                             reason_category="other", reason="x", actor="ada")
        assert verify_at(issued.token).outcome is Outcome.VALID


def test_a_key_compromise_is_seen_by_the_next_verification(verify_at, cache, issue_credential,
                                                           service_issuer):
    """Marking the signing key compromised before the signature makes the next verdict unknown_key."""
    issued = issue_credential()
    verdict = verify_at(issued.token)
    assert verify_at(issued.token).outcome is Outcome.VALID and cache.hits == 1
    service_issuer.keystore.mark_compromised(verdict.details["kid"], utcnow() - timedelta(days=1))
    assert verify_at(issued.token).outcome is Outcome.UNKNOWN_KEY
    assert cache.hits == 1


def test_a_rotation_is_a_new_key_state(verify_at, cache, issue_credential, service_issuer):
    """After a rotation the warm entry is not used; the credential is examined again, still valid."""
    issued = issue_credential()
    verify_at(issued.token)
    service_issuer.keystore.rotate()
    assert verify_at(issued.token).outcome is Outcome.VALID
    assert (cache.hits, cache.misses) == (0, 2)
    assert verify_at(issued.token).outcome is Outcome.VALID and cache.hits == 1


def test_the_validity_period_is_decided_at_each_verification(verify_at, cache,
                                                             issue_credential):
    """A cached valid credential is expired after validUntil and not yet valid before validFrom."""
    issued = issue_credential(valid_for_days=1)
    now = utcnow()
    assert verify_at(issued.token, now).outcome is Outcome.VALID
    later = now + timedelta(days=2)
    expired = verify_at(issued.token, later)
    assert expired.outcome is Outcome.EXPIRED and cache.hits == 1
    assert expired.details["valid_until"] in expired.message["en"]
    assert expired.details["valid_until"] in expired.message["ja"]
    assert verify_at(issued.token, now - timedelta(days=1)).outcome is Outcome.NOT_YET_VALID
    assert verify_at(issued.token, now).outcome is Outcome.VALID
    assert cache.misses == 1


@pytest.mark.parametrize("days", [-1, 0, 2, 400])
def test_cached_and_uncached_verdicts_agree(app, verify_at, issue_credential, service_issuer,
                                            days):
    """At any time, before or after a revocation, the cached verdict equals a fresh verification."""
    valid, revoked = issue_credential(valid_for_days=1), issue_credential(valid_for_days=365)
    status.change_status(service_issuer, revoked.credential_id, "revoked",
                         reason_category="issued_in_error", reason="x", actor="ada")
    now = utcnow() + timedelta(days=days)
    for token in (valid.token, revoked.token):
        verify_at(token, now)
        assert verify_at(token, now) == _uncached(app, token, now)


def _one_byte_changes(token: str) -> list[str]:
    """Return *token* with one character replaced, at positions across all three parts."""
    changed = []
    for position in range(0, len(token), max(1, len(token) // 40)):
        if token[position] == ".":
            continue
        other = "A" if token[position] != "A" else "B"
        changed.append(token[:position] + other + token[position + 1:])
    return changed


def test_a_token_differing_by_one_byte_never_hits(verify_at, cache, issue_credential):
    """Each one-character change of a warm token is examined on its own and never valid."""
    token = issue_credential().token
    verify_at(token)
    changes = _one_byte_changes(token)
    for changed in changes:
        assert verify_at(changed).outcome is not Outcome.VALID
    assert cache.hits == 0 and cache.misses == 1 + len(changes)
    assert verify_at(token).outcome is Outcome.VALID and cache.hits == 1


def test_failures_are_not_kept(verify_at, cache, issue_credential):
    """Tampered, malformed and foreign-key tokens are examined every time and take no entry."""
    token = issue_credential().token
    header, payload, signature = token.split(".")
    # Change a character in the middle: the last ones carry padding bits, so replacing them
    # can leave the signature's bytes as they were.
    changed = "B" if signature[10] == "A" else "A"
    tampered = f"{header}.{payload}.{signature[:10]}{changed}{signature[11:]}"
    for text in (tampered, tampered, "not a credential", "eyJhbGciOiJub25lIn0.e30."):
        assert verify_at(text).outcome in {Outcome.TAMPERED, Outcome.MALFORMED,
                                           Outcome.UNKNOWN_KEY}
    assert len(cache) == 0 and cache.hits == 0


def test_an_unreadable_status_list_is_not_kept(keystore, issue, status_source, now):
    """A status_unknown examination is made again next time, so a list back online is seen."""
    from tests.certificates.conftest import BASE

    cache = VerdictCache(8)
    keys, token = keystore.trusted_keys(), issue()

    def examine(source):
        return verification.judge(cache.examine(token, keys=keys, issuer_id=BASE, status=source,
                                                versions=(1,)), now)

    assert examine(statuslist.MappingStatusSource({})).outcome is Outcome.STATUS_UNKNOWN
    assert len(cache) == 0
    assert examine(status_source()).outcome is Outcome.VALID and len(cache) == 1


def test_the_cache_is_bounded_and_drops_the_least_recently_used(keystore, make_credential,
                                                                issue, status_source, now):
    """A cache of two keeps the two most recently used examinations."""
    from tests.certificates.conftest import BASE

    cache = VerdictCache(2)
    keys, source = keystore.trusted_keys(), status_source()
    first, second, third = (issue(make_credential()) for _ in range(3))

    def examine(token):
        cache.examine(token, keys=keys, issuer_id=BASE, status=source, versions=(1,))

    for token in (first, second, first, third):
        examine(token)
    assert len(cache) == 2 and (cache.hits, cache.misses) == (1, 3)
    examine(first)
    assert cache.hits == 2
    examine(second)
    assert cache.misses == 4


def test_a_cache_of_size_zero_keeps_nothing(keystore, issue, status_source):
    """VERDICT_CACHE_SIZE = 0 examines every time."""
    from tests.certificates.conftest import BASE

    cache, token = VerdictCache(0), issue()
    for _ in range(2):
        cache.examine(token, keys=keystore.trusted_keys(), issuer_id=BASE,
                      status=status_source(), versions=(1,))
    assert len(cache) == 0 and (cache.hits, cache.misses) == (0, 2)


def test_the_service_cache_size_is_configurable(deployment, hub):
    """The app's cache has VERDICT_CACHE_SIZE entries at most."""
    from web import create_app

    service = create_app({"TESTING": True, "QCAMPUS_HOME": deployment.home,
                          "RATELIMIT_STORAGE_URI": "memory://", "HUB_AUTH": hub,
                          "SERVICE_PREFIX": "/", "VERDICT_CACHE_SIZE": 0})
    try:
        assert service.extensions["qcampus_verdicts"].size == 0
    finally:
        service.extensions["qcampus_engine"].dispose()
        service.extensions["qcampus_web_engine"].dispose()
