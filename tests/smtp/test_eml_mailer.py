"""EmlFileMailer: the embedded default writes each email as an .eml file."""

from __future__ import annotations

import logging
import re
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from afisha_core.domain import Email
from afisha_core.errors import PermanentDeliveryError, ServiceUnavailable, TemporaryDeliveryError
from afisha_core.testing import FakeClock
from afisha_smtp import EmlFileMailer, SmtpMailer
from tests.smtp.conftest import START
from tests.support.smtp_server import SmtpTestServer, email_from_bytes, normalized, parse_message

EMAIL = Email(
    to="anya@example.ru",
    subject="Напоминание: концерт «Весна»",
    text="Привет, Аня!\nЖдём вас завтра в 19:00.",
    html="<p>Привет, Аня!</p>",
)
NAME = re.compile(r"(\d{8}T\d{6}\.\d{6}Z)-(\d{6})-[0-9a-f]{8}\.eml")


def eml_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.eml"))


def everything_in(directory: Path) -> list[Path]:
    """Every entry of ``directory``, hidden ones included."""
    return sorted(directory.iterdir())


async def test_each_email_becomes_one_file_named_by_time_and_sequence(
    tmp_path: Path, clock: FakeClock
) -> None:
    outbox = tmp_path / "afisha-data" / "outbox"  # created on first use
    mailer = EmlFileMailer(outbox, clock=clock)

    await mailer.send(EMAIL)
    await mailer.send(EMAIL)  # same instant: the sequence number keeps them apart
    clock.advance(timedelta(seconds=1))
    await mailer.send(Email(to="bob@example.org", subject="Later", text="Later"))

    files = eml_files(outbox)
    names = [NAME.fullmatch(path.name) for path in files]
    assert all(names), [path.name for path in files]
    assert [(m.group(1), m.group(2)) for m in names if m] == [
        ("20300101T120000.000000Z", "000001"),
        ("20300101T120000.000000Z", "000002"),
        ("20300101T120001.000000Z", "000003"),
    ]
    assert everything_in(outbox) == files
    parsed = [parse_message(path.read_bytes()) for path in files]
    assert [str(message["To"]) for message in parsed] == [
        "anya@example.ru",
        "anya@example.ru",
        "bob@example.org",
    ]


async def test_the_file_is_the_message_smtp_would_send(tmp_path: Path, clock: FakeClock) -> None:
    from_ = "Афиша <no-reply@afisha.example>"
    with SmtpTestServer() as server:
        await SmtpMailer(server.host, server.port, mail_from=from_, clock=clock).send(EMAIL)
        (sent,) = server.received
    await EmlFileMailer(tmp_path, mail_from=from_, clock=clock).send(EMAIL)
    (path,) = eml_files(tmp_path)

    written, smtp = parse_message(path.read_bytes()), sent.message()
    for header in ("From", "To", "Subject", "Date", "MIME-Version", "Content-Type"):
        assert str(written[header]).split(";")[0] == str(smtp[header]).split(";")[0], header
    assert written["Date"].datetime == START
    assert written["Message-ID"].endswith("@afisha.example>")
    assert written["Message-ID"] != smtp["Message-ID"]
    assert [p.get_content_type() for p in written.iter_parts()] == [
        p.get_content_type() for p in smtp.iter_parts()
    ]
    assert path.read_bytes().isascii()


async def test_the_file_parses_back_to_the_email(tmp_path: Path) -> None:
    await EmlFileMailer(tmp_path).send(EMAIL)

    (path,) = eml_files(tmp_path)
    assert str(parse_message(path.read_bytes())["From"]) == "Afisha <no-reply@localhost>"
    assert normalized(email_from_bytes(path.read_bytes())) == normalized(EMAIL)


async def test_files_are_private_and_no_temporary_is_left(tmp_path: Path) -> None:
    await EmlFileMailer(tmp_path).send(EMAIL)

    (path,) = everything_in(tmp_path)  # only the .eml: no hidden temporary
    assert path.suffix == ".eml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_each_send_logs_one_line_with_recipient_and_subject(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="afisha_smtp"):
        await EmlFileMailer(tmp_path).send(EMAIL)

    (record,) = [r for r in caplog.records if r.name == "afisha_smtp"]
    assert record.levelno == logging.INFO
    line = record.getMessage()
    assert "\n" not in line
    assert "anya@example.ru" in line
    assert EMAIL.subject in line
    assert eml_files(tmp_path)[0].name in line
    first_line = next(t.strip() for t in EMAIL.text.splitlines() if t.strip())
    assert first_line[:40] not in line  # the text (codes, links with tokens) stays in the file


async def test_the_log_line_never_shows_a_verification_code_from_the_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    email = Email(
        to="new@example.org",
        subject="Your Afisha verification code",
        text="Hello New,\n\nyour verification code is 123456. It is valid for 15 minutes.\n",
    )
    with caplog.at_level(logging.INFO, logger="afisha_smtp"):
        await EmlFileMailer(tmp_path).send(email)
    (record,) = [r for r in caplog.records if r.name == "afisha_smtp"]
    assert "123456" not in record.getMessage()
    assert "123456" in eml_files(tmp_path)[0].read_text()


async def test_an_unwritable_folder_is_a_temporary_failure(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "outbox"
    not_a_folder.write_text("I am a file", encoding="utf-8")
    mailer = EmlFileMailer(not_a_folder)

    with pytest.raises(TemporaryDeliveryError, match=r"cannot write the email to anya@example\.ru"):
        await mailer.send(EMAIL)
    with pytest.raises(ServiceUnavailable) as caught:
        await mailer.ping()
    assert caught.value.service == "mailer"


async def test_ping_creates_the_folder(tmp_path: Path) -> None:
    mailer = EmlFileMailer(tmp_path / "a" / "b")

    await mailer.ping()

    assert mailer.directory.is_dir()
    assert everything_in(mailer.directory) == []


async def test_an_unaddressable_recipient_is_permanent_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(PermanentDeliveryError, match="cannot address"):
        await EmlFileMailer(tmp_path).send(Email(to="аня@example.com", subject="Hi", text="Hi"))

    assert everything_in(tmp_path) == []
