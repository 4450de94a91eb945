"""Afisha's mail: the Mailer port over SMTP (aiosmtplib), or into ``.eml`` files.

Usage::

    from afisha_smtp import EmlFileMailer, SmtpMailer

    # AFISHA_SMTP_URL set: smtp://user:pw@mail:587?starttls=true, smtps://mail:465, ...
    mailer = SmtpMailer.from_url(smtp_url, mail_from="Afisha <no-reply@example.com>")
    await mailer.ping()  # readiness: raises MailerUnavailable (a ServiceUnavailable)

    # AFISHA_SMTP_URL unset: the embedded default
    mailer = EmlFileMailer("afisha-data/outbox", mail_from="Afisha <no-reply@localhost>")

    afisha = Afisha(..., mailer=mailer)

Both build the same MIME message (:func:`build_message`): text/plain, plus a
text/html alternative when there is one; UTF-8 subjects and names as RFC 2047 encoded
words, 7-bit bodies, a Message-ID in the sender's domain and a Date. A 5xx refusal of
the message raises :class:`~afisha_core.errors.PermanentDeliveryError` (the outbox
gives up); anything a later attempt may cure raises
:class:`~afisha_core.errors.TemporaryDeliveryError` (the outbox retries).
"""

from afisha_smtp._eml import DEFAULT_OUTBOX_DIR, EmlFileMailer
from afisha_smtp._errors import MailerUnavailable
from afisha_smtp._message import DEFAULT_MAIL_FROM, MESSAGE_POLICY, build_message, parse_mail_from
from afisha_smtp._smtp import SmtpMailer
from afisha_smtp._url import Security, SmtpUrl, parse_smtp_url

__all__ = [
    "DEFAULT_MAIL_FROM",
    "DEFAULT_OUTBOX_DIR",
    "MESSAGE_POLICY",
    "EmlFileMailer",
    "MailerUnavailable",
    "Security",
    "SmtpMailer",
    "SmtpUrl",
    "build_message",
    "parse_mail_from",
    "parse_smtp_url",
]
