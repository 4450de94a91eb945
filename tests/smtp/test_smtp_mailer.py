"""SmtpMailer against real aiosmtpd servers: MIME, TLS, AUTH, and how failures are told apart."""

from __future__ import annotations

import re
import ssl
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from afisha_core.domain import Email
from afisha_core.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ServiceUnavailable,
    TemporaryDeliveryError,
)
from afisha_core.testing import FakeClock
from afisha_smtp import MailerUnavailable, Security, SmtpMailer
from tests.smtp.conftest import START
from tests.support.smtp_server import (
    SmtpTestServer,
    TlsPair,
    closed_port,
    greeting_then_silence,
    normalized,
    password_authenticator,
    silent_server,
)

FROM = "Афиша Москва <no-reply@afisha.example>"
PLAIN = Email(
    to="ann@example.com",
    subject="Your code",
    text="Your verification code is 012345.\nIt is valid for 15 minutes.\n",
)
RICH = Email(
    to="anya@example.ru",
    subject="Напоминание: концерт «Весна» завтра в 19:00",
    text="Привет, Аня!\nЖдём вас завтра в 19:00.",
    html="<p>Привет, Аня!</p><p>Ждём вас <b>завтра</b> в 19:00.</p>",
)


def mailer_for(server: SmtpTestServer, **options: Any) -> SmtpMailer:
    """A mailer pointed at ``server``, with short timeouts unless told otherwise."""
    options.setdefault("timeout", 5.0)
    options.setdefault("connect_timeout", 5.0)
    return SmtpMailer(server.host, server.port, **options)


# --- what arrives --------------------------------------------------------------------


async def test_headers_and_envelope_parse_back(
    smtp_server: SmtpTestServer, clock: FakeClock
) -> None:
    mailer = mailer_for(smtp_server, mail_from=FROM, clock=clock)

    await mailer.send(RICH)

    (got,) = smtp_server.received
    assert got.mail_from == "no-reply@afisha.example"
    assert got.rcpt_tos == ("anya@example.ru",)
    message = got.message()
    assert [(a.display_name, a.addr_spec) for a in message["From"].addresses] == [
        ("Афиша Москва", "no-reply@afisha.example")
    ]
    assert [a.addr_spec for a in message["To"].addresses] == ["anya@example.ru"]
    assert message["Subject"] == RICH.subject
    assert message["Date"].datetime == START
    assert re.fullmatch(r"<[^<>@\s]+@afisha\.example>", message["Message-ID"])
    assert message["MIME-Version"] == "1.0"
    assert normalized(got.email()) == normalized(RICH)


async def test_an_html_body_makes_a_multipart_alternative(smtp_server: SmtpTestServer) -> None:
    await mailer_for(smtp_server).send(RICH)

    message = smtp_server.received[0].message()
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert [part.get_content_charset() for part in parts] == ["utf-8", "utf-8"]
    assert parts[0].get_content().replace("\r\n", "\n").rstrip() == RICH.text
    assert parts[1].get_content().replace("\r\n", "\n").rstrip() == RICH.html


async def test_a_text_only_email_is_a_single_text_part(smtp_server: SmtpTestServer) -> None:
    await mailer_for(smtp_server).send(PLAIN)

    message = smtp_server.received[0].message()
    assert not message.is_multipart()
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert normalized(smtp_server.received_emails()[0]) == normalized(PLAIN)


async def test_non_ascii_headers_are_encoded_words_and_the_message_is_7bit(
    smtp_server: SmtpTestServer,
) -> None:
    await mailer_for(smtp_server, mail_from=FROM).send(RICH)

    raw = smtp_server.received[0].data
    assert raw.isascii()  # no SMTPUTF8, no 8BITMIME needed
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n[ \t]+", " ", head)
    headers = dict(line.split(": ", 1) for line in unfolded.split("\r\n"))
    assert headers["Subject"].startswith("=?utf-8?")
    assert headers["From"].startswith("=?utf-8?")
    assert headers["From"].endswith(" <no-reply@afisha.example>")


async def test_each_message_gets_its_own_message_id_and_a_current_date(
    smtp_server: SmtpTestServer,
) -> None:
    mailer = mailer_for(smtp_server)  # the system clock
    before = datetime.now(UTC).replace(microsecond=0)

    await mailer.send(PLAIN)
    await mailer.send(PLAIN)

    first, second = (got.message() for got in smtp_server.received)
    assert first["Message-ID"] != second["Message-ID"]
    assert first["Message-ID"].endswith("@localhost>")  # the default From's domain
    assert before <= first["Date"].datetime <= datetime.now(UTC)


async def test_an_internationalised_domain_is_sent_as_idna(smtp_server: SmtpTestServer) -> None:
    await mailer_for(smtp_server).send(Email(to="ann@пример.рф", subject="Hi", text="Hello"))

    (got,) = smtp_server.received
    assert got.rcpt_tos == ("ann@xn--e1afmkfd.xn--p1ai",)
    assert got.email().to == "ann@xn--e1afmkfd.xn--p1ai"


@pytest.mark.parametrize("to", ["аня@example.com", "a,b@example.com", "a<b@example.com"])
async def test_an_unaddressable_recipient_is_permanent_without_connecting(
    smtp_server: SmtpTestServer, to: str
) -> None:
    with pytest.raises(PermanentDeliveryError, match="cannot address"):
        await mailer_for(smtp_server).send(Email(to=to, subject="Hi", text="Hello"))

    assert smtp_server.handler.rcpt_attempts == 0
    assert smtp_server.received == []


# --- TLS -----------------------------------------------------------------------------


async def test_starttls_with_a_self_signed_certificate(tls: TlsPair) -> None:
    with SmtpTestServer(starttls=tls, require_starttls=True) as server:
        mailer = mailer_for(server, security=Security.STARTTLS, ssl_context=tls.client)

        await mailer.send(PLAIN)

        (got,) = server.received
    assert got.tls
    assert normalized(got.email()) == normalized(PLAIN)


async def test_a_server_requiring_starttls_refuses_a_plain_client_temporarily(
    tls: TlsPair,
) -> None:
    with SmtpTestServer(starttls=tls, require_starttls=True) as server:
        mailer = mailer_for(server)  # Security.PLAIN: never upgrades

        with pytest.raises(TemporaryDeliveryError, match=r"530 .*STARTTLS"):
            await mailer.send(PLAIN)

        assert server.received == []


async def test_an_untrusted_certificate_is_a_temporary_failure(tls: TlsPair) -> None:
    with SmtpTestServer(starttls=tls, require_starttls=True) as server:
        # The system's CAs do not know the test's throwaway CA.
        mailer = mailer_for(
            server, security=Security.STARTTLS, ssl_context=ssl.create_default_context()
        )

        with pytest.raises(TemporaryDeliveryError, match="certificate verify failed"):
            await mailer.send(PLAIN)

        assert server.received == []


async def test_starttls_against_a_server_without_it_is_temporary(
    smtp_server: SmtpTestServer, tls: TlsPair
) -> None:
    mailer = mailer_for(smtp_server, security=Security.STARTTLS, ssl_context=tls.client)

    with pytest.raises(TemporaryDeliveryError, match="STARTTLS"):
        await mailer.send(PLAIN)

    assert smtp_server.handler.rcpt_attempts == 0  # nothing was sent in the clear


async def test_implicit_tls(tls: TlsPair) -> None:
    with SmtpTestServer(implicit_tls=tls) as server:
        mailer = SmtpMailer.from_url(
            f"smtps://{server.host}:{server.port}?timeout=5", ssl_context=tls.client
        )
        assert mailer.security is Security.TLS

        await mailer.send(RICH)

        (got,) = server.received
    assert got.tls
    assert normalized(got.email()) == normalized(RICH)


# --- AUTH ----------------------------------------------------------------------------


async def test_auth_with_percent_encoded_credentials_on_a_plain_connection() -> None:
    checker = password_authenticator("ann@example.com", "p@ss:w/rd%")
    with SmtpTestServer(authenticator=checker, auth_require_tls=False) as server:
        mailer = SmtpMailer.from_url(
            f"smtp://ann%40example.com:p%40ss%3Aw%2Frd%25@{server.host}:{server.port}?timeout=5"
        )

        await mailer.send(PLAIN)

        (got,) = server.received
    assert got.login == "ann@example.com"
    assert not got.tls


async def test_auth_after_starttls_on_a_server_requiring_both(tls: TlsPair) -> None:
    checker = password_authenticator("ann", "secret")
    with SmtpTestServer(
        starttls=tls, require_starttls=True, authenticator=checker, auth_required=True
    ) as server:
        mailer = SmtpMailer.from_url(
            f"smtp://ann:secret@{server.host}:{server.port}?starttls=true&timeout=5",
            ssl_context=tls.client,
        )

        await mailer.send(PLAIN)

        (got,) = server.received
    assert got.login == "ann"
    assert got.tls


async def test_a_wrong_password_is_temporary_and_sends_nothing() -> None:
    checker = password_authenticator("ann", "secret")
    with SmtpTestServer(authenticator=checker, auth_require_tls=False) as server:
        mailer = mailer_for(server, username="ann", password="wrong")

        with pytest.raises(TemporaryDeliveryError, match="refused our login: 535"):
            await mailer.send(PLAIN)

        assert server.handler.rcpt_attempts == 0
        assert server.received == []


async def test_no_login_where_one_is_required_is_temporary(tls: TlsPair) -> None:
    checker = password_authenticator("ann", "secret")
    with SmtpTestServer(
        starttls=tls, require_starttls=True, authenticator=checker, auth_required=True
    ) as server:
        mailer = mailer_for(server, security=Security.STARTTLS, ssl_context=tls.client)

        # 530 to MAIL means "log in first": the configuration is wrong, not the message.
        with pytest.raises(TemporaryDeliveryError, match="530"):
            await mailer.send(PLAIN)

        assert server.received == []


# --- refusals: permanent or temporary --------------------------------------------------

REFUSALS = [
    ("MAIL", "451 4.3.0 Mail server temporarily rejected message", TemporaryDeliveryError),
    ("RCPT", "450 4.2.0 Mailbox busy", TemporaryDeliveryError),
    ("RCPT", "451 4.7.1 Greylisted, please try again later", TemporaryDeliveryError),
    ("DATA", "452 4.3.1 Insufficient system storage", TemporaryDeliveryError),
    ("MAIL", "553 5.1.8 Sender address domain does not exist", PermanentDeliveryError),
    ("RCPT", "550 5.1.1 User unknown in virtual mailbox table", PermanentDeliveryError),
    ("DATA", "554 5.7.1 Message rejected as spam", PermanentDeliveryError),
]


@pytest.mark.parametrize(("stage", "reply", "error"), REFUSALS)
async def test_refusals_are_classified_by_reply_code_and_quote_the_server(
    smtp_server: SmtpTestServer, stage: str, reply: str, error: type[DeliveryError]
) -> None:
    answer = {
        "MAIL": smtp_server.handler.answer_mail,
        "RCPT": smtp_server.handler.answer_rcpt,
        "DATA": smtp_server.handler.answer_data,
    }[stage]
    answer(reply)
    mailer = mailer_for(smtp_server)

    with pytest.raises(DeliveryError) as caught:
        await mailer.send(PLAIN)

    assert type(caught.value) is error
    assert reply in str(caught.value)  # the code and the server's own words
    assert f"127.0.0.1:{smtp_server.port}" in str(caught.value)
    assert smtp_server.received == []
    # The refusal was for that attempt only: the next one goes through.
    await mailer.send(PLAIN)
    assert len(smtp_server.received) == 1


async def test_connection_refused_is_temporary() -> None:
    with closed_port() as port:
        mailer = SmtpMailer("127.0.0.1", port, timeout=5, connect_timeout=5)

        with pytest.raises(TemporaryDeliveryError, match=f"127.0.0.1:{port}"):
            await mailer.send(PLAIN)


async def test_a_server_that_never_greets_times_out_temporarily() -> None:
    with silent_server() as port:
        mailer = SmtpMailer("127.0.0.1", port, timeout=5, connect_timeout=0.3)
        started = time.monotonic()

        with pytest.raises(TemporaryDeliveryError, match=r"[Tt]imed out"):
            await mailer.send(PLAIN)

        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 3


async def test_a_server_that_stops_answering_times_out_temporarily() -> None:
    async with greeting_then_silence() as port:
        mailer = SmtpMailer("127.0.0.1", port, timeout=0.3, connect_timeout=5)
        started = time.monotonic()

        with pytest.raises(TemporaryDeliveryError, match=r"[Tt]imed out"):
            await mailer.send(PLAIN)

        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 3


# --- readiness -----------------------------------------------------------------------


async def test_ping_succeeds_against_a_live_server_and_sends_nothing(
    smtp_server: SmtpTestServer,
) -> None:
    await mailer_for(smtp_server).ping()

    assert smtp_server.received == []


async def test_ping_checks_tls_and_login_too(tls: TlsPair) -> None:
    checker = password_authenticator("ann", "secret")
    with SmtpTestServer(starttls=tls, require_starttls=True, authenticator=checker) as server:
        good = mailer_for(
            server,
            security=Security.STARTTLS,
            ssl_context=tls.client,
            username="ann",
            password="secret",
        )
        bad = mailer_for(
            server,
            security=Security.STARTTLS,
            ssl_context=tls.client,
            username="ann",
            password="wrong",
        )

        await good.ping()
        with pytest.raises(MailerUnavailable, match="535"):
            await bad.ping()


async def test_ping_raises_service_unavailable_when_the_server_is_down() -> None:
    with closed_port() as port:
        mailer = SmtpMailer("127.0.0.1", port, timeout=5, connect_timeout=5)

        with pytest.raises(ServiceUnavailable) as caught:
            await mailer.ping()

    assert caught.value.service == "mailer"
    assert isinstance(caught.value, MailerUnavailable)
    assert f"127.0.0.1:{port}" in str(caught.value)


async def test_ping_gives_up_on_a_silent_server_within_the_timeout() -> None:
    with silent_server() as port:
        mailer = SmtpMailer("127.0.0.1", port, timeout=5, connect_timeout=0.3)
        started = time.monotonic()

        with pytest.raises(MailerUnavailable):
            await mailer.ping()

        assert time.monotonic() - started < 3
