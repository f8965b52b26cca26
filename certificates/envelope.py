"""Read what an employer hands in: the VC-JWT inside a credential file or pasted text.

Accepted forms:

- a compact VC-JWT (``eyJ…``), the credential file qcampus hands out;
- JSON ``{"credential": "<VC-JWT>"}``;
- a VC Data Model 2.0 ``EnvelopedVerifiableCredential``
  (``{"type": "EnvelopedVerifiableCredential", "id": "data:application/vc+jwt,<VC-JWT>"}``).

A bare JSON credential is refused: an embedded ``proof`` or
``verificationMethod`` names the signer's own key, which is never trusted
(``unknown_key``), and one without any proof is ``malformed``.
"""

from __future__ import annotations

import json

from certificates.errors import MalformedCredential, UnknownKey

#: Largest input accepted, in bytes (credentials are a few kilobytes).
MAX_INPUT = 256 * 1024

#: The envelope media types accepted in an ``EnvelopedVerifiableCredential`` data URL.
ENVELOPE_MEDIA_TYPES = ("application/vc+jwt", "application/vc-ld+jwt", "application/jwt")


def extract_token(text: str | bytes) -> str:
    """Return the VC-JWT inside *text* (a bare token or one of the JSON wrappers).

    Raises:
        MalformedCredential: none of the accepted forms, or too large.
        UnknownKey: a JSON credential secured by an embedded proof.
    """
    if len(text) > MAX_INPUT:
        raise MalformedCredential(f"The file is larger than {MAX_INPUT // 1024} KiB; a "
                                  f"credential is a few kilobytes.")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedCredential("The file is not UTF-8 text.") from exc
    text = text.strip().removeprefix("\ufeff")
    if not text.startswith(("{", "[")):
        return text
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise MalformedCredential("The file starts like JSON but is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise MalformedCredential("A JSON credential file must hold one object.")
    if set(data) == {"credential"} and isinstance(data["credential"], str):
        return data["credential"].strip()
    if data.get("type") == "EnvelopedVerifiableCredential" or \
            data.get("type") == ["EnvelopedVerifiableCredential"]:
        url = data.get("id")
        if isinstance(url, str):
            for media_type in ENVELOPE_MEDIA_TYPES:
                prefix = f"data:{media_type},"
                if url.startswith(prefix):
                    return url[len(prefix):].strip()
        raise MalformedCredential("The envelope's id must be a data: URL of type "
                                  "application/vc+jwt holding the signed credential.")
    if "proof" in data or "verificationMethod" in json.dumps(data):
        raise UnknownKey("The credential carries its own proof or verification method; only "
                         "the issuer's published keys are trusted, through a VC-JWT.")
    raise MalformedCredential("The JSON holds no signed credential: expected a VC-JWT, "
                              '{"credential": "<VC-JWT>"} or an EnvelopedVerifiableCredential.')
