"""Fixed-window rate limiting on Redis, shared by every process of a deployment."""

from __future__ import annotations

import math
from collections.abc import Awaitable
from datetime import timedelta
from types import TracebackType
from typing import Final, Self, TypeVar

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from afisha_core.ports import RateLimitResult
from afisha_redis._errors import RateLimiterUnavailable

__all__ = ["RedisRateLimiter"]

_T = TypeVar("_T")

# One atomic step: count the hit and, when the counter has no expiry yet (it was just
# created by INCR), start the window. A key can therefore never be left without a TTL,
# whatever fails or runs concurrently. Returns {count, milliseconds left}.
_HIT_SCRIPT: Final = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

# The count and the time left, read together. {0, -2} when there is no counter.
_PEEK_SCRIPT: Final = """
local count = redis.call('GET', KEYS[1])
if not count then
  return {0, -2}
end
return {tonumber(count), redis.call('PTTL', KEYS[1])}
"""

_ONE_MS: Final = timedelta(milliseconds=1)


class RedisRateLimiter:
    """A :class:`~afisha_core.ports.RateLimiter` keeping fixed-window counters in Redis.

    Each counter is one Redis key, ``<prefix>ratelimit:<key>``, holding the number of
    hits; it is created with a TTL of the window by the first hit (in the same Lua
    script as the increment, so no key ever lives without an expiry) and disappears
    when the window ends. ``retry_after`` is the key's remaining TTL.

    Give each deployment sharing a Redis server its own ``prefix``. Any failure to
    reach Redis (refused connection, timeout, an error reply) raises
    :class:`~afisha_redis.RateLimiterUnavailable`: the limiter fails closed.

    Build it with :meth:`from_url`, or hand it a ``redis.asyncio.Redis`` client; then
    :meth:`aclose` closes that client only if ``owns_client`` is true.
    """

    def __init__(
        self, client: redis.asyncio.Redis, *, prefix: str = "afisha:", owns_client: bool = False
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._owns_client = owns_client
        self._hit_script = client.register_script(_HIT_SCRIPT)
        self._peek_script = client.register_script(_PEEK_SCRIPT)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "afisha:",
        timeout: float = 2.0,
        retries: int = 1,
        max_connections: int = 50,
        client_name: str | None = "afisha-rate-limiter",
    ) -> Self:
        """Connect to the Redis at ``url`` (``redis://[user:password@]host:port/db``).

        ``rediss://`` (TLS) and ``unix://`` URLs work too, as in redis-py.
        ``timeout`` (seconds) bounds connecting, each reply, and the wait for a free
        connection when all ``max_connections`` are busy (callers queue for one
        rather than fail). A command that fails is retried ``retries`` times on a
        fresh connection (after a Redis restart the pooled connections are dead),
        each attempt waiting at most ``timeout``. ``client_name`` is what
        ``CLIENT LIST`` shows for the limiter's connections. Nothing connects until
        the first call. Raises :class:`ValueError` for a timeout that is not
        positive, negative ``retries`` or ``max_connections < 1``.
        """
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if retries < 0:
            raise ValueError(f"retries must not be negative, got {retries}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(ExponentialWithJitterBackoff(cap=0.1, base=0.01), retries),
            client_name=client_name,
        )
        return cls(redis.asyncio.Redis.from_pool(pool), prefix=prefix, owns_client=True)

    @property
    def prefix(self) -> str:
        """Return the prefix of every Redis key this limiter writes."""
        return self._prefix

    def redis_key(self, key: str) -> str:
        """Return the Redis key holding the counter of ``key``."""
        return f"{self._prefix}ratelimit:{key}"

    async def hit(self, key: str, *, limit: int, window: timedelta) -> RateLimitResult:
        """Count one hit on ``key``; allowed while the count in the window is ``<= limit``.

        Raises :class:`ValueError` when ``limit < 1`` or ``window`` is not positive,
        and :class:`~afisha_redis.RateLimiterUnavailable` when Redis cannot be reached.
        """
        window_ms = _window_ms(limit, window)
        count, ttl_ms = await self._call(
            self._hit_script, keys=[self.redis_key(key)], args=[window_ms]
        )
        return _result(count, limit, ttl_ms, allowed=count <= limit)

    async def peek(self, key: str, *, limit: int, window: timedelta) -> RateLimitResult:
        """Like :meth:`hit` without counting: allowed while the count is ``< limit``.

        Raises :class:`ValueError` when ``limit < 1`` or ``window`` is not positive,
        and :class:`~afisha_redis.RateLimiterUnavailable` when Redis cannot be reached.
        """
        _window_ms(limit, window)
        count, ttl_ms = await self._call(self._peek_script, keys=[self.redis_key(key)])
        return _result(count, limit, ttl_ms, allowed=count < limit)

    async def reset(self, key: str) -> None:
        """Forget the counter of ``key`` (nothing happens if there is none).

        Raises :class:`~afisha_redis.RateLimiterUnavailable` when Redis cannot be reached.
        """
        await _translated(self._client.delete(self.redis_key(key)))

    async def ping(self) -> None:
        """Check that Redis answers (for health checks and start-up).

        Raises :class:`~afisha_redis.RateLimiterUnavailable` when it does not.
        """
        await _translated(self._client.ping())

    async def aclose(self) -> None:
        """Close the connections, if this limiter made the client (:meth:`from_url`)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        """Return the limiter; leaving the block calls :meth:`aclose`."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the connections (see :meth:`aclose`)."""
        await self.aclose()

    async def _call(
        self,
        script: AsyncScript,
        *,
        keys: list[str],
        args: list[int] | None = None,
    ) -> tuple[int, int]:
        """Run one of the scripts; return its ``(count, milliseconds left)``."""
        reply = await _translated(script(keys=keys, args=args or []))
        count, ttl_ms = reply
        return int(count), int(ttl_ms)


async def _translated(awaitable: Awaitable[_T]) -> _T:
    """Await a Redis call, turning any failure to reach Redis into the typed error."""
    try:
        return await awaitable
    except (RedisError, OSError, TimeoutError) as exc:
        raise RateLimiterUnavailable(
            "The rate limiter (Redis) is unavailable; try again later."
        ) from exc


def _window_ms(limit: int, window: timedelta) -> int:
    """Validate the limit and window; return the window in whole milliseconds (>= 1)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if window <= timedelta(0):
        raise ValueError(f"window must be positive, got {window}")
    return max(1, math.ceil(window / _ONE_MS))


def _result(count: int, limit: int, ttl_ms: int, *, allowed: bool) -> RateLimitResult:
    """Build the answer; a refused one waits for the rest of the window (at least 1 ms)."""
    retry_after = timedelta(0) if allowed else timedelta(milliseconds=max(ttl_ms, 1))
    return RateLimitResult(allowed=allowed, count=count, limit=limit, retry_after=retry_after)
