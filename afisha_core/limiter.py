"""The in-process rate limiter: fixed-window counters in this process's memory.

The embedded default of a single-process deployment; with several processes, use a
shared limiter (``afisha_redis``) so they count together.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from afisha_core.ports import Clock, RateLimitResult

__all__ = ["InProcessRateLimiter"]


class InProcessRateLimiter:
    """A :class:`~afisha_core.ports.RateLimiter` holding fixed-window counters in a dict.

    A window starts at the first hit on a key and lasts the ``window`` given with that
    hit; once the clock reaches its end the counter is gone. Reading and updating a
    counter happen without an ``await`` in between (and under a lock), so concurrent
    tasks, or threads, never lose a hit. Counters live only in this process: this is the
    limiter of single-process deployments (the embedded default of ``afisha serve``) and
    of tests; several processes share their counters through a Redis limiter instead.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (count, end of the window)
        self._counters: dict[str, tuple[int, datetime]] = {}
        self._hits_since_sweep = 0

    async def hit(self, key: str, *, limit: int, window: timedelta) -> RateLimitResult:
        """Count one hit on ``key``; allowed while the count in the window is ``<= limit``.

        Raises :class:`ValueError` when ``limit < 1`` or ``window`` is not positive.
        """
        _check_limits(limit, window)
        now = self._clock.now()
        with self._lock:
            count, ends_at = self._current(key, now)
            if count == 0:
                ends_at = now + window
            count += 1
            self._counters[key] = (count, ends_at)
            self._sweep_now_and_then(now)
        return _result(count, limit, ends_at - now, allowed=count <= limit)

    async def peek(self, key: str, *, limit: int, window: timedelta) -> RateLimitResult:
        """Like :meth:`hit` without counting: allowed while the count is ``< limit``.

        Raises :class:`ValueError` when ``limit < 1`` or ``window`` is not positive.
        """
        _check_limits(limit, window)
        now = self._clock.now()
        with self._lock:
            count, ends_at = self._current(key, now)
        return _result(count, limit, ends_at - now, allowed=count < limit)

    async def reset(self, key: str) -> None:
        """Forget the counter of ``key`` (nothing happens if there is none)."""
        with self._lock:
            self._counters.pop(key, None)

    def _current(self, key: str, now: datetime) -> tuple[int, datetime]:
        """Return the live ``(count, ends_at)`` of ``key``, or ``(0, now)`` if none."""
        entry = self._counters.get(key)
        if entry is None or now >= entry[1]:
            return 0, now
        return entry

    def _sweep_now_and_then(self, now: datetime) -> None:
        """Drop expired counters, once every ``len(counters)`` hits (amortised O(1))."""
        self._hits_since_sweep += 1
        if self._hits_since_sweep < len(self._counters):
            return
        self._hits_since_sweep = 0
        expired = [key for key, (_, ends_at) in self._counters.items() if now >= ends_at]
        for key in expired:
            del self._counters[key]


def _check_limits(limit: int, window: timedelta) -> None:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if window <= timedelta(0):
        raise ValueError(f"window must be positive, got {window}")


def _result(count: int, limit: int, left: timedelta, *, allowed: bool) -> RateLimitResult:
    retry_after = timedelta(0) if allowed else left
    return RateLimitResult(allowed=allowed, count=count, limit=limit, retry_after=retry_after)
