"""Reminders before events, and mail delivery from the outbox with retries and backoff."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import attrs
import pytest

from afisha_core.domain import Email, InstantNotification, OutboxMessage, OutboxStatus, User
from afisha_core.errors import UsernameTaken
from afisha_core.settings import Settings
from afisha_core.testing import RecordingMailer
from afisha_core.usecases import DeliveryReport
from afisha_core.usecases._common import notify
from afisha_core.usecases.mail import REDACTED_BODY, backoff_delay
from afisha_core.usecases.messages import Message
from tests.support.world import PASSWORD, World

LEAD = Settings().reminder_lead


# --- helpers ---------------------------------------------------------------------------


async def new_users(world: World, n: int) -> list[User]:
    """``n`` freshly registered users (their registration mail is already delivered)."""
    return [(await world.register()).user for _ in range(n)]


async def reminders_of(world: World, user: User) -> list[InstantNotification]:
    page = await world.afisha.notifications.list_notifications(user, limit=100)
    return [n for n in page.items if n.title.startswith("Reminder")]


async def pending_outbox(world: World) -> list[uuid.UUID]:
    """The ids of every PENDING message, whether due or not (read, never committed)."""
    far = world.clock.now() + timedelta(days=3650)
    async with world.db() as uow:
        return [m.id for m in await uow.outbox.claim_due(far, far, 10_000)]


async def outbox_message(world: World, message_id: uuid.UUID) -> OutboxMessage:
    async with world.db() as uow:
        message = await uow.outbox.get(message_id)
    assert message is not None
    return message


async def one_queued_mail(world: World) -> uuid.UUID:
    """Start a registration (one code email in the outbox); return that message's id."""
    email, username = world.fresh_identity()
    assert await pending_outbox(world) == []
    await world.afisha.accounts.register(email, username, "Mail Test", PASSWORD)
    (message_id,) = await pending_outbox(world)
    return message_id


# --- reminders -----------------------------------------------------------------------------


async def test_no_reminder_before_the_lead_time(world: World) -> None:
    admin = await world.admin()
    users = await new_users(world, 2)
    event = await world.event(admin, starts_in=timedelta(days=3))
    for user in users:
        await world.afisha.participation.join(user, event.event.id)

    assert await world.afisha.reminders.send_due() == 0
    world.clock.set(event.event.starts_at - LEAD - timedelta(seconds=1))
    assert await world.afisha.reminders.send_due() == 0

    assert await pending_outbox(world) == []
    for user in users:
        assert await reminders_of(world, user) == []


async def test_each_participant_is_reminded_once_within_the_lead(world: World) -> None:
    admin = await world.admin()
    users = await new_users(world, 3)
    event = await world.event(admin, starts_in=timedelta(days=3), location="Main hall")
    for user in users:
        await world.afisha.participation.join(user, event.event.id)
    world.clock.set(event.event.starts_at - LEAD)

    assert await world.afisha.reminders.send_due() == 3
    mails = await world.deliver()

    assert sorted(m.to for m in mails) == sorted(u.email for u in users)
    for mail in mails:
        assert event.event.name in mail.subject
        assert "Main hall" in mail.text
    for user in users:
        (note,) = await reminders_of(world, user)
        assert event.event.name in note.title
        assert note.created_at == world.clock.now()
        async with world.db() as uow:
            stored = await uow.participations.get(event.event.id, user.id)
        assert stored is not None
        assert stored.reminder_queued_at == world.clock.now()

    assert await world.afisha.reminders.send_due() == 0
    world.clock.advance(LEAD / 2)
    assert await world.afisha.reminders.send_due() == 0
    assert await world.deliver() == []
    for user in users:
        assert len(await reminders_of(world, user)) == 1


async def test_no_reminder_for_a_cancelled_event(world: World) -> None:
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    event = await world.event(admin, starts_in=timedelta(hours=10))
    await world.afisha.participation.join(user, event.event.id)
    await world.afisha.events.reject(admin, event.event.id)

    assert await world.afisha.reminders.send_due() == 0
    assert await reminders_of(world, user) == []


async def test_no_reminder_for_those_who_left(world: World) -> None:
    admin = await world.admin()
    stays, leaves = await new_users(world, 2)
    event = await world.event(admin, starts_in=timedelta(hours=10))
    for user in (stays, leaves):
        await world.afisha.participation.join(user, event.event.id)
    await world.afisha.participation.leave(leaves, event.event.id)

    assert await world.afisha.reminders.send_due() == 1
    assert len(await reminders_of(world, stays)) == 1
    assert await reminders_of(world, leaves) == []


async def test_no_reminder_for_the_waitlist(world: World) -> None:
    admin = await world.admin()
    holder, waiting = await new_users(world, 2)
    event = await world.event(admin, capacity=1, starts_in=timedelta(hours=10))
    await world.afisha.participation.join(holder, event.event.id)
    await world.afisha.participation.join(waiting, event.event.id, waitlist=True)

    assert await world.afisha.reminders.send_due() == 1
    assert await reminders_of(world, waiting) == []

    await world.afisha.participation.leave(holder, event.event.id)  # waiting gets the spot
    assert await world.afisha.reminders.send_due() == 1
    assert len(await reminders_of(world, waiting)) == 1


async def test_no_reminder_for_deleted_users(world: World) -> None:
    admin = await world.admin()
    stays, deleted = await new_users(world, 2)
    event = await world.event(admin, starts_in=timedelta(hours=10))
    for user in (stays, deleted):
        await world.afisha.participation.join(user, event.event.id)
    await world.afisha.accounts.delete_user(admin, deleted.id)

    assert await world.afisha.reminders.send_due() == 1
    mails = await world.deliver()
    assert [m.to for m in mails] == [stays.email]


async def test_no_late_reminder_once_the_event_started(world: World) -> None:
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    event = await world.event(admin, starts_in=timedelta(hours=1), duration=timedelta(hours=3))
    await world.afisha.participation.join(user, event.event.id)
    world.clock.advance(timedelta(hours=1))  # starts right now

    assert await world.afisha.reminders.send_due() == 0
    world.clock.advance(timedelta(minutes=30))
    assert await world.afisha.reminders.send_due() == 0
    assert await reminders_of(world, user) == []


async def test_reminders_are_claimed_in_batches() -> None:
    world = World(settings=Settings(reminder_batch_size=3))
    admin = await world.admin()
    users = await new_users(world, 10)
    event = await world.event(admin, starts_in=timedelta(hours=10))
    for user in users:
        await world.afisha.participation.join(user, event.event.id)

    assert await world.afisha.reminders.send_due(max_batches=1) == 3
    assert await world.afisha.reminders.send_due() == 7
    assert await world.afisha.reminders.send_due() == 0
    for user in users:
        assert len(await reminders_of(world, user)) == 1


async def test_one_tick_sends_every_batch() -> None:
    world = World(settings=Settings(reminder_batch_size=3))
    admin = await world.admin()
    users = await new_users(world, 10)
    event = await world.event(admin, starts_in=timedelta(hours=10))
    for user in users:
        await world.afisha.participation.join(user, event.event.id)

    assert await world.afisha.reminders.send_due() == 10
    assert len(await world.deliver()) == 10


async def test_concurrent_ticks_remind_each_participant_once() -> None:
    world = World(settings=Settings(reminder_batch_size=3))
    admin = await world.admin()
    users = await new_users(world, 10)
    event = await world.event(admin, starts_in=timedelta(hours=10))
    for user in users:
        await world.afisha.participation.join(user, event.event.id)

    first, second = await asyncio.gather(
        world.afisha.reminders.send_due(), world.afisha.reminders.send_due()
    )

    assert first + second == 10
    for user in users:
        assert len(await reminders_of(world, user)) == 1
    mails = await world.deliver()
    assert sorted(m.to for m in mails) == sorted(u.email for u in users)


# --- mail: only delivery sends -------------------------------------------------------------


async def test_a_use_case_alone_sends_nothing(world: World) -> None:
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    event = await world.event(admin)
    await world.afisha.participation.join(user, event.event.id)
    sent_before = len(world.mailer.sent)

    await world.afisha.events.reject(admin, event.event.id)

    assert len(world.mailer.sent) == sent_before
    (queued,) = await pending_outbox(world)
    mails = await world.deliver()
    assert [m.to for m in mails] == [user.email]
    assert (await outbox_message(world, queued)).status is OutboxStatus.SENT


async def test_a_failed_use_case_queues_no_mail(world: World) -> None:
    login = await world.register()
    sent_before = len(world.mailer.sent)
    email, _ = world.fresh_identity()

    with pytest.raises(UsernameTaken):
        await world.afisha.accounts.register(email, login.user.username, "Someone", PASSWORD)

    assert await pending_outbox(world) == []
    assert await world.deliver() == []
    assert len(world.mailer.sent) == sent_before


async def test_a_rolled_back_unit_of_work_leaves_no_mail(world: World) -> None:
    user = (await world.register()).user
    message = Message(subject="Never", text="This must never be sent.")

    async def doomed() -> None:
        async with world.db() as uow:
            await notify(uow, world.clock.now(), user, message)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await doomed()

    assert await pending_outbox(world) == []
    assert await world.deliver() == []
    assert (await world.afisha.notifications.list_notifications(user)).items == []


# --- mail: retries -------------------------------------------------------------------------


async def test_a_temporary_failure_is_retried_after_the_backoff(world: World) -> None:
    message_id = await one_queued_mail(world)
    world.mailer.fail_next(1)
    failed_at = world.clock.now()

    report = await world.afisha.mail.deliver_due()

    assert report == DeliveryReport(sent=0, retrying=1, failed=0)
    message = await outbox_message(world, message_id)
    assert message.status is OutboxStatus.PENDING
    assert message.attempts == 1
    assert message.last_error is not None
    assert "unavailable" in message.last_error
    assert message.next_attempt_at == failed_at + timedelta(seconds=30)
    assert message.sent_at is None
    assert world.mailer.sent == []

    world.clock.advance(timedelta(seconds=29))
    assert await world.deliver() == []
    assert (await outbox_message(world, message_id)).attempts == 1

    world.clock.advance(timedelta(seconds=1))
    (mail,) = await world.deliver()
    message = await outbox_message(world, message_id)
    assert message.status is OutboxStatus.SENT
    assert message.attempts == 2
    assert message.sent_at == world.clock.now()
    assert message.last_error is not None  # the last error is kept
    # What was sent was the message; what stays is its subject, not its body (a code).
    assert mail.subject == message.email.subject
    assert "verification code is" in mail.text
    assert message.email.text == REDACTED_BODY
    assert message.email.html is None


async def test_the_backoff_doubles_between_attempts(world: World) -> None:
    message_id = await one_queued_mail(world)
    world.mailer.fail_next(3)

    waits = []
    for attempt in (1, 2, 3):
        tried_at = world.clock.now()
        await world.afisha.mail.deliver_due()
        message = await outbox_message(world, message_id)
        assert message.attempts == attempt
        waits.append(message.next_attempt_at - tried_at)
        world.clock.set(message.next_attempt_at)

    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert len(await world.deliver()) == 1


def test_backoff_delay_doubles_and_is_capped() -> None:
    default = Settings()
    assert [backoff_delay(n, default).total_seconds() for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert backoff_delay(1_000, default) == timedelta(hours=1)
    tight = Settings(
        outbox_backoff_base=timedelta(seconds=10), outbox_backoff_max=timedelta(seconds=45)
    )
    assert [backoff_delay(n, tight).total_seconds() for n in range(1, 6)] == [10, 20, 40, 45, 45]


async def test_a_permanent_failure_fails_at_once_and_for_good(world: World) -> None:
    message_id = await one_queued_mail(world)
    world.mailer.fail_next(1, permanent=True)

    report = await world.afisha.mail.deliver_due()

    assert report == DeliveryReport(sent=0, retrying=0, failed=1)
    message = await outbox_message(world, message_id)
    assert message.status is OutboxStatus.FAILED
    assert message.attempts == 1
    assert message.last_error is not None
    assert "refused" in message.last_error
    world.clock.advance(timedelta(days=2))
    assert await world.afisha.mail.deliver_due() == DeliveryReport()
    assert world.mailer.sent == []
    assert (await outbox_message(world, message_id)).attempts == 1


async def test_too_many_temporary_failures_fail_the_message() -> None:
    world = World(settings=Settings(outbox_max_attempts=3))
    message_id = await one_queued_mail(world)
    world.mailer.fail_next(5)

    reports = []
    for _ in range(3):
        reports.append(await world.afisha.mail.deliver_due())
        world.clock.advance(timedelta(hours=2))

    assert reports == [
        DeliveryReport(retrying=1),
        DeliveryReport(retrying=1),
        DeliveryReport(failed=1),
    ]
    message = await outbox_message(world, message_id)
    assert message.status is OutboxStatus.FAILED
    assert message.attempts == 3
    assert message.last_error is not None
    assert await world.afisha.mail.deliver_due() == DeliveryReport()
    assert world.mailer.pending_failures == 2  # no fourth attempt was made
    assert world.mailer.sent == []


async def test_a_sent_message_is_never_sent_again(world: World) -> None:
    message_id = await one_queued_mail(world)

    assert len(await world.deliver()) == 1
    for _ in range(3):
        world.clock.advance(timedelta(hours=1))
        assert await world.afisha.mail.deliver_due() == DeliveryReport()

    assert len(world.mailer.sent) == 1
    message = await outbox_message(world, message_id)
    assert message.status is OutboxStatus.SENT
    assert message.attempts == 1


async def test_the_delivery_report_counts_each_outcome(world: World) -> None:
    for _ in range(4):
        email, username = world.fresh_identity()
        await world.afisha.accounts.register(email, username, "Mail Test", PASSWORD)
    world.mailer.fail_next(1)
    world.mailer.fail_next(1, permanent=True)

    report = await world.afisha.mail.deliver_due()

    assert report == DeliveryReport(sent=2, retrying=1, failed=1)
    assert len(world.mailer.sent) == 2
    assert await world.afisha.mail.deliver_due() == DeliveryReport()  # the retry is not due
    world.clock.advance(timedelta(seconds=30))
    assert await world.afisha.mail.deliver_due() == DeliveryReport(sent=1)
    assert len(world.mailer.sent) == 3


async def test_delivery_goes_through_every_batch() -> None:
    world = World(settings=Settings(outbox_batch_size=2))
    for _ in range(5):
        email, username = world.fresh_identity()
        await world.afisha.accounts.register(email, username, "Mail Test", PASSWORD)

    assert await world.afisha.mail.deliver_due(max_batches=1) == DeliveryReport(sent=2)
    assert await world.afisha.mail.deliver_due() == DeliveryReport(sent=3)
    assert len(world.mailer.sent) == 5


async def test_a_batch_stops_before_its_lease_runs_out_and_the_rest_waits_for_it() -> None:
    world = World(settings=Settings(outbox_lease=timedelta(minutes=5)))
    clock = world.clock

    class SlowMailer(RecordingMailer):
        async def send(self, email: Email) -> None:
            await super().send(email)
            clock.advance(timedelta(minutes=2))  # each send takes two minutes

    mailer = SlowMailer()
    world.afisha = attrs.evolve(world.afisha, mailer=mailer)
    for _ in range(4):
        email, username = world.fresh_identity()
        await world.afisha.accounts.register(email, username, "Some One", PASSWORD)
    report = await world.afisha.mail.deliver_due()
    # 0 min: send (now 2), 2 < 4: send (now 4), 4 >= 4 = 5 - 5/5: stop.
    assert report.sent == 2
    assert len(mailer.sent) == 2
    assert await world.afisha.mail.deliver_due() == DeliveryReport()  # still leased
    clock.advance(timedelta(minutes=2))
    second = await world.afisha.mail.deliver_due()
    assert second.sent == 2
    assert len({m.to for m in mailer.sent}) == 4
