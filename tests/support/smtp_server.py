"""Real SMTP servers for tests: aiosmtpd on 127.0.0.1, plus servers that misbehave.

:class:`SmtpTestServer` runs aiosmtpd's ``Controller`` (its own thread and event loop)
on a port the OS picks, records every message it accepts (:attr:`received`, parsed
back into :class:`~afisha_core.domain.Email` by :meth:`SmtpTestServer.received_emails`)
and can be told to answer the next MAIL, RCPT or DATA with a scripted reply
(``451 ...``, ``550 ...``). It speaks STARTTLS, implicit TLS and AUTH when asked, with
certificates from :func:`make_tls` (a throwaway CA made by trustme)::

    with SmtpTestServer() as server:
        mailer = SmtpMailer(server.host, server.port)
        await mailer.send(email)
        assert [normalized(e) for e in server.received_emails()] == [normalized(email)]

A message is recorded before the server answers 250 to its DATA, so once ``send``
returns it is in :attr:`SmtpTestServer.received`: there is nothing to wait for.

:func:`closed_port` gives a port where connections are refused, :func:`silent_server`
one that accepts connections and never says a word, :func:`greeting_then_silence` one
that greets and then never answers.
"""

from __future__ import annotations

import asyncio
import email.policy
import socket
import ssl
import threading
from asyncio.base_events import Server
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from email.parser import BytesParser
from types import TracebackType
from typing import Any, Self

import attrs
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from afisha_core.domain import Email

__all__ = [
    "Authenticator",
    "Received",
    "RecordingHandler",
    "SmtpTestServer",
    "TlsPair",
    "closed_port",
    "email_from_bytes",
    "greeting_then_silence",
    "make_tls",
    "normalized",
    "parse_message",
    "password_authenticator",
    "silent_server",
]

HOST = "127.0.0.1"

#: aiosmtpd's ``authenticator`` callback: (server, session, envelope, mechanism, data).
Authenticator = Callable[[SMTP, Session, Envelope, str, Any], AuthResult]


# --- parsing what arrived ------------------------------------------------------------


def parse_message(data: bytes) -> EmailMessage:
    """Parse raw message bytes as a mail client would (modern ``email`` policy)."""
    return BytesParser(policy=email.policy.default).parsebytes(data)


def email_from_bytes(data: bytes) -> Email:
    """The :class:`Email` a raw message carries: recipient, subject, text and HTML bodies."""
    message = parse_message(data)
    to = message["To"]
    if not isinstance(to, AddressHeader) or len(to.addresses) != 1:
        raise AssertionError(f"expected exactly one recipient, got {to!r}")
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    if text is None:
        raise AssertionError("the message has no text/plain body")
    return Email(
        to=to.addresses[0].addr_spec,
        subject=str(message["Subject"]),
        text=text.get_content(),
        html=None if html is None else html.get_content(),
    )


def normalized(email: Email) -> Email:
    """``email`` as it compares after transport: bodies with LF line ends, no trailing space."""

    def body(text: str) -> str:
        return text.replace("\r\n", "\n").rstrip()

    return Email(
        to=email.to,
        subject=email.subject,
        text=body(email.text),
        html=None if email.html is None else body(email.html),
    )


@attrs.frozen(kw_only=True)
class Received:
    """One message the server accepted, with its envelope and session facts."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes = attrs.field(repr=False)
    tls: bool
    login: str | None

    def message(self) -> EmailMessage:
        """The message, parsed."""
        return parse_message(self.data)

    def email(self) -> Email:
        """The message as an :class:`Email`."""
        return email_from_bytes(self.data)


# --- the handler ---------------------------------------------------------------------


def _under_tls(server: SMTP) -> bool:
    transport = server.transport
    return transport is not None and transport.get_extra_info("sslcontext") is not None


class RecordingHandler:
    """An aiosmtpd handler that records what it accepts and can answer as scripted.

    :meth:`answer_mail`, :meth:`answer_rcpt` and :meth:`answer_data` queue replies
    (e.g. ``"451 4.3.0 Try again later"``) given to the next MAIL, RCPT or DATA
    commands instead of accepting; once
    the queue is empty, commands are accepted again. :attr:`rcpt_attempts` and
    :attr:`data_attempts` count every RCPT and DATA the server saw, accepted or not.
    Handler methods run on the server's thread, so state is shared under a lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._mail_replies: deque[str] = deque()
        self._rcpt_replies: deque[str] = deque()
        self._data_replies: deque[str] = deque()
        self._rcpt_attempts = 0
        self._data_attempts = 0

    def answer_mail(self, *replies: str) -> None:
        """Answer the next MAIL commands with ``replies``, one each, in order."""
        with self._lock:
            self._mail_replies.extend(replies)

    def answer_rcpt(self, *replies: str) -> None:
        """Answer the next RCPT commands with ``replies``, one each, in order."""
        with self._lock:
            self._rcpt_replies.extend(replies)

    def answer_data(self, *replies: str) -> None:
        """Answer the next DATA commands (after the message) with ``replies``."""
        with self._lock:
            self._data_replies.extend(replies)

    @property
    def received(self) -> list[Received]:
        """Every message accepted so far, in order."""
        with self._lock:
            return list(self._received)

    @property
    def rcpt_attempts(self) -> int:
        """How many RCPT commands arrived."""
        with self._lock:
            return self._rcpt_attempts

    @property
    def data_attempts(self) -> int:
        """How many messages arrived after DATA (accepted or refused)."""
        with self._lock:
            return self._data_attempts

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        """Accept the sender, or give the next scripted reply."""
        with self._lock:
            if self._mail_replies:
                return self._mail_replies.popleft()
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Accept the recipient, or give the next scripted reply."""
        with self._lock:
            self._rcpt_attempts += 1
            if self._rcpt_replies:
                return self._rcpt_replies.popleft()
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        """Record the message, or give the next scripted reply."""
        content = envelope.original_content
        if content is None or envelope.mail_from is None:
            return "554 5.5.1 No message"
        login: str | None = None
        auth_data: Any = session.auth_data  # aiosmtpd types it as None; it is whatever
        if session.authenticated and isinstance(auth_data, LoginPassword):  # AUTH returned
            login = auth_data.login.decode()
        with self._lock:
            self._data_attempts += 1
            if self._data_replies:
                return self._data_replies.popleft()
            self._received.append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=content,
                    tls=_under_tls(server),
                    login=login,
                )
            )
        return "250 Message accepted for delivery"


def password_authenticator(username: str, password: str) -> Authenticator:
    """An aiosmtpd ``authenticator`` that accepts exactly this user and password."""
    expected = LoginPassword(username.encode(), password.encode())

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data == expected
        # handled=False: aiosmtpd itself answers a failure (535), as a real server does.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticate


# --- TLS -----------------------------------------------------------------------------


@attrs.frozen
class TlsPair:
    """A server context with a certificate for localhost/127.0.0.1, and a client
    context that trusts the CA that issued it (and nothing else)."""

    server: ssl.SSLContext
    client: ssl.SSLContext


def make_tls() -> TlsPair:
    """A fresh throwaway CA (trustme), a server certificate and both contexts."""
    authority = trustme.CA()
    certificate = authority.issue_cert("localhost", HOST)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server)
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    authority.configure_trust(client)
    return TlsPair(server=server, client=client)


# --- the server ----------------------------------------------------------------------


class _PortZeroController(Controller):
    """A Controller that listens on a port the OS picks (``port=0``), so never clashes.

    aiosmtpd connects to its own port once the listener is up, to check it works;
    before that, we read the real port back from the listening socket.
    """

    def _trigger_server(self) -> None:
        if isinstance(self.server, Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd: no annotations


class SmtpTestServer:
    """aiosmtpd listening on 127.0.0.1 and a free port; a context manager.

    ``starttls``: offer STARTTLS with ``starttls.server`` (``require_starttls`` refuses
    anything but EHLO/STARTTLS/QUIT before the upgrade). ``implicit_tls``: TLS from the
    first byte (SMTPS). ``authenticator``: offer AUTH checked by it (aiosmtpd only
    offers AUTH under STARTTLS unless ``auth_require_tls`` is false); ``auth_required``
    refuses mail from clients that did not log in.
    """

    def __init__(
        self,
        handler: RecordingHandler | None = None,
        *,
        starttls: TlsPair | None = None,
        require_starttls: bool = False,
        implicit_tls: TlsPair | None = None,
        authenticator: Authenticator | None = None,
        auth_required: bool = False,
        auth_require_tls: bool = True,
    ) -> None:
        self.handler = handler or RecordingHandler()
        options: dict[str, Any] = {}
        if starttls is not None:
            options.update(tls_context=starttls.server, require_starttls=require_starttls)
        if authenticator is not None:
            options.update(
                authenticator=authenticator,
                auth_required=auth_required,
                auth_require_tls=auth_require_tls,
            )
        self._controller = _PortZeroController(
            self.handler,
            hostname=HOST,
            port=0,
            ssl_context=None if implicit_tls is None else implicit_tls.server,
            server_hostname="localhost",  # the greeting's name; skips a getfqdn() lookup
            ready_timeout=5.0,
            **options,
        )
        self._running = False

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return HOST

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        port: int = self._controller.port
        return port

    @property
    def received(self) -> list[Received]:
        """Every message accepted so far, in order."""
        return self.handler.received

    def received_emails(self) -> list[Email]:
        """Every message accepted so far, parsed back into :class:`Email` values."""
        return [received.email() for received in self.received]

    def start(self) -> None:
        """Start listening (returns once the server answers)."""
        try:
            self._controller.start()
        except BaseException:
            self._controller.stop(no_assert=True)
            raise
        self._running = True

    def stop(self) -> None:
        """Stop listening, drop open connections and end the server's thread."""
        if self._running:
            self._running = False
            self._controller.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --- servers that misbehave ----------------------------------------------------------


@contextmanager
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 where connections are refused while the block runs.

    The port stays bound (but not listening) so nothing else can take it meanwhile.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        yield sock.getsockname()[1]


@asynccontextmanager
async def greeting_then_silence() -> AsyncIterator[int]:
    """A port on 127.0.0.1 whose server greets (220) and then never answers a command.

    It runs on the caller's event loop; every connection is closed on the way out.
    """
    handlers: list[asyncio.Task[Any]] = []
    writers: list[asyncio.StreamWriter] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            handlers.append(task)
        writers.append(writer)
        writer.write(b"220 localhost ESMTP ready\r\n")
        await writer.drain()
        await reader.read()  # swallow every command until the client hangs up

    server = await asyncio.start_server(on_connect, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:
            writer.close()
        for writer in writers:
            with suppress(ConnectionError):
                await writer.wait_closed()
        if handlers:
            await asyncio.wait(handlers, timeout=5)
        await server.wait_closed()


@contextmanager
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts TCP connections and never sends a byte.

    The socket listens but never calls ``accept``: the kernel completes the handshake
    and the client waits for a greeting that never comes.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        sock.listen(8)
        yield sock.getsockname()[1]
