"""The APScheduler worker on in-memory adapters: real scheduling, failures, shutdown, signals.

The scheduler runs on real time with a short interval; the core's clock is the fake one
of :class:`~tests.support.world.World`, so "due" is decided by the test. No test calls a
tick itself: everything here happens because APScheduler ran the jobs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
import pytest

from afisha_apscheduler import Worker, run_forever
from afisha_core.domain import Email, EventView, User
from afisha_core.errors import ServiceUnavailable
from afisha_core.ports import UnitOfWork
from afisha_core.testing import InMemoryDatabase
from afisha_core.testing.builders import make_email, make_outbox_message
from tests.support.world import World

INTERVAL = timedelta(seconds=0.2)
LOGGER = "afisha_apscheduler"


# --- helpers ---------------------------------------------------------------------------


async def eventually(condition: Callable[[], bool], what: str, *, within: float = 5.0) -> None:
    """Wait (on real time) until ``condition()`` holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.02)


def worker_lines(caplog: pytest.LogCaptureFixture, prefix: str = "") -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and r.getMessage().startswith(prefix)
    ]


def scheduler_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What APScheduler itself reported as failed: nothing, when the worker does its job."""
    return [r for r in caplog.records if r.name.startswith("apscheduler") and r.levelno >= 30]


def reminders_sent(world: World) -> list[Email]:
    return [m for m in world.mailer.sent if m.subject.startswith("Reminder:")]


async def due_participant(world: World, *, starts_in: timedelta) -> tuple[User, EventView]:
    """A user taking part in a new event that starts ``starts_in`` from the fake now."""
    admin = await world.admin()
    user = (await world.register()).user  # delivers the sign-up mail: setup, not the worker
    event = await world.event(admin, starts_in=starts_in)
    await world.afisha.participation.join(user, event.event.id)
    return user, event


@attrs.define
class FlakyDatabase:
    """The in-memory database, but the first ``failures`` units of work raise ``error``."""

    inner: InMemoryDatabase
    failures: int
    error: Callable[[], Exception]
    opened: int = 0

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        self.opened += 1
        if self.failures > 0:
            self.failures -= 1
            raise self.error()
        return self.inner(read_only=read_only)


@attrs.define
class SlowMailer:
    """Takes ``delay`` seconds per email; records when a send starts and what it sent."""

    delay: float
    started: asyncio.Event = attrs.field(factory=asyncio.Event)
    calls: int = 0
    sent: list[Email] = attrs.field(factory=list)

    async def send(self, email: Email) -> None:
        self.calls += 1
        self.started.set()
        await asyncio.sleep(self.delay)
        self.sent.append(email)


async def queue_mail(world: World, n: int) -> list[str]:
    """Put ``n`` due messages in the outbox; return their recipients."""
    now = world.clock.now()
    messages = [
        make_outbox_message(email=make_email(), created_at=now, next_attempt_at=now)
        for _ in range(n)
    ]
    async with world.db() as uow:
        for message in messages:
            await uow.outbox.add(message)
        await uow.commit()
    return [m.email.to for m in messages]


async def pending_mail(world: World, *, due_by: datetime | None = None) -> int:
    """How many PENDING messages are due by ``due_by`` (default: any time at all)."""
    at = world.clock.now() + timedelta(days=3650) if due_by is None else due_by
    async with world.db() as uow:  # a claim, never committed: it only reads
        return len(await uow.outbox.claim_due(at, at, 10_000))


# --- a real run delivers ---------------------------------------------------------------


async def test_a_real_scheduler_run_reminds_a_participant_end_to_end(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    user, event = await due_participant(world, starts_in=timedelta(hours=3))
    later, _ = await due_participant(world, starts_in=timedelta(days=3))  # beyond the lead

    async with Worker(world.afisha, INTERVAL):
        await eventually(lambda: bool(reminders_sent(world)), "a reminder email was sent")
        # The jobs repeat: a few more ticks of each come and find nothing to do.
        await eventually(
            lambda: (
                len(worker_lines(caplog, "mail: ")) >= 3
                and len(worker_lines(caplog, "reminders: ")) >= 3
            ),
            "three ticks of each job",
        )

    (mail,) = reminders_sent(world)
    assert mail.to == user.email
    assert mail.subject == f"Reminder: {event.event.name}"
    page = await world.afisha.notifications.list_notifications(user, limit=10)
    assert [n.title for n in page.items if n.title.startswith("Reminder")] == [mail.subject]
    page = await world.afisha.notifications.list_notifications(later, limit=10)
    assert not [n for n in page.items if n.title.startswith("Reminder")]

    reminder_lines = worker_lines(caplog, "reminders: ")
    assert reminder_lines[0].startswith("reminders: queued 1 ")
    assert all(line.startswith("reminders: queued 0 ") for line in reminder_lines[1:])
    mail_lines = worker_lines(caplog, "mail: ")
    assert sum(line.startswith("mail: sent 1, retrying 0, failed 0 ") for line in mail_lines) == 1
    assert scheduler_errors(caplog) == []


# --- failures are logged and the next tick runs ------------------------------------------


@pytest.mark.parametrize(
    ("error", "level", "message"),
    [
        (lambda: RuntimeError("boom"), logging.ERROR, "tick failed; trying again next tick"),
        (
            lambda: ServiceUnavailable("database"),
            logging.WARNING,
            "database unavailable, trying again next tick",
        ),
    ],
    ids=["unexpected-error", "service-unavailable"],
)
async def test_a_failing_tick_is_logged_and_the_next_tick_runs(
    world: World,
    caplog: pytest.LogCaptureFixture,
    error: Callable[[], Exception],
    level: int,
    message: str,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    user, _ = await due_participant(world, starts_in=timedelta(hours=1))
    # The first three units of work opened are the first of each job's ticks (reminders,
    # mail, erasure): all three fail.
    flaky = FlakyDatabase(world.db, failures=3, error=error)
    afisha = attrs.evolve(world.afisha, uow=flaky)

    async with Worker(afisha, INTERVAL):
        await eventually(lambda: bool(reminders_sent(world)), "a reminder after the failures")

    assert [m.to for m in reminders_sent(world)] == [user.email]
    failures = [r for r in caplog.records if r.name == LOGGER and message in r.getMessage()]
    assert len(failures) == 3
    assert {r.getMessage().split(":")[0] for r in failures} == {"reminders", "mail", "erasure"}
    assert all(r.levelno == level for r in failures)
    if level == logging.ERROR:
        assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in failures)
    else:
        assert not any(r.levelno >= logging.ERROR for r in caplog.records if r.name == LOGGER)
    assert scheduler_errors(caplog) == []


async def test_a_mail_server_outage_is_retried_by_a_later_tick(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    (recipient,) = await queue_mail(world, 1)
    world.mailer.fail_next(1)

    async with Worker(world.afisha, INTERVAL):
        await eventually(
            lambda: any(
                line.startswith("mail: sent 0, retrying 1, failed 0")
                for line in worker_lines(caplog, "mail: ")
            ),
            "a tick that met the outage",
        )
        assert world.mailer.sent == []
        world.clock.advance(world.settings.outbox_backoff_base)  # the retry is due now
        await eventually(lambda: bool(world.mailer.sent), "the retried email")

    assert [m.to for m in world.mailer.sent] == [recipient]


# --- graceful shutdown ---------------------------------------------------------------------


async def test_shutdown_waits_for_the_batch_in_hand_and_no_tick_starts_after(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    world = World(settings=attrs.evolve(World().settings, outbox_batch_size=2))
    recipients = await queue_mail(world, 5)
    mailer = SlowMailer(delay=0.3)
    counted = FlakyDatabase(world.db, failures=0, error=RuntimeError)  # counts, never fails
    afisha = attrs.evolve(world.afisha, uow=counted, mailer=mailer)
    worker = Worker(afisha, INTERVAL)

    worker.start()
    await asyncio.wait_for(mailer.started.wait(), 5)
    assert mailer.sent == []  # the first email of the first batch is on its way
    began = time.monotonic()
    await worker.shutdown()
    waited = time.monotonic() - began

    assert not worker.running
    assert waited >= 0.25, "shutdown returned before the batch in hand was sent"
    # The batch in hand (two emails) was finished and recorded; the next was not begun.
    assert len(mailer.sent) == 2
    assert {m.to for m in mailer.sent} < set(recipients)
    assert await pending_mail(world) == 3
    # Between the start and the end of shutdown, only the tick in hand reported.
    messages = worker_lines(caplog)
    stopping = messages.index("worker stopping: waiting up to 30 s for 1 tick(s) in progress")
    assert len(messages[stopping + 1 :]) == 2
    assert messages[stopping + 1].startswith("mail: sent 2, retrying 0, failed 0 ")
    assert messages[stopping + 2] == "worker stopped"

    opened, calls, logged = counted.opened, mailer.calls, len(caplog.records)
    await asyncio.sleep(5 * INTERVAL.total_seconds())
    assert (counted.opened, mailer.calls) == (opened, calls), "a tick ran after shutdown"
    assert len(caplog.records) == logged
    assert scheduler_errors(caplog) == []
    await worker.shutdown()  # a second call is harmless


async def test_shutdown_cancels_a_tick_that_outlives_the_grace(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    await queue_mail(world, 1)
    mailer = SlowMailer(delay=3600)  # a mail server that never answers
    afisha = attrs.evolve(world.afisha, mailer=mailer)
    worker = Worker(afisha, INTERVAL, shutdown_timeout=timedelta(seconds=0.3))

    worker.start()
    await asyncio.wait_for(mailer.started.wait(), 5)
    began = time.monotonic()
    await asyncio.wait_for(worker.shutdown(), 5)

    assert 0.3 <= time.monotonic() - began < 2
    lines = worker_lines(caplog)
    assert "worker stopping: 1 tick(s) still running after 0.3 s; cancelling them" in lines
    assert "mail: tick cancelled by shutdown" in lines
    assert lines[-1] == "worker stopped"
    assert mailer.sent == []
    # The message is not lost: it stays claimed until its lease ends, then is due again.
    assert await pending_mail(world) == 1
    assert await pending_mail(world, due_by=world.clock.now()) == 0
    assert await pending_mail(world, due_by=world.clock.now() + world.settings.outbox_lease) == 1
    assert scheduler_errors(caplog) == []


# --- run_forever -------------------------------------------------------------------------


async def test_run_forever_shuts_down_gracefully_on_sigint(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    user, _ = await due_participant(world, starts_in=timedelta(hours=1))
    before = signal.getsignal(signal.SIGINT)
    running = asyncio.create_task(run_forever(world.afisha, INTERVAL))

    await eventually(lambda: bool(reminders_sent(world)), "a reminder email was sent")
    os.kill(os.getpid(), signal.SIGINT)  # handled by the loop, not as KeyboardInterrupt
    await asyncio.wait_for(running, 5)

    assert [m.to for m in reminders_sent(world)] == [user.email]
    lines = worker_lines(caplog, "worker ")
    assert lines[0].startswith("worker started")
    assert "worker stopping (SIGINT)" in lines
    assert lines[-1] == "worker stopped"
    assert signal.getsignal(signal.SIGINT) is before  # the handler was removed again


async def test_run_forever_stops_when_asked(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    stop = asyncio.Event()
    running = asyncio.create_task(run_forever(world.afisha, INTERVAL, stop=stop, signals=()))
    await eventually(lambda: len(worker_lines(caplog, "mail: ")) >= 1, "a first tick")
    stop.set()
    await asyncio.wait_for(running, 5)
    assert worker_lines(caplog, "worker ")[-2:] == [
        "worker stopping (stop requested)",
        "worker stopped",
    ]


# --- misuse --------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", [timedelta(0), timedelta(seconds=-1)])
def test_the_interval_must_be_positive(world: World, interval: timedelta) -> None:
    with pytest.raises(ValueError, match="interval must be positive"):
        Worker(world.afisha, interval)


async def test_a_worker_starts_once(world: World) -> None:
    worker = Worker(world.afisha, INTERVAL)
    await worker.shutdown()  # before start: nothing to do
    worker.start()
    try:
        assert worker.running
        with pytest.raises(RuntimeError, match="already started"):
            worker.start()
    finally:
        await worker.shutdown()
    assert not worker.running


def test_a_worker_needs_a_running_loop(world: World) -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        Worker(world.afisha, INTERVAL).start()


async def test_wake_mail_delivers_at_once_instead_of_at_the_next_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    world = World()
    worker = Worker(world.afisha, timedelta(minutes=10))
    worker.start()
    try:
        await eventually(lambda: bool(worker_lines(caplog, "mail:")), "the first mail tick")
        email, username = world.fresh_identity()
        await world.afisha.accounts.register(email, username, "Some One", "a long password")
        await asyncio.sleep(0.3)
        assert world.mailer.last_to(email) is None, "mail went out without a wake-up"
        worker.wake_mail()
        await eventually(lambda: world.mailer.last_to(email) is not None, "the woken tick")
    finally:
        await worker.shutdown()
    worker.wake_mail()  # after shutdown: does nothing, raises nothing
