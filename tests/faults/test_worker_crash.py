"""A worker process is killed (SIGKILL) in the middle of a mail batch; nothing is stuck.

A child process runs the reminder tick (thirty participations are due) and then mail
ticks against PostgreSQL and a real SMTP server that takes a while per message. Once
a few reminders have arrived, the child is killed. What it had claimed but not sent
must come back when its lease ends and be delivered by another worker (this test's
own process); nothing stays claimed for ever, and no participation is reminded twice:
one notification and one email each, and at most the one message that was on the wire
at the moment of the kill arrives twice (delivery is at least once, by design).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from afisha_core.settings import Settings
from afisha_core.testing.builders import make_event, make_participation, make_user
from afisha_postgres import PostgresDatabase
from afisha_smtp import SmtpMailer
from tests.support.pg import fresh_schema
from tests.support.smtp_server import RecordingHandler, SmtpTestServer
from tests.support.worker import start_worker, worker_afisha

PARTICIPANTS = 30
BATCH = 10
LEASE = 4.0
SMTP_DELAY = 0.08


class SlowHandler(RecordingHandler):
    """Accepts every message, after a pause: a batch takes a while to send."""

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        await asyncio.sleep(SMTP_DELAY)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with SmtpTestServer(SlowHandler()) as server:
        yield server


async def seed(db: PostgresDatabase) -> set[str]:
    """Participations due for a reminder on the real clock; the participants' emails."""
    now = datetime.now(UTC)
    event = make_event(starts_at=now + timedelta(hours=2), created_at=now, updated_at=now)
    users = [make_user(created_at=now) for _ in range(PARTICIPANTS)]
    async with db() as uow:
        await uow.events.add(event)
        for user in users:
            await uow.users.add(user)
            await uow.participations.save(
                make_participation(event.id, user.id, created_at=now, status_changed_at=now)
            )
        await uow.commit()
    return {user.email for user in users}


async def scalar(db: PostgresDatabase, query: LiteralString) -> Any:
    async with db() as uow:
        return await uow.execute_scalar(query)


async def test_a_worker_killed_mid_batch_leaves_nothing_stuck_and_reminds_once(
    smtp: SmtpTestServer,
) -> None:
    async with fresh_schema() as (url, schema):
        db = PostgresDatabase(url, schema=schema, max_size=4)
        await db.migrate()
        await db.open(wait=True)
        try:
            emails = await seed(db)
            worker = await start_worker(
                "tests.faults._tick_worker",
                url,
                schema,
                smtp.port,
                *("--lease", str(LEASE), "--batch", str(BATCH)),
                stdout=asyncio.subprocess.PIPE,
            )
            try:
                deadline = time.monotonic() + 30
                while len(smtp.received) < 4:
                    assert worker.returncode is None, "the worker died by itself"
                    assert time.monotonic() < deadline, "the worker sent nothing"
                    await asyncio.sleep(0.01)
            finally:
                if worker.returncode is None:
                    worker.kill()  # SIGKILL: no clean-up, no last words
                output = (await worker.communicate())[0].decode()
            killed_at = time.monotonic()
            # A message whose data had reached the server is still accepted after the kill.
            await asyncio.sleep(SMTP_DELAY * 3)
            sent_before_kill = len(smtp.received)
            assert "reminders queued 30" in output, output
            assert sent_before_kill < PARTICIPANTS

            afisha = worker_afisha(
                db,
                SmtpMailer("127.0.0.1", smtp.port),
                Settings(outbox_lease=timedelta(seconds=LEASE), outbox_batch_size=BATCH),
            )
            assert await afisha.reminders.send_due() == 0  # nothing is claimed twice
            leased = (
                "SELECT count(*) FROM outbox WHERE status = 'PENDING' AND next_attempt_at > now()"
            )
            claimed_by_the_dead = await scalar(db, leased)
            marked_sent = await scalar(db, "SELECT count(*) FROM outbox WHERE status = 'SENT'")
            assert claimed_by_the_dead > 0, "the kill did not land inside a batch"
            # Another worker meanwhile sends what is due, but not the dead one's claims.
            first = await afisha.mail.deliver_due(max_batches=1)
            assert first.sent == BATCH
            assert await scalar(db, leased) == claimed_by_the_dead
            await asyncio.sleep(max(0.0, killed_at + LEASE + 0.2 - time.monotonic()))
            second = await afisha.mail.deliver_due()
        finally:
            await db.close()
        db = PostgresDatabase(url, schema=schema, max_size=2)
        await db.open(wait=True)
        try:
            pending = await scalar(db, "SELECT count(*) FROM outbox WHERE status <> 'SENT'")
            rows = await scalar(db, "SELECT count(*) FROM outbox")
            notifications = await scalar(db, "SELECT count(*) FROM notifications")
            unclaimed = await scalar(
                db, "SELECT count(*) FROM participations WHERE reminder_queued_at IS NULL"
            )
        finally:
            await db.close()

    # The server may have accepted one more than the worker could mark as sent.
    assert marked_sent in (sent_before_kill - 1, sent_before_kill)
    assert first.sent + second.sent == PARTICIPANTS - marked_sent
    assert pending == 0
    assert rows == notifications == PARTICIPANTS
    assert unclaimed == 0
    received = Counter(r.email().to for r in smtp.received)
    assert set(received) == emails
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates == sent_before_kill - marked_sent, received
