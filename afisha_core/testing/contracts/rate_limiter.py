"""The contract every :class:`~afisha_core.ports.RateLimiter` adapter passes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import ClassVar
from uuid import uuid4

import pytest

from afisha_core.ports import RateLimiter

__all__ = ["RateLimiterContract"]


def _fresh_key(label: str = "key") -> str:
    """Return a key that no other test, or earlier run against the server, has used."""
    return f"afisha-contract:{label}:{uuid4().hex}"


class RateLimiterContract:
    """Fixed-window counting as :class:`~afisha_core.ports.RateLimiter` describes it.

    Subclass it in a ``Test...`` class that provides:

    - a fixture ``limiter`` returning the adapter under test (sync or async);
    - ``async def wait(self, seconds)``, which lets ``seconds`` pass for the limiter:
      advance the fake clock it reads, or really sleep for a server with real TTLs;
    - optionally ``window_seconds``, the window the tests use (keep it short when
      :meth:`wait` really sleeps).

    Every test uses fresh keys, so a shared server needs no cleaning between tests.
    """

    pytestmark = pytest.mark.asyncio

    window_seconds: ClassVar[float] = 1.0
    limit: ClassVar[int] = 3

    async def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass as far as the limiter can tell; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement wait()")

    @property
    def window(self) -> timedelta:
        """Return the window of every counter in these tests."""
        return timedelta(seconds=self.window_seconds)

    async def _exhaust(self, limiter: RateLimiter, key: str) -> None:
        """Hit ``key`` exactly ``limit`` times (all allowed)."""
        for _ in range(self.limit):
            result = await limiter.hit(key, limit=self.limit, window=self.window)
            assert result.allowed

    async def test_hits_are_allowed_up_to_the_limit(self, limiter: RateLimiter) -> None:
        """Hits are allowed, and counted, while the count is at most the limit."""
        key = _fresh_key()
        for expected in range(1, self.limit + 1):
            result = await limiter.hit(key, limit=self.limit, window=self.window)
            assert result.allowed
            assert result.count == expected
            assert result.limit == self.limit
            assert result.retry_after == timedelta(0)

    async def test_the_hit_after_the_limit_is_blocked(self, limiter: RateLimiter) -> None:
        """The hit past the limit is refused, and still counted."""
        key = _fresh_key()
        await self._exhaust(limiter, key)

        blocked = await limiter.hit(key, limit=self.limit, window=self.window)
        again = await limiter.hit(key, limit=self.limit, window=self.window)

        assert not blocked.allowed
        assert blocked.count == self.limit + 1
        assert blocked.limit == self.limit
        assert not again.allowed
        assert again.count == self.limit + 2

    async def test_retry_after_is_the_time_left_in_the_window(self, limiter: RateLimiter) -> None:
        """A refused hit says to retry after a positive time, at most the window."""
        key = _fresh_key()
        await self._exhaust(limiter, key)

        blocked = await limiter.hit(key, limit=self.limit, window=self.window)

        assert timedelta(0) < blocked.retry_after <= self.window

    async def test_a_limit_of_one_allows_a_single_hit(self, limiter: RateLimiter) -> None:
        """With a limit of one, only the first hit is allowed."""
        key = _fresh_key()
        first = await limiter.hit(key, limit=1, window=self.window)
        second = await limiter.hit(key, limit=1, window=self.window)
        assert first.allowed
        assert not second.allowed

    async def test_peek_on_an_unknown_key_is_allowed_with_count_zero(
        self, limiter: RateLimiter
    ) -> None:
        """Peeking at a key never hit reports a count of zero, allowed."""
        result = await limiter.peek(_fresh_key(), limit=self.limit, window=self.window)
        assert result.allowed
        assert result.count == 0
        assert result.limit == self.limit
        assert result.retry_after == timedelta(0)

    async def test_peek_does_not_count(self, limiter: RateLimiter) -> None:
        """Peeking leaves the count alone."""
        key = _fresh_key()
        await limiter.hit(key, limit=self.limit, window=self.window)
        for _ in range(self.limit + 2):
            peeked = await limiter.peek(key, limit=self.limit, window=self.window)
            assert peeked.count == 1
            assert peeked.allowed

        second = await limiter.hit(key, limit=self.limit, window=self.window)
        assert second.count == 2

    async def test_peek_is_blocked_once_the_count_reaches_the_limit(
        self, limiter: RateLimiter
    ) -> None:
        """Peek is allowed below the limit and refused once the count reaches it."""
        key = _fresh_key()
        for _ in range(self.limit - 1):
            await limiter.hit(key, limit=self.limit, window=self.window)
        below = await limiter.peek(key, limit=self.limit, window=self.window)
        await limiter.hit(key, limit=self.limit, window=self.window)
        at_limit = await limiter.peek(key, limit=self.limit, window=self.window)

        assert below.allowed
        assert below.count == self.limit - 1
        assert not at_limit.allowed
        assert at_limit.count == self.limit
        assert timedelta(0) < at_limit.retry_after <= self.window

    async def test_the_counter_is_gone_when_the_window_ends(self, limiter: RateLimiter) -> None:
        """When the window ends the counter disappears and hits are allowed again."""
        key = _fresh_key()
        await self._exhaust(limiter, key)
        assert not (await limiter.hit(key, limit=self.limit, window=self.window)).allowed

        await self.wait(self.window_seconds * 1.2)

        peeked = await limiter.peek(key, limit=self.limit, window=self.window)
        assert peeked.count == 0
        result = await limiter.hit(key, limit=self.limit, window=self.window)
        assert result.allowed
        assert result.count == 1

    async def test_the_counter_lives_until_the_window_ends(self, limiter: RateLimiter) -> None:
        """Before the window ends the key stays blocked, for the time left."""
        key = _fresh_key()
        await self._exhaust(limiter, key)

        await self.wait(self.window_seconds * 0.4)

        blocked = await limiter.hit(key, limit=self.limit, window=self.window)
        assert not blocked.allowed
        assert timedelta(0) < blocked.retry_after <= self.window * 0.6

    async def test_later_hits_do_not_extend_the_window(self, limiter: RateLimiter) -> None:
        """The window starts at the first hit; later hits do not move its end."""
        # The window starts at the first hit: a hit late in the window does not move
        # its end (that would be a sliding window, or a TTL refreshed on every hit).
        key = _fresh_key()
        await limiter.hit(key, limit=self.limit, window=self.window)
        await self.wait(self.window_seconds * 0.6)
        second = await limiter.hit(key, limit=self.limit, window=self.window)
        assert second.count == 2

        await self.wait(self.window_seconds * 0.6)

        third = await limiter.hit(key, limit=self.limit, window=self.window)
        assert third.count == 1

    async def test_reset_forgets_the_counter(self, limiter: RateLimiter) -> None:
        """After reset the key starts again from zero."""
        key = _fresh_key()
        await self._exhaust(limiter, key)
        await limiter.hit(key, limit=self.limit, window=self.window)

        await limiter.reset(key)

        result = await limiter.hit(key, limit=self.limit, window=self.window)
        assert result.allowed
        assert result.count == 1

    async def test_reset_of_an_unknown_key_is_harmless(self, limiter: RateLimiter) -> None:
        """Resetting a key that has no counter is not an error."""
        await limiter.reset(_fresh_key())
        result = await limiter.peek(_fresh_key(), limit=self.limit, window=self.window)
        assert result.count == 0

    async def test_keys_are_counted_independently(self, limiter: RateLimiter) -> None:
        """Hits, blocks and resets on one key do not touch another."""
        busy, quiet = _fresh_key("busy"), _fresh_key("quiet")
        await self._exhaust(limiter, busy)
        await limiter.hit(busy, limit=self.limit, window=self.window)

        result = await limiter.hit(quiet, limit=self.limit, window=self.window)
        await limiter.reset(quiet)
        still_blocked = await limiter.peek(busy, limit=self.limit, window=self.window)

        assert result.allowed
        assert result.count == 1
        assert not still_blocked.allowed
        assert still_blocked.count == self.limit + 1

    async def test_concurrent_hits_are_counted_exactly(self, limiter: RateLimiter) -> None:
        """Concurrent hits are each counted once: exactly ``limit`` are allowed."""
        key = _fresh_key()
        limit, hits = 10, 100

        results = await asyncio.gather(
            *(limiter.hit(key, limit=limit, window=self.window) for _ in range(hits))
        )

        assert sorted(r.count for r in results) == list(range(1, hits + 1))
        assert sum(r.allowed for r in results) == limit
        assert all(r.allowed == (r.count <= limit) for r in results)
        final = await limiter.peek(key, limit=limit, window=self.window)
        assert final.count == hits
