"""The core's mail delivery (outbox, retries, backoff) through SmtpMailer to a real server."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from afisha_core.app import Afisha
from afisha_core.domain import OutboxMessage, OutboxStatus
from afisha_core.settings import Settings
from afisha_core.testing import (
    FakeClock,
    FastPasswordHasher,
    InMemoryDatabase,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
    RecordingTokenGenerator,
)
from afisha_core.usecases import DeliveryReport
from afisha_core.usecases.mail import backoff_delay
from afisha_smtp import SmtpMailer
from tests.support.smtp_server import SmtpTestServer, normalized

SETTINGS = Settings()


class Deployment:
    """The core on in-memory fakes, mailing through a real SMTP server."""

    def __init__(self, server: SmtpTestServer, clock: FakeClock) -> None:
        self.db = InMemoryDatabase()
        self.clock = clock
        self.afisha = Afisha(
            uow=self.db,
            hasher=FastPasswordHasher(),
            limiter=InMemoryRateLimiter(clock),
            storage=InMemoryObjectStorage(),
            mailer=SmtpMailer(server.host, server.port, timeout=5, connect_timeout=5),
            clock=clock,
            tokens=RecordingTokenGenerator(),
            settings=SETTINGS,
        )

    async def queue_one_mail(self) -> uuid.UUID:
        """Start a registration (its code email goes to the outbox); return that message's id."""
        await self.afisha.accounts.register(
            "ann@example.com", "ann", "Ann Example", "correct horse battery"
        )
        far = self.clock.now() + timedelta(days=3650)
        async with self.db() as uow:  # peek: the claim is never committed
            (message,) = await uow.outbox.claim_due(far, far, 100)
        return message.id

    async def message(self, message_id: uuid.UUID) -> OutboxMessage:
        async with self.db() as uow:
            message = await uow.outbox.get(message_id)
        assert message is not None
        return message


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
async def test_a_451_is_retried_after_the_backoff_and_delivered_once(
    smtp_server: SmtpTestServer, clock: FakeClock, stage: str
) -> None:
    reply = "451 4.7.1 Greylisted, please try again later"
    if stage == "RCPT":
        smtp_server.handler.answer_rcpt(reply)
    else:
        smtp_server.handler.answer_data(reply)
    deployment = Deployment(smtp_server, clock)
    message_id = await deployment.queue_one_mail()
    queued = await deployment.message(message_id)

    assert await deployment.afisha.mail.deliver_due() == DeliveryReport(retrying=1)
    waiting = await deployment.message(message_id)
    assert waiting.status is OutboxStatus.PENDING
    assert waiting.attempts == 1
    assert waiting.last_error is not None
    assert reply in waiting.last_error
    assert smtp_server.received == []

    # Not due again before the backoff has passed.
    clock.advance(backoff_delay(1, SETTINGS) - timedelta(seconds=1))
    assert await deployment.afisha.mail.deliver_due() == DeliveryReport()

    clock.advance(timedelta(seconds=1))
    assert await deployment.afisha.mail.deliver_due() == DeliveryReport(sent=1)
    sent = await deployment.message(message_id)
    assert sent.status is OutboxStatus.SENT
    assert sent.attempts == 2
    assert sent.sent_at == clock.now()

    # Delivered exactly once, however many ticks follow.
    clock.advance(timedelta(days=1))
    assert await deployment.afisha.mail.deliver_due() == DeliveryReport()
    (got,) = smtp_server.received_emails()
    assert normalized(got) == normalized(queued.email)  # sent as queued (then redacted)
    attempts = (
        smtp_server.handler.rcpt_attempts if stage == "RCPT" else smtp_server.handler.data_attempts
    )
    assert attempts == 2


@pytest.mark.parametrize(
    ("stage", "reply"),
    [
        ("RCPT", "550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown"),
        ("DATA", "554 5.7.1 Message rejected as spam"),
    ],
)
async def test_a_5xx_fails_the_message_after_one_attempt_and_never_retries(
    smtp_server: SmtpTestServer, clock: FakeClock, stage: str, reply: str
) -> None:
    if stage == "RCPT":
        smtp_server.handler.answer_rcpt(reply)
    else:
        smtp_server.handler.answer_data(reply)
    deployment = Deployment(smtp_server, clock)
    message_id = await deployment.queue_one_mail()

    assert await deployment.afisha.mail.deliver_due() == DeliveryReport(failed=1)
    failed = await deployment.message(message_id)
    assert failed.status is OutboxStatus.FAILED
    assert failed.attempts == 1
    assert failed.last_error is not None
    assert "PermanentDeliveryError" in failed.last_error
    assert reply in failed.last_error

    for _ in range(3):
        clock.advance(SETTINGS.outbox_backoff_max + SETTINGS.outbox_lease)
        assert await deployment.afisha.mail.deliver_due() == DeliveryReport()
    assert smtp_server.received == []
    assert smtp_server.handler.rcpt_attempts == 1
    assert smtp_server.handler.data_attempts == (1 if stage == "DATA" else 0)
