"""Turning an :class:`~afisha_core.domain.Email` into MIME, shared by every mailer here."""

from __future__ import annotations

import email.policy
import re
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import cast

import attrs

from afisha_core.domain import Email
from afisha_core.errors import PermanentDeliveryError

__all__ = [
    "DEFAULT_MAIL_FROM",
    "MESSAGE_POLICY",
    "ComposedMessage",
    "build_message",
    "parse_mail_from",
    "recipient_address",
]

#: The sender when none is configured (``AFISHA_MAIL_FROM``'s default).
DEFAULT_MAIL_FROM = "Afisha <no-reply@localhost>"

#: How messages are serialised: CRLF line ends, no SMTPUTF8 (non-ASCII headers become
#: RFC 2047 encoded words), and 7-bit bodies (non-ASCII or over-long lines are sent as
#: quoted-printable or base64), so any SMTP server takes them, 8BITMIME or not.
MESSAGE_POLICY = email.policy.SMTP.clone(cte_type="7bit")

_HEADERS = HeaderRegistry()
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What the email package's address parser raises on input it rejects: ValueError
# (header defects are ValueErrors) or HeaderParseError, and on some odd strings (quotes,
# brackets and commas in unusual places) IndexError, AttributeError, TypeError or
# UnboundLocalError from its own bugs. All of them mean "not an address we can use".
_PARSER_ERRORS = (
    ValueError,
    HeaderParseError,
    IndexError,
    AttributeError,
    TypeError,
    UnboundLocalError,
)


def _ascii_domain(domain: str) -> str:
    """Return ``domain`` as ASCII, IDNA-encoding an internationalised one."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"the domain {domain!r} cannot be IDNA-encoded: {exc}") from exc


def _ascii_address(address: Address) -> Address:
    """Return ``address`` with an ASCII addr-spec, or raise ValueError.

    The domain is IDNA-encoded when needed; a non-ASCII local part would need
    SMTPUTF8, which these mailers deliberately do not use.
    """
    if not address.username or not address.domain:
        raise ValueError(f"{address.addr_spec!r} needs both a local part and a domain")
    if not address.username.isascii():
        raise ValueError(
            f"the local part of {address.addr_spec!r} is not ASCII (that would need SMTPUTF8)"
        )
    return Address(address.display_name, address.username, _ascii_domain(address.domain))


def parse_mail_from(value: str) -> Address:
    """Parse a sender in the ``AFISHA_MAIL_FROM`` format, e.g. ``Afisha <no-reply@localhost>``.

    A bare address (``no-reply@example.com``) is accepted too; the display name may be
    any Unicode text (it is sent as an RFC 2047 encoded word). Raises ValueError,
    saying what is wrong, for anything but exactly one address with a local part and a
    domain (an internationalised domain is IDNA-encoded; the local part must be ASCII).
    """
    if not value.strip():
        raise ValueError("the mail From must be an address such as 'Afisha <no-reply@localhost>'")
    if _CONTROL.search(value):
        raise ValueError(f"the mail From {value!r} must not contain control characters")
    try:
        header = _HEADERS("From", value)
    except _PARSER_ERRORS as exc:
        raise ValueError(f"the mail From {value!r} is not a valid address: {exc}") from exc
    # The registry's From class derives from AddressHeader; typeshed only says BaseHeader.
    parsed = cast(AddressHeader, header)
    if header.defects:
        problems = "; ".join(str(defect) for defect in header.defects)
        raise ValueError(f"the mail From {value!r} is not a valid address: {problems}")
    if len(parsed.addresses) != 1 or parsed.groups[0].display_name is not None:
        raise ValueError(f"the mail From {value!r} must be exactly one address")
    try:
        return _ascii_address(parsed.addresses[0])
    except ValueError as exc:
        raise ValueError(f"the mail From {value!r} is not usable: {exc}") from exc


def recipient_address(to: str) -> Address:
    """The address of ``to`` (an :class:`Email`'s recipient), ready for SMTP.

    Raises :class:`~afisha_core.errors.PermanentDeliveryError` when it cannot be
    addressed at all (no retry could ever deliver it).
    """
    try:
        return _ascii_address(Address(addr_spec=to))
    except _PARSER_ERRORS as exc:
        raise PermanentDeliveryError(f"cannot address an email to {to!r}: {exc}") from exc


def build_message(email: Email, *, sender: Address, now: datetime) -> EmailMessage:
    """The MIME message for ``email``, from ``sender``, dated ``now``.

    A text/plain part, or a multipart/alternative of text/plain and text/html when the
    email has an HTML body; UTF-8 throughout; ``From``, ``To``, ``Subject``, ``Date``
    and a fresh ``Message-ID`` in the sender's domain. Raises
    :class:`~afisha_core.errors.PermanentDeliveryError` for an unaddressable recipient.
    """
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = sender
    message["To"] = recipient_address(email.to)
    message["Subject"] = email.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.domain)
    message.set_content(email.text, charset="utf-8")
    if email.html is not None:
        message.add_alternative(email.html, subtype="html", charset="utf-8")
    return message


@attrs.frozen(kw_only=True)
class ComposedMessage:
    """An email ready to hand over: its envelope and its serialised bytes."""

    envelope_from: str
    recipient: str
    message_id: str
    data: bytes = attrs.field(repr=False)

    @classmethod
    def compose(cls, email: Email, *, sender: Address, now: datetime) -> ComposedMessage:
        """Build and serialise ``email`` (see :func:`build_message`)."""
        message = build_message(email, sender=sender, now=now)
        recipient = message["To"].addresses[0]
        return cls(
            envelope_from=sender.addr_spec,
            recipient=recipient.addr_spec,
            message_id=str(message["Message-ID"]),
            data=message.as_bytes(policy=MESSAGE_POLICY),
        )
