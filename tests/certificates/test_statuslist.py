"""Tests of the Bitstring Status List: bits, encoding, allocation and the signed list."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import timedelta

import pytest

from certificates import statuslist, vcjwt
from certificates.errors import (
    StatusListLengthError,
    StatusRangeError,
    StatusUnavailable,
    StatusVerificationError,
)
from certificates.statuslist import MIN_LENGTH, StatusList

from .conftest import BASE, NOW, list_url


def encoded(data: bytes) -> str:
    """Return *data* GZIP-compressed as a multibase base64url encodedList."""
    return "u" + base64.urlsafe_b64encode(gzip.compress(data)).rstrip(b"=").decode()


def test_bit_zero_is_the_leftmost_bit():
    """Bit 0 is the most significant bit of byte 0; bit 15 the least of byte 1."""
    status_list = StatusList()
    status_list.set(0)
    status_list.set(15)
    assert status_list.to_bytes()[:2] == b"\x80\x01"
    assert status_list.get(0) and status_list.get(15) and not status_list.get(1)
    status_list.set(0, False)
    assert status_list.to_bytes()[0] == 0


def test_encode_decode_round_trip():
    """encode() is u + base64url(gzip(bits)) and decode() restores every bit."""
    status_list = StatusList()
    for index in (0, 7, 8, 70_001, MIN_LENGTH - 1):
        status_list.set(index)
    text = status_list.encode()
    assert text.startswith("u") and "=" not in text
    assert gzip.decompress(base64.urlsafe_b64decode(text[1:] + "==")) == status_list.to_bytes()
    again = StatusList.decode(text)
    assert again.to_bytes() == status_list.to_bytes() and again.length == MIN_LENGTH


def test_encoding_depends_only_on_the_bits():
    """Two encodings of equal lists are equal (no timestamp in the GZIP header)."""
    assert StatusList().encode() == StatusList().encode()


def test_short_list_is_a_length_error():
    """A list of fewer than 131,072 entries is STATUS_LIST_LENGTH_ERROR."""
    with pytest.raises(StatusListLengthError) as caught:
        StatusList.decode(encoded(bytes(MIN_LENGTH // 8 - 1)))
    assert caught.value.code == "STATUS_LIST_LENGTH_ERROR"
    with pytest.raises(StatusListLengthError):
        StatusList(MIN_LENGTH // 2)


@pytest.mark.parametrize("index", [-1, MIN_LENGTH, 10**12, True])
def test_out_of_range_index_is_a_range_error(index):
    """Indices outside the list are RANGE_ERROR."""
    with pytest.raises(StatusRangeError) as caught:
        StatusList().get(index)
    assert caught.value.code == "RANGE_ERROR"


@pytest.mark.parametrize("text", ["zABC", "u!!!", "u" + base64.urlsafe_b64encode(
    b"not gzip").decode(), encoded(bytes(MIN_LENGTH // 8))[:40]],
    # Stable ids: GZIP output embeds a timestamp, and parallel runs compare test ids.
    ids=["wrong-prefix", "bad-base64", "not-gzip", "truncated"])
def test_undecodable_lists_are_verification_errors(text):
    """Wrong multibase prefix, bad base64, non-GZIP or truncated data are refused."""
    with pytest.raises(StatusVerificationError):
        StatusList.decode(text)


def test_gzip_bomb_is_refused():
    """A list that expands past the size bound is refused without inflating it all."""
    with pytest.raises(StatusVerificationError, match="expands"):
        StatusList.decode(encoded(bytes(statuslist.MAX_BYTES + 1)))


def test_allocation_avoids_used_indices():
    """allocate_index never returns a used index, and finds the last free one."""
    used = set(range(MIN_LENGTH)) - {12_345}
    assert statuslist.allocate_index(used) == 12_345
    with pytest.raises(StatusRangeError, match="full"):
        statuslist.allocate_index(used | {12_345})


def test_allocation_is_spread_over_the_list():
    """Random allocation is not sequential: 50 draws cover more than a small range."""
    draws = {statuslist.allocate_index(set()) for _ in range(50)}
    assert len(draws) > 45 and max(draws) - min(draws) > MIN_LENGTH // 4


def test_status_list_credential_shape(issuer):
    """The list credential has the spec's types, id, subject and encodedList."""
    document = statuslist.build_credential(issuer=issuer, url=list_url("revocation"),
                                           purpose="revocation", status_list=StatusList(),
                                           valid_from=NOW, ttl_ms=300_000)
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["id"] == list_url("revocation")
    assert document["credentialSubject"] == {
        "id": f"{list_url('revocation')}#list", "type": "BitstringStatusList",
        "statusPurpose": "revocation", "encodedList": StatusList().encode(), "ttl": 300_000}


def test_signed_list_reads_back(status_source, keystore):
    """A signed list verifies and yields its bits."""
    token = status_source(revoked=(5,)).fetch(list_url("revocation")).token
    bits = statuslist.read_credential(token, keys=keystore.trusted_keys(), issuer_id=BASE,
                                      url=list_url("revocation"), purpose="revocation", now=NOW)
    assert bits.get(5) and not bits.get(6)


def _read(token, keystore, **overrides):
    arguments = {"keys": keystore.trusted_keys(), "issuer_id": BASE,
                 "url": list_url("revocation"), "purpose": "revocation", "now": NOW}
    return statuslist.read_credential(token, **(arguments | overrides))


def test_unsigned_list_is_a_verification_error(issuer, keystore):
    """A list that is not a signed VC-JWT is STATUS_VERIFICATION_ERROR."""
    document = statuslist.build_credential(issuer=issuer, url=list_url("revocation"),
                                           purpose="revocation", status_list=StatusList(),
                                           valid_from=NOW)
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(
        json.dumps(vcjwt.claims_for(document, signed_at=NOW)).encode()).rstrip(b"=")
    for token in (f"{header}.{payload.decode()}.", json.dumps(document)):
        with pytest.raises(StatusVerificationError) as caught:
            _read(token, keystore)
        assert caught.value.code == "STATUS_VERIFICATION_ERROR"


def test_list_signed_by_another_key_is_refused(issuer, keystore, attacker_key):
    """A list signed with a key the issuer does not publish is refused."""
    document = statuslist.build_credential(issuer=issuer, url=list_url("revocation"),
                                           purpose="revocation", status_list=StatusList(),
                                           valid_from=NOW)
    with pytest.raises(StatusVerificationError, match="cannot be trusted"):
        _read(vcjwt.sign(document, attacker_key, signed_at=NOW), keystore)


@pytest.mark.parametrize("overrides, message", [
    ({"url": list_url("suspension")}, "published for"),
    ({"purpose": "suspension"}, "for 'revocation'"),
    ({"issuer_id": "https://other.example"}, "not issued by"),
    ({"now": NOW - timedelta(days=1)}, "not valid yet"),
])
def test_list_for_something_else_is_refused(status_source, keystore, overrides, message):
    """A genuine list is refused for another URL, purpose, issuer, or before its time."""
    token = status_source().fetch(list_url("revocation")).token
    with pytest.raises(StatusVerificationError, match=message):
        _read(token, keystore, **overrides)


def test_expired_list_is_refused(issuer, keystore):
    """A list past its validUntil must be fetched again."""
    document = statuslist.build_credential(issuer=issuer, url=list_url("revocation"),
                                           purpose="revocation", status_list=StatusList(),
                                           valid_from=NOW, valid_until=NOW + timedelta(hours=1))
    token = vcjwt.sign(document, keystore.signing_key(), signed_at=NOW)
    with pytest.raises(StatusVerificationError, match="expired"):
        _read(token, keystore, now=NOW + timedelta(hours=2))


def test_signed_short_list_is_a_length_error(issuer, keystore):
    """A correctly signed list that is too short is STATUS_LIST_LENGTH_ERROR."""
    document = statuslist.build_credential(issuer=issuer, url=list_url("revocation"),
                                           purpose="revocation", status_list=StatusList(),
                                           valid_from=NOW)
    document["credentialSubject"]["encodedList"] = encoded(bytes(1024))
    token = vcjwt.sign(document, keystore.signing_key(), signed_at=NOW)
    with pytest.raises(StatusListLengthError):
        _read(token, keystore)


def test_mapping_source_reports_missing_lists():
    """A source without the URL raises StatusUnavailable (STATUS_RETRIEVAL_ERROR)."""
    with pytest.raises(StatusUnavailable) as caught:
        statuslist.MappingStatusSource({}).fetch(list_url("revocation"))
    assert caught.value.code == "STATUS_RETRIEVAL_ERROR"


def test_file_source_serves_lists_by_their_id(status_source, tmp_path):
    """A file (bare token or JSON wrapper) is served for the URL its credential names."""
    source = status_source()
    bare = tmp_path / "revocation.jwt"
    bare.write_text(source.fetch(list_url("revocation")).token + "\n")
    wrapped = tmp_path / "suspension.json"
    wrapped.write_text(json.dumps({"credential": source.fetch(
        list_url("suspension")).token}))
    files = statuslist.FileStatusSource([bare, wrapped])
    assert files.fetch(list_url("revocation")).fetched_at is not None
    assert files.fetch(list_url("suspension")).token == source.fetch(list_url("suspension")).token
    with pytest.raises(StatusUnavailable):
        files.fetch(f"{BASE}/status/other")


def test_file_source_refuses_non_lists(tmp_path):
    """A file that holds no token is refused when the source is made."""
    path = tmp_path / "list.jwt"
    path.write_text("hello")
    with pytest.raises(StatusVerificationError):
        statuslist.FileStatusSource([path])


def test_remembered_list_is_checked_again_after_a_compromise(status_source, keystore):
    """A list verified once is refused after its key is marked compromised before it signed."""
    token = status_source().fetch(list_url("revocation")).token
    assert _read(token, keystore).length == MIN_LENGTH
    keystore.mark_compromised(keystore.active().kid, NOW - timedelta(minutes=1))
    with pytest.raises(StatusVerificationError, match="compromised"):
        _read(token, keystore)


def test_list_signed_by_a_compromised_key_is_refused_whatever_its_date(issuer, keystore):
    """A list dated before its key's compromise is refused too: the date is the signer's claim."""
    stolen = keystore.signing_key()
    document = statuslist.build_credential(issuer=issuer, url=list_url("revocation"),
                                           purpose="revocation", status_list=StatusList(),
                                           valid_from=NOW - timedelta(days=30))
    forged = vcjwt.sign(document, stolen, signed_at=NOW - timedelta(days=30))
    keystore.mark_compromised(stolen.kid, NOW)
    with pytest.raises(StatusVerificationError, match="reported compromised"):
        _read(forged, keystore)


def test_remembered_list_still_expires(issuer, keystore):
    """A list verified once is refused once its validUntil passes."""
    document = statuslist.build_credential(issuer=issuer, url=list_url("revocation"),
                                           purpose="revocation", status_list=StatusList(),
                                           valid_from=NOW, valid_until=NOW + timedelta(hours=1))
    token = vcjwt.sign(document, keystore.signing_key(), signed_at=NOW)
    assert not _read(token, keystore).get(1)
    with pytest.raises(StatusVerificationError, match="expired"):
        _read(token, keystore, now=NOW + timedelta(hours=1))


def test_returned_lists_are_independent(status_source, keystore):
    """Changing a returned list does not change what the next read returns."""
    token = status_source().fetch(list_url("revocation")).token
    _read(token, keystore).set(3)
    assert not _read(token, keystore).get(3)
