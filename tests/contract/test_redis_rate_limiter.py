"""The RateLimiter contract suite against Redis, with real TTLs and real sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from afisha_core.testing.contracts.rate_limiter import RateLimiterContract
from afisha_redis import RedisRateLimiter
from tests.redis.support import redis_limiter


class TestRedisRateLimiter(RateLimiterContract):
    """Each test gets its own key prefix, deleted afterwards."""

    # Real time passes in wait(): half a second keeps the suite quick while leaving
    # a few hundred milliseconds of slack in the tests that must not reach the end.
    window_seconds = 0.5

    @pytest.fixture
    async def limiter(self) -> AsyncIterator[RedisRateLimiter]:
        async with redis_limiter() as limiter:
            yield limiter

    async def wait(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
