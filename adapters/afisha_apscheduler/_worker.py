"""The worker: the core's reminder and mail-delivery ticks on an APScheduler interval."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from afisha_apscheduler._scheduler import Scheduler, interval_scheduler
from afisha_core.app import Afisha
from afisha_core.errors import ServiceUnavailable

__all__ = ["DEFAULT_INTERVAL", "DEFAULT_SHUTDOWN_TIMEOUT", "Worker"]

logger = logging.getLogger("afisha_apscheduler")

DEFAULT_INTERVAL = timedelta(seconds=30)
"""How often each tick runs unless told otherwise (``AFISHA_SCHEDULER_INTERVAL``)."""

DEFAULT_SHUTDOWN_TIMEOUT = timedelta(seconds=30)
"""How long :meth:`Worker.shutdown` waits for the ticks in hand before cancelling them."""

REMINDERS_JOB = "afisha-reminders"
MAIL_JOB = "afisha-mail"
WEBHOOKS_JOB = "afisha-webhooks"
ERASURE_JOB = "afisha-erasure"


class Worker:
    """Runs ``afisha.reminders`` and ``afisha.mail`` ticks every ``interval``.

    Two APScheduler interval jobs on the running event loop: one claims due reminders
    (each writes a notification and an outbox email), the other sends due outbox mail.
    Both run once at :meth:`start`, then every ``interval``; a job never overlaps
    itself (``max_instances=1``), and runs missed while the loop was busy collapse into
    one (``coalesce``) when at most ``misfire_grace`` late (default: the interval, at
    least one second).

    A third job erases the personal data of accounts deleted longer ago than the
    settings' ``deleted_retention`` (``afisha.personal_data.erase_due``), each account
    in its own transaction with the user locked, so two workers never erase one twice.

    Each tick logs one INFO line with its counts (``reminders: queued 3``,
    ``mail: sent 2, retrying 0, failed 0``). A tick that raises is logged and the next
    tick runs as usual: :class:`~afisha_core.errors.ServiceUnavailable` (database or
    mailer down) as a WARNING, anything else as an ERROR with its traceback.

    A tick works batch by batch (the settings' ``reminder_batch_size`` and
    ``outbox_batch_size``) until nothing is due. :meth:`shutdown` lets the batch in
    hand finish, then stops. Several workers, in one process or many, may run against
    one database: claims are made in the database, so no reminder or email is taken
    twice. Each worker has its own in-memory APScheduler job store; none is shared.

    >>> worker = Worker(afisha, timedelta(seconds=30))    # doctest: +SKIP
    >>> worker.start()                                    # inside the running loop
    >>> ...
    >>> await worker.shutdown()

    or ``async with Worker(afisha, interval): ...``. A worker starts once; after
    :meth:`shutdown`, build a new one. ``on_tick(name, ok)``, when given, is called
    after every tick (``"reminders"`` or ``"mail"``; ``ok`` false when it failed): the
    ``afisha worker`` command writes its heartbeat file there.
    """

    def __init__(
        self,
        afisha: Afisha,
        interval: timedelta = DEFAULT_INTERVAL,
        *,
        misfire_grace: timedelta | None = None,
        shutdown_timeout: timedelta = DEFAULT_SHUTDOWN_TIMEOUT,
        on_tick: Callable[[str, bool], None] | None = None,
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError(f"interval must be positive, got {interval}")
        if shutdown_timeout < timedelta(0):
            raise ValueError(f"shutdown_timeout must not be negative, got {shutdown_timeout}")
        self._afisha = afisha
        self._interval = interval
        self._misfire_grace = (
            max(interval, timedelta(seconds=1)) if misfire_grace is None else misfire_grace
        )
        self._shutdown_timeout = shutdown_timeout
        self._scheduler: Scheduler | None = None
        self._stopping = False
        self._stopped = asyncio.Event()
        self._in_hand: set[asyncio.Task[object]] = set()
        self._on_tick = on_tick

    def __repr__(self) -> str:
        return f"Worker(interval={self._interval}, running={self.running})"

    @property
    def interval(self) -> timedelta:
        """The time between two starts of each tick."""
        return self._interval

    @property
    def running(self) -> bool:
        """Whether the worker was started and :meth:`shutdown` has not begun."""
        return self._scheduler is not None and not self._stopping

    def start(self) -> None:
        """Schedule both ticks on the running event loop; the first run is immediate.

        Raises :class:`RuntimeError` when called twice or outside a running loop.
        """
        if self._scheduler is not None:
            raise RuntimeError("this worker was already started; build a new one")
        asyncio.get_running_loop()  # fail here, not deep inside APScheduler
        scheduler = interval_scheduler(
            {
                REMINDERS_JOB: self._reminders_job,
                MAIL_JOB: self._mail_job,
                ERASURE_JOB: self._erasure_job,
                WEBHOOKS_JOB: self._webhooks_job,
            },
            self._interval,
            self._misfire_grace,
        )
        scheduler.start()
        self._scheduler = scheduler
        logger.info(
            "worker started: reminders and mail delivery every %s s",
            f"{self._interval.total_seconds():g}",
        )

    def wake_mail(self) -> None:
        """Run the mail-delivery tick now instead of at its next interval.

        For mail someone waits for (a registration code): the composition root calls
        it after a request that may have queued mail. A tick already running is not
        doubled (``max_instances=1``); after shutdown this does nothing.
        """
        if self._scheduler is None or self._stopping:
            return
        self._scheduler.modify_job(MAIL_JOB, next_run_time=datetime.now(UTC))

    async def shutdown(self, grace: timedelta | None = None) -> None:
        """Stop starting ticks, wait for the ticks in hand, then stop the scheduler.

        A tick in hand finishes its current batch and stops there. Ticks still running
        after ``grace`` (default: the ``shutdown_timeout`` given to the worker) are
        cancelled; what they had claimed but not finished is picked up again later
        (mail when its lease ends). Safe to call more than once, and before
        :meth:`start` (then it does nothing).
        """
        scheduler = self._scheduler
        if scheduler is None:
            return
        if self._stopping:
            await self._stopped.wait()
            return
        self._stopping = True
        try:
            scheduler.pause()
            # A job the scheduler started just now takes its first step, sees the worker
            # stopping and returns, before the scheduler's shutdown would cancel it.
            await asyncio.sleep(0)
            await self._finish_ticks_in_hand(self._shutdown_timeout if grace is None else grace)
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
        finally:
            self._stopped.set()
        logger.info("worker stopped")

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()

    async def _finish_ticks_in_hand(self, grace: timedelta) -> None:
        in_hand = set(self._in_hand)
        if not in_hand:
            return
        logger.info(
            "worker stopping: waiting up to %s s for %d tick(s) in progress",
            f"{grace.total_seconds():g}",
            len(in_hand),
        )
        _, late = await asyncio.wait(in_hand, timeout=grace.total_seconds())
        if late:
            logger.warning(
                "worker stopping: %d tick(s) still running after %s s; cancelling them",
                len(late),
                f"{grace.total_seconds():g}",
            )
            for task in late:
                task.cancel()
            await asyncio.wait(late)

    def _stop_requested(self) -> bool:
        return self._stopping

    async def _reminders_job(self) -> None:
        await self._run_tick("reminders", self._reminders_tick)

    async def _mail_job(self) -> None:
        await self._run_tick("mail", self._mail_tick)

    async def _erasure_job(self) -> None:
        await self._run_tick("erasure", self._erasure_tick)

    async def _webhooks_job(self) -> None:
        await self._run_tick("webhooks", self._webhooks_tick)

    async def _webhooks_tick(self) -> str:
        # One batch per call; every claimed delivery ends delivered or failed (retrying).
        delivery = self._afisha.webhook_delivery
        delivered = failed = disabled = 0
        while True:
            report = await delivery.deliver_due()
            delivered += report.delivered
            failed += report.failed
            disabled += report.disabled
            if report.claimed < delivery.batch or self._stopping:
                return f"delivered {delivered}, failed {failed}, disabled {disabled}"

    async def _erasure_tick(self) -> str:
        return f"erased {await self._afisha.personal_data.erase_due()}"

    async def _reminders_tick(self) -> str:
        # One batch per call, so that shutdown can stop between batches; the stop rule
        # (a short batch means nothing else is due) is send_due's own.
        size = self._afisha.settings.reminder_batch_size
        queued = 0
        while True:
            batch = await self._afisha.reminders.send_due(max_batches=1)
            queued += batch
            if batch < size or self._stopping:
                return f"queued {queued}"

    async def _mail_tick(self) -> str:
        # As above; every claimed message ends sent, retrying or failed, so their sum is
        # the size of the batch.
        size = self._afisha.settings.outbox_batch_size
        sent = retrying = failed = 0
        while True:
            report = await self._afisha.mail.deliver_due(max_batches=1)
            sent += report.sent
            retrying += report.retrying
            failed += report.failed
            if report.sent + report.retrying + report.failed < size or self._stopping:
                return f"sent {sent}, retrying {retrying}, failed {failed}"

    async def _run_tick(self, name: str, tick: Callable[[], Awaitable[str]]) -> None:
        """Run one tick as an APScheduler job: log its outcome, never raise."""
        if self._stopping:
            return  # started by the scheduler just before shutdown began: skip it
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - APScheduler runs every job in a task
            raise RuntimeError("a tick must run in an asyncio task")
        self._in_hand.add(task)
        started = time.perf_counter()
        ok = False
        try:
            summary = await tick()
        except ServiceUnavailable as exc:
            logger.warning("%s: %s unavailable, trying again next tick: %s", name, exc.service, exc)
        except asyncio.CancelledError:
            if not self._stop_requested():  # a method: mypy kept the narrowing from above
                raise
            # Cancelled by shutdown() after its timeout. Ending the task normally keeps
            # APScheduler from reporting the cancellation as a failed job.
            task.uncancel()
            logger.warning("%s: tick cancelled by shutdown", name)
        except Exception:  # any failure: log it, the scheduler and the next tick go on
            logger.exception("%s: tick failed; trying again next tick", name)
        else:
            ok = True
            logger.info("%s: %s (%.2f s)", name, summary, time.perf_counter() - started)
        finally:
            self._in_hand.discard(task)
            if self._on_tick is not None:
                try:
                    self._on_tick(name, ok)
                except Exception:  # a heartbeat that cannot be written must not stop ticks
                    logger.exception("%s: the tick hook failed", name)
