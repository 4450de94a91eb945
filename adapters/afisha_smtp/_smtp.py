"""The Mailer port over SMTP, with aiosmtplib."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl

import aiosmtplib

from afisha_core.clock import SystemClock
from afisha_core.domain import Email
from afisha_core.ports import Clock
from afisha_smtp._errors import MailerUnavailable, delivery_error
from afisha_smtp._message import DEFAULT_MAIL_FROM, ComposedMessage, parse_mail_from
from afisha_smtp._url import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
    Security,
    parse_smtp_url,
)

__all__ = ["SmtpMailer"]

logger = logging.getLogger("afisha_smtp")


def _positive(name: str, value: float) -> float:
    if not value > 0:  # also rejects NaN
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


class SmtpMailer:
    """A :class:`~afisha_core.ports.Mailer` that hands each email to an SMTP server.

    Each :meth:`send` opens a connection (TLS from the start with ``Security.TLS``,
    upgraded with a mandatory STARTTLS with ``Security.STARTTLS``), logs in when a
    ``username`` is given, sends one message and says QUIT. ``timeout`` bounds every
    command's reply and the TLS handshake; ``connect_timeout`` bounds connecting and
    the server's greeting. ``ssl_context`` replaces the default (system CAs, host name
    checked), e.g. to trust a private CA. ``mail_from`` is in the ``AFISHA_MAIL_FROM``
    format (``Afisha <no-reply@localhost>``); its domain also names the Message-IDs.

    A 5xx reply to MAIL, RCPT or DATA raises
    :class:`~afisha_core.errors.PermanentDeliveryError`; 4xx replies, refused or lost
    connections, timeouts, TLS and login failures raise
    :class:`~afisha_core.errors.TemporaryDeliveryError`. Both name the server and
    quote its reply. Constructor arguments are checked at once (ValueError).
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        security: Security = Security.PLAIN,
        username: str | None = None,
        password: str | None = None,
        mail_from: str = DEFAULT_MAIL_FROM,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not host or any(c in host for c in "\r\n /"):
            raise ValueError(f"host must be a host name or address, not {host!r}")
        if port is not None and not 1 <= port <= 65535:
            raise ValueError(f"port must be from 1 to 65535, not {port!r}")
        if (username is None) != (password is None):
            raise ValueError("username and password go together: give both or neither")
        if username == "":
            raise ValueError("username must not be empty (leave it None for no login)")
        self._host = host
        self._port = security.default_port if port is None else port
        self._security = security
        self._username = username
        self._password = password
        self._sender = parse_mail_from(mail_from)
        self._timeout = _positive("timeout", timeout)
        self._connect_timeout = _positive("connect_timeout", connect_timeout)
        self._ssl_context = ssl_context
        self._local_hostname = local_hostname
        self._clock: Clock = clock or SystemClock()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        mail_from: str = DEFAULT_MAIL_FROM,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        clock: Clock | None = None,
    ) -> SmtpMailer:
        """A mailer configured by an ``AFISHA_SMTP_URL``.

        ``smtp://host[:port]`` (no TLS, port 25), ``smtp://host[:port]?starttls=true``
        (STARTTLS required, port 587), ``smtps://host[:port]`` (implicit TLS, port 465);
        ``user:password@`` (percent-decoded) logs in; ``timeout`` and
        ``connect_timeout`` parameters are in seconds. Raises ValueError naming the
        bad part of the URL (never showing the password).
        """
        parsed = parse_smtp_url(url)
        return cls(
            parsed.host,
            parsed.port,
            security=parsed.security,
            username=parsed.username,
            password=parsed.password,
            mail_from=mail_from,
            timeout=parsed.timeout,
            connect_timeout=parsed.connect_timeout,
            ssl_context=ssl_context,
            local_hostname=local_hostname,
            clock=clock,
        )

    def __repr__(self) -> str:
        user = f"{self._username}@" if self._username is not None else ""
        return (
            f"SmtpMailer({user}{self._host}:{self._port}, security={self._security.value}, "
            f"mail_from={str(self._sender)!r})"
        )

    @property
    def server(self) -> str:
        """``host:port`` of the mail server, as error messages name it."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{host}:{self._port}"

    @property
    def security(self) -> Security:
        """How the connection is protected."""
        return self._security

    @property
    def mail_from(self) -> str:
        """The From header, as sent (``Afisha <no-reply@localhost>``)."""
        return str(self._sender)

    async def send(self, email: Email) -> None:
        """Hand ``email`` to the server; return once it accepted the message (DATA 250).

        Raises :class:`~afisha_core.errors.PermanentDeliveryError` when the server
        refuses the message with a 5xx reply to MAIL, RCPT or DATA (or the recipient
        cannot be addressed at all), :class:`~afisha_core.errors.TemporaryDeliveryError`
        for anything a later attempt may cure.
        """
        composed = ComposedMessage.compose(email, sender=self._sender, now=self._clock.now())
        client = await self._client()
        try:
            await client.connect(timeout=self._connect_timeout)
            await client.sendmail(composed.envelope_from, [composed.recipient], composed.data)
        except (aiosmtplib.SMTPException, OSError) as exc:
            # OSError covers refused and reset connections, TLS errors and timeouts.
            raise delivery_error(exc, self.server, composed.recipient) from exc
        finally:
            await self._quit(client)
        logger.debug("sent %s to %s via %s", composed.message_id, composed.recipient, self.server)

    async def ping(self) -> None:
        """Connect (with TLS and login as configured) and send NOOP.

        Raises :class:`MailerUnavailable` (a
        :class:`~afisha_core.errors.ServiceUnavailable` for the service ``"mailer"``)
        when the server cannot be reached or does not answer 250.
        """
        client = await self._client()
        try:
            await client.connect(timeout=self._connect_timeout)
            await client.noop()
        except (aiosmtplib.SMTPException, OSError) as exc:
            detail = str(delivery_error(exc, self.server, "-"))
            raise MailerUnavailable(f"The mail server is unavailable: {detail}") from exc
        finally:
            await self._quit(client)

    async def _client(self) -> aiosmtplib.SMTP:
        if self._local_hostname is None:
            # The EHLO name; looked up once (aiosmtplib would on every connection).
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        use_tls = self._security is Security.TLS
        start_tls = self._security is Security.STARTTLS
        if (use_tls or start_tls) and self._ssl_context is None:
            # Built once, on first use, off the event loop: loading the system CAs reads
            # files and takes a while.
            self._ssl_context = await asyncio.to_thread(ssl.create_default_context)
        return aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            local_hostname=self._local_hostname,
            timeout=self._timeout,
            use_tls=use_tls,
            start_tls=start_tls,
            tls_context=self._ssl_context,
        )

    async def _quit(self, client: aiosmtplib.SMTP) -> None:
        """Say QUIT if still connected, and close; never raise (the outcome is known)."""
        if client.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
        client.close()
