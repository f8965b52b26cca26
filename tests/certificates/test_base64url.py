"""Tests of strict unpadded base64url."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certificates import base64url


@given(st.binary(max_size=200))
def test_round_trip(data):
    """decode(encode(x)) == x and the text has no padding."""
    text = base64url.encode(data)
    assert "=" not in text and base64url.decode(text) == data


@pytest.mark.parametrize("text", ["AA==", "A", "AB", "a+b/", "AAA=", " AAAA", 5])
def test_non_canonical_or_foreign_text_is_refused(text):
    """Padding, impossible lengths, unused bits set and other alphabets are refused."""
    with pytest.raises(ValueError):
        base64url.decode(text)
