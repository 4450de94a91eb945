"""Telling a permanent SMTP refusal from a temporary failure."""

from __future__ import annotations

import aiosmtplib

from afisha_core.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ServiceUnavailable,
    TemporaryDeliveryError,
)

__all__ = ["MailerUnavailable", "delivery_error"]

# 530 answers MAIL when the server wants STARTTLS or AUTH first (RFC 3207, RFC 4954):
# our configuration is at fault, not the message, so it is worth retrying once fixed.
_CONFIGURATION_REPLIES = frozenset({530})


class MailerUnavailable(ServiceUnavailable):
    """The mail server cannot be reached or does not answer (for readiness checks)."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__("mailer", detail)


def _reply(code: int, message: str) -> str:
    return f"{code} {' '.join(message.split())}".strip()


def _by_code(code: int, text: str) -> DeliveryError:
    """Classify a refusal of the message itself (MAIL, RCPT or DATA) by its reply code."""
    if 500 <= code <= 599 and code not in _CONFIGURATION_REPLIES:
        return PermanentDeliveryError(text)
    return TemporaryDeliveryError(text)


def delivery_error(exc: Exception, server: str, recipient: str) -> DeliveryError:
    """The delivery error for ``exc``, raised while sending to ``recipient`` via ``server``.

    A 5xx reply to MAIL, RCPT or DATA is permanent: the server refused this message
    and always will. Everything else is temporary: 4xx replies, connection refused or
    reset, timeouts, TLS failures, and refusals of the session rather than the
    message (the greeting, EHLO, STARTTLS, AUTH, or 530 "STARTTLS/AUTH first"), which
    a configuration fix or a server restart cures. The text names the server and
    carries its reply code and message.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        # One recipient per message, so one refusal; take the most hopeful if ever more.
        refusals = sorted(exc.recipients, key=lambda refusal: refusal.code)
        first = refusals[0]
        text = f"{server} refused the recipient {recipient}: {_reply(first.code, first.message)}"
        return _by_code(first.code, text)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        text = f"{server} refused the sender {exc.sender}: {_reply(exc.code, exc.message)}"
        return _by_code(exc.code, text)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        text = f"{server} refused the recipient {exc.recipient}: {_reply(exc.code, exc.message)}"
        return _by_code(exc.code, text)
    if isinstance(exc, aiosmtplib.SMTPDataError):
        text = f"{server} refused the message to {recipient}: {_reply(exc.code, exc.message)}"
        return _by_code(exc.code, text)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return TemporaryDeliveryError(
            f"{server} refused our login: {_reply(exc.code, exc.message)}"
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return TemporaryDeliveryError(f"{server} answered {_reply(exc.code, exc.message)}")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return TemporaryDeliveryError(f"{server} timed out: {exc}")
    return TemporaryDeliveryError(f"cannot deliver through {server}: {exc}")
