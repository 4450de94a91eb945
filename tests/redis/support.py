"""A fresh key prefix per test on the shared Redis server, cleaned up afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio

from afisha_redis import RedisRateLimiter
from tests.support.services import require_redis

# Nothing listens here: connecting is refused at once.
CLOSED_URL = "redis://127.0.0.1:1/0"


@asynccontextmanager
async def raw_redis() -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client on the test server, to look at keys behind the limiter's back."""
    client = redis.asyncio.Redis.from_url(require_redis())
    try:
        yield client
    finally:
        await client.aclose()


async def keys_with_prefix(client: redis.asyncio.Redis, prefix: str) -> list[bytes]:
    """Every key on the server that starts with ``prefix``."""
    return [key async for key in client.scan_iter(match=prefix + "*", count=1000)]


@asynccontextmanager
async def fresh_prefix() -> AsyncIterator[str]:
    """Yield a prefix no other test uses; delete every key under it afterwards."""
    prefix = f"afisha-test:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        async with raw_redis() as client:
            keys = await keys_with_prefix(client, prefix)
            if keys:
                await client.delete(*keys)


@asynccontextmanager
async def redis_limiter(*, client_name: str | None = None) -> AsyncIterator[RedisRateLimiter]:
    """A limiter on the test server under a fresh prefix; closed and cleaned afterwards."""
    async with fresh_prefix() as prefix:
        limiter = RedisRateLimiter.from_url(
            require_redis(), prefix=prefix, timeout=2.0, client_name=client_name
        )
        try:
            yield limiter
        finally:
            await limiter.aclose()
