"""Running a worker until the process is told to stop (the ``afisha worker`` command)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from afisha_apscheduler._worker import DEFAULT_INTERVAL, DEFAULT_SHUTDOWN_TIMEOUT, Worker
from afisha_core.app import Afisha

__all__ = ["STOP_SIGNALS", "run_forever"]

logger = logging.getLogger("afisha_apscheduler")

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
"""The signals :func:`run_forever` stops on."""


async def run_forever(
    afisha: Afisha,
    interval: timedelta = DEFAULT_INTERVAL,
    *,
    shutdown_timeout: timedelta = DEFAULT_SHUTDOWN_TIMEOUT,
    stop: asyncio.Event | None = None,
    signals: Iterable[signal.Signals] = STOP_SIGNALS,
    on_tick: Callable[[str, bool], None] | None = None,
) -> None:
    """Run a :class:`Worker` until SIGINT or SIGTERM (or ``stop`` is set), then shut down.

    The signal handlers are installed on the running loop
    (``loop.add_signal_handler``) for the duration of the call and removed afterwards.
    Where the loop cannot handle signals (Windows, or a loop outside the main thread),
    only ``stop`` (or cancelling the call) ends it. Shutdown is graceful: the ticks in
    hand finish their batch, up to ``shutdown_timeout``. The handlers are removed as
    shutdown begins, so a second signal gets the previous behaviour (the process ends
    at once). Returns once the worker stopped. ``on_tick`` is the :class:`Worker`'s.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event() if stop is None else stop
    received: list[signal.Signals] = []

    def on_signal(signum: signal.Signals) -> None:
        received.append(signum)
        stop.set()

    # What was there before (asyncio.run's own SIGINT handler, say) is put back after:
    # loop.remove_signal_handler alone would leave the default handler instead.
    installed: dict[signal.Signals, Any] = {}
    for signum in signals:
        previous = signal.getsignal(signum)
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError, ValueError):
            logger.warning("cannot handle %s here; stop the worker another way", signum.name)
        else:
            installed[signum] = previous
    worker = Worker(afisha, interval, shutdown_timeout=shutdown_timeout, on_tick=on_tick)
    try:
        worker.start()
        await stop.wait()
        cause = received[0].name if received else "stop requested"
        logger.info("worker stopping (%s)", cause)
    finally:
        for signum, previous in installed.items():
            loop.remove_signal_handler(signum)
            if previous is not None:  # None: set from outside Python, cannot be restored
                signal.signal(signum, previous)
        await worker.shutdown()
