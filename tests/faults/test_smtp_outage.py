"""The mail server is down while people register and reminders fall due; nothing is lost.

The app runs on a SQLite file with the real :class:`~afisha_smtp.SmtpMailer`, pointed
at a port where nothing listens yet. Registrations are started and confirmed, people
join an event, the reminder tick runs, and mail delivery ticks keep failing: every
email waits in the outbox with its error. Then an aiosmtpd server starts on that very
port; the next tick delivers every message exactly once, and later ticks send nothing
more. A server that refuses some messages for a while (4xx) loses none either.
"""

from __future__ import annotations

import socket
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from afisha_smtp import SmtpMailer
from tests.security._stack import PASSWORD, Stack, open_sqlite_stack
from tests.support.smtp_server import RecordingHandler

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def smtp_server(port: int, handler: RecordingHandler) -> Iterator[RecordingHandler]:
    """aiosmtpd on ``port`` (a fixed one: the mailer was configured before it started)."""
    controller = Controller(
        handler, hostname=HOST, port=port, server_hostname="localhost", ready_timeout=5.0
    )
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def port() -> int:
    """Where the mail server will listen; nothing does yet."""
    return free_port()


@pytest.fixture
async def stack(tmp_path: Path, port: int) -> AsyncIterator[Stack]:
    """The app on SQLite, mailing through SMTP to ``port``."""
    mailer = SmtpMailer(HOST, port, timeout=5, connect_timeout=2)
    async with open_sqlite_stack(tmp_path / "afisha.db", mailer=mailer) as opened:
        yield opened


def outbox(path: Path) -> list[tuple[str, str, str, int, str | None]]:
    """``(recipient, subject, status, attempts, last_error)`` of every outbox row."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(
            "SELECT recipient, subject, status, attempts, last_error FROM outbox"
        ).fetchall()


async def register_without_mail(stack: Stack, name: str, *, confirm: bool = True) -> str:
    """Register through HTTP, confirming with the code the core drew (none was mailed)."""
    started = await stack.client.post(
        "/v1/registrations",
        json={
            "email": f"{name}@example.org",
            "username": name,
            "full_name": name.title(),
            "password": PASSWORD,
        },
    )
    assert started.status_code == 202, started.text
    if not confirm:
        return ""
    token = started.json()["registration_token"]
    code = stack.tokens.issued_codes[-1]
    confirmed = await stack.client.post(f"/v1/registrations/{token}/confirm", json={"code": code})
    assert confirmed.status_code == 201, confirmed.text
    session: str = confirmed.json()["token"]
    return session


async def tick(stack: Stack, after: timedelta) -> tuple[int, int, int]:
    """Move the clock past the backoff and run one delivery tick; ``(sent, retrying, failed)``."""
    stack.clock.advance(after)
    report = await stack.afisha.mail.deliver_due()
    return report.sent, report.retrying, report.failed


async def test_mail_written_while_the_server_is_down_is_delivered_once_when_it_is_back(
    stack: Stack, port: int, tmp_path: Path
) -> None:
    db = tmp_path / "afisha.db"
    admin = await stack.admin()
    event = await stack.create_event(admin, starts_in=timedelta(hours=30))
    tokens = [await register_without_mail(stack, f"guest{i}") for i in range(5)]
    for token in tokens:
        joined = await stack.client.put(
            f"/v1/events/{event['id']}/participation",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert joined.status_code == 200
    for i in range(2):
        await register_without_mail(stack, f"pending{i}", confirm=False)
    stack.clock.advance(timedelta(hours=7))  # the event now starts within the lead
    assert await stack.afisha.reminders.send_due() == 5

    down = [await tick(stack, timedelta(minutes=m)) for m in (0, 1, 2, 5)]

    rows = outbox(db)
    assert len(rows) == 12  # 7 codes and 5 reminders
    assert [sent for sent, _, _ in down] == [0, 0, 0, 0]
    assert {status for _, _, status, _, _ in rows} == {"PENDING"}
    assert {attempts for *_, attempts, _ in rows} == {4}
    assert all(error and str(port) in error for *_, error in rows), rows

    with smtp_server(port, RecordingHandler()) as server:
        back = await tick(stack, timedelta(hours=1))
        later = [await tick(stack, timedelta(hours=h)) for h in (1, 2)]

    assert back == (12, 0, 0)
    assert later == [(0, 0, 0), (0, 0, 0)]
    rows = outbox(db)
    assert {status for _, _, status, _, _ in rows} == {"SENT"}
    received = Counter((r.email().to, r.email().subject) for r in server.received)
    expected = Counter((to, subject) for to, subject, *_ in rows)
    assert received == expected
    assert set(received.values()) == {1}
    reminded = {to for to, subject in received if "guest" in to and "code" not in subject}
    assert reminded == {f"guest{i}@example.org" for i in range(5)}


async def test_messages_refused_for_a_while_are_retried_and_sent_once(
    stack: Stack, port: int, tmp_path: Path
) -> None:
    for i in range(6):
        await register_without_mail(stack, f"person{i}", confirm=False)
    handler = RecordingHandler()
    handler.answer_data("451 4.3.0 Try again later", "421 4.7.0 Too busy")
    handler.answer_rcpt("450 4.2.1 Mailbox busy")

    with smtp_server(port, handler) as server:
        first = await tick(stack, timedelta(0))
        second = await tick(stack, timedelta(hours=1))
        third = await tick(stack, timedelta(hours=1))

    assert first == (3, 3, 0)
    assert second == (3, 0, 0)
    assert third == (0, 0, 0)
    rows = outbox(tmp_path / "afisha.db")
    assert {status for _, _, status, _, _ in rows} == {"SENT"}
    assert sorted(attempts for *_, attempts, _ in rows) == [1, 1, 1, 2, 2, 2]
    received = Counter(r.email().to for r in server.received)
    assert received == Counter(f"person{i}@example.org" for i in range(6))
