"""A typed face for APScheduler 3's ``AsyncIOScheduler``, which ships no type hints.

Everything the worker asks of APScheduler goes through :class:`Scheduler` below, so the
one unchecked import stays in this module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

# APScheduler 3 has neither inline types nor stubs (4.x has them, but it is another API).
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

__all__ = ["Scheduler", "interval_scheduler"]


class Scheduler(Protocol):
    """The part of ``apscheduler.schedulers.asyncio.AsyncIOScheduler`` the worker uses."""

    @property
    def running(self) -> bool:
        """Whether the scheduler was started and not shut down (paused counts as running)."""
        ...

    def add_job(
        self,
        func: Callable[[], Awaitable[None]],
        trigger: str,
        *,
        id: str,  # APScheduler's own keyword
        name: str,
        seconds: float,
        coalesce: bool,
        max_instances: int,
        misfire_grace_time: int,
        next_run_time: datetime,
    ) -> object:
        """Add a job; returns APScheduler's ``Job`` (unused)."""
        ...

    def modify_job(self, job_id: str, *, next_run_time: datetime) -> object:
        """Move a job's next run (returns APScheduler's ``Job``, unused)."""
        ...

    def start(self, paused: bool = False) -> None:
        """Start processing jobs on the running event loop."""
        ...

    def pause(self) -> None:
        """Stop starting jobs; jobs already running go on."""
        ...

    def shutdown(self, wait: bool = True) -> None:
        """Stop, on the event loop's next turn; cancels job coroutines still pending."""
        ...


def interval_scheduler(
    jobs: Mapping[str, Callable[[], Awaitable[None]]],
    interval: timedelta,
    misfire_grace: timedelta,
) -> Scheduler:
    """An unstarted ``AsyncIOScheduler`` running each of ``jobs`` every ``interval``.

    Each job runs at once when the scheduler starts, then every ``interval``; never two
    runs of one job at a time (``max_instances=1``); runs missed while the loop was busy
    collapse into one (``coalesce``) if no later than ``misfire_grace``. The job store is
    the default in-memory one: it belongs to this process and is never shared.
    """
    # The AsyncIOScheduler is untyped (Any); the annotation is where it meets our types.
    scheduler: Scheduler = AsyncIOScheduler(timezone=UTC)
    now = datetime.now(UTC)
    for job_id, func in jobs.items():
        scheduler.add_job(
            func,
            "interval",
            id=job_id,
            name=job_id,
            seconds=interval.total_seconds(),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, round(misfire_grace.total_seconds())),
            next_run_time=now,
        )
    return scheduler
