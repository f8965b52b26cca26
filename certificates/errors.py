"""Errors of the credential core.

One root, :class:`CertificateError`, with a subclass per way a credential, a key
or a status list can be wrong. Like the core's errors they are
:class:`click.ClickException` subclasses, so the command line shows them and
exits with their code; library callers catch :class:`CertificateError`.
"""

from __future__ import annotations

import click


class CertificateError(click.ClickException):
    """Root of every error the certificates package raises."""

    exit_code = 20


class AchievementError(CertificateError):
    """The achievement catalogue is invalid or names an unknown achievement."""

    exit_code = 21


class KeyStoreError(CertificateError):
    """The issuer key store cannot be created, read or changed safely."""

    exit_code = 22


class MalformedCredential(CertificateError):
    """The input is not a credential this issuer produces (structure, context, encoding)."""

    exit_code = 23


class SignatureInvalid(CertificateError):
    """The signature does not match the content, or uses a forbidden algorithm."""

    exit_code = 24


class UnknownKey(CertificateError):
    """The signing key is not one the trusted issuer publishes, or may not be used."""

    exit_code = 25


class StatusError(CertificateError):
    """The status of a credential cannot be established.

    Attributes:
        code: The Bitstring Status List v1.0 error type, one of
            ``STATUS_RETRIEVAL_ERROR``, ``STATUS_VERIFICATION_ERROR``,
            ``STATUS_LIST_LENGTH_ERROR``, ``RANGE_ERROR``.
    """

    exit_code = 26
    code = "STATUS_VERIFICATION_ERROR"


class StatusUnavailable(StatusError):
    """The status list could not be retrieved (unreachable, missing, no source)."""

    code = "STATUS_RETRIEVAL_ERROR"

    def __init__(self, message: str, cached: object | None = None) -> None:
        super().__init__(message)
        #: The last cached :class:`certificates.statuslist.StatusListDocument`, if any.
        self.cached = cached


class StatusVerificationError(StatusError):
    """The status list is unsigned, wrongly signed, stale or for another purpose."""

    code = "STATUS_VERIFICATION_ERROR"


class StatusListLengthError(StatusError):
    """The status list is shorter than the 131,072 entries privacy requires."""

    code = "STATUS_LIST_LENGTH_ERROR"


class StatusRangeError(StatusError):
    """A status list index lies outside the list."""

    code = "RANGE_ERROR"


class AuditChainBroken(CertificateError):
    """The audit log's hash chain does not verify (a record was altered or removed)."""

    exit_code = 27


class IssuanceError(CertificateError):
    """A credential cannot be issued, revoked, suspended or reinstated as asked."""

    exit_code = 28


class IdempotencyConflict(IssuanceError):
    """An ``Idempotency-Key`` or exam result was already used with a different payload."""

    exit_code = 29


class CredentialNotFound(IssuanceError):
    """No credential has the given id."""

    exit_code = 30
