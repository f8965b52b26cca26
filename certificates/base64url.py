"""Base64url without padding (RFC 7515 §2), decoded strictly.

JOSE and multibase ``u`` use the URL-safe alphabet without ``=`` padding. The
decoder accepts only the canonical form, so no two texts decode to the same
bytes: a changed character can never go unnoticed in the unused low bits.
"""

from __future__ import annotations

import base64


def encode(data: bytes) -> str:
    """Return *data* as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """Decode canonical unpadded base64url text.

    Raises:
        ValueError: not a string, characters outside the alphabet, padding, an
            impossible length, or unused bits that are not zero.
    """
    if not isinstance(text, str) or not text.isascii() or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url text")
    # The decoder skips foreign characters and reads '+' and '/' too; re-encoding
    # and comparing refuses all of those, padding, and non-zero unused bits.
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if encode(data) != text:
        raise ValueError("non-canonical base64url")
    return data
