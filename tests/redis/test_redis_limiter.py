"""The Redis rate limiter against the real server: TTLs, atomicity, prefixes, outages."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from redis.exceptions import RedisError

from afisha_core.app import Afisha
from afisha_core.errors import ServiceUnavailable
from afisha_core.ports import RateLimiter
from afisha_core.testing import (
    FakeClock,
    FastPasswordHasher,
    InMemoryDatabase,
    InMemoryObjectStorage,
    RecordingMailer,
)
from afisha_redis import RateLimiterUnavailable, RedisRateLimiter
from tests.redis.support import (
    CLOSED_URL,
    keys_with_prefix,
    raw_redis,
    redis_limiter,
)

SECOND = timedelta(seconds=1)


@pytest.fixture
async def limiter() -> AsyncIterator[RedisRateLimiter]:
    async with redis_limiter() as limiter:
        yield limiter


@pytest.fixture
async def down() -> AsyncIterator[RedisRateLimiter]:
    """A limiter pointed at a port where nothing listens."""
    limiter = RedisRateLimiter.from_url(CLOSED_URL, timeout=0.5)
    try:
        yield limiter
    finally:
        await limiter.aclose()


# --- keys, limits and real TTLs ----------------------------------------------------------


async def test_the_counter_is_a_key_under_the_prefix_with_the_window_as_ttl(
    limiter: RedisRateLimiter,
) -> None:
    await limiter.hit("login:alice", limit=3, window=SECOND)
    await limiter.hit("login:alice", limit=3, window=SECOND)

    redis_key = limiter.redis_key("login:alice")
    assert redis_key == f"{limiter.prefix}ratelimit:login:alice"
    async with raw_redis() as client:
        assert await client.get(redis_key) == b"2"
        assert 800 < await client.pttl(redis_key) <= 1000
        assert await keys_with_prefix(client, limiter.prefix) == [redis_key.encode()]


async def test_the_default_prefix_is_afisha() -> None:
    # from_url connects lazily: nothing is sent to the (absent) server here.
    async with RedisRateLimiter.from_url(CLOSED_URL) as limiter:
        assert limiter.prefix == "afisha:"
        assert limiter.redis_key("k") == "afisha:ratelimit:k"


BAD_OPTIONS: dict[str, Callable[[], object]] = {
    "timeout must be positive": lambda: RedisRateLimiter.from_url(CLOSED_URL, timeout=0),
    "retries must not be negative": lambda: RedisRateLimiter.from_url(CLOSED_URL, retries=-1),
    "max_connections must be at least 1": lambda: RedisRateLimiter.from_url(
        CLOSED_URL, max_connections=0
    ),
}


@pytest.mark.parametrize(("message", "build"), BAD_OPTIONS.items())
def test_from_url_refuses_bad_options(message: str, build: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=message):
        build()


async def test_limits_and_expiry_with_a_real_ttl(limiter: RedisRateLimiter) -> None:
    window = timedelta(milliseconds=600)
    results = [await limiter.hit("k", limit=2, window=window) for _ in range(3)]
    assert [(r.allowed, r.count) for r in results] == [(True, 1), (True, 2), (False, 3)]
    assert timedelta(milliseconds=400) < results[2].retry_after <= window
    assert not (await limiter.peek("k", limit=2, window=window)).allowed

    await asyncio.sleep(0.7)

    async with raw_redis() as client:
        assert await client.exists(limiter.redis_key("k")) == 0  # gone, not just zero
    peeked = await limiter.peek("k", limit=2, window=window)
    assert (peeked.allowed, peeked.count, peeked.retry_after) == (True, 0, timedelta(0))
    again = await limiter.hit("k", limit=2, window=window)
    assert (again.allowed, again.count) == (True, 1)


async def test_retry_after_follows_the_ttl_down(limiter: RedisRateLimiter) -> None:
    window = timedelta(milliseconds=800)
    await limiter.hit("k", limit=1, window=window)
    first = await limiter.hit("k", limit=1, window=window)
    await asyncio.sleep(0.3)
    later = await limiter.hit("k", limit=1, window=window)
    peeked = await limiter.peek("k", limit=1, window=window)

    assert timedelta(milliseconds=700) < first.retry_after <= window
    assert later.retry_after <= first.retry_after - timedelta(milliseconds=250)
    assert timedelta(0) < peeked.retry_after <= later.retry_after


async def test_a_later_hit_with_another_window_does_not_move_the_end(
    limiter: RedisRateLimiter,
) -> None:
    await limiter.hit("k", limit=5, window=timedelta(seconds=30))
    await limiter.hit("k", limit=5, window=timedelta(milliseconds=100))
    await limiter.hit("k", limit=5, window=timedelta(hours=2))

    async with raw_redis() as client:
        assert 29_000 < await client.pttl(limiter.redis_key("k")) <= 30_000


async def test_reset_deletes_the_key(limiter: RedisRateLimiter) -> None:
    await limiter.hit("k", limit=1, window=SECOND)
    await limiter.reset("k")
    async with raw_redis() as client:
        assert await client.exists(limiter.redis_key("k")) == 0


@pytest.mark.parametrize(
    ("limit", "window", "message"),
    [
        (0, SECOND, "limit must be at least 1"),
        (-1, SECOND, "limit must be at least 1"),
        (1, timedelta(0), "window must be positive"),
        (1, -SECOND, "window must be positive"),
    ],
)
async def test_a_bad_limit_or_window_is_a_value_error_and_writes_nothing(
    limiter: RedisRateLimiter, limit: int, window: timedelta, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await limiter.hit("k", limit=limit, window=window)
    with pytest.raises(ValueError, match=message):
        await limiter.peek("k", limit=limit, window=window)
    async with raw_redis() as client:
        assert await keys_with_prefix(client, limiter.prefix) == []


async def test_a_window_shorter_than_a_millisecond_still_expires(
    limiter: RedisRateLimiter,
) -> None:
    # The window is rounded up to a whole millisecond: the key still expires.
    result = await limiter.hit("k", limit=1, window=timedelta(microseconds=10))
    assert (result.allowed, result.count) == (True, 1)
    await asyncio.sleep(0.01)
    async with raw_redis() as client:
        assert await client.exists(limiter.redis_key("k")) == 0


# --- atomicity -----------------------------------------------------------------------


async def test_100_concurrent_hits_are_counted_exactly(limiter: RedisRateLimiter) -> None:
    results = await asyncio.gather(
        *(limiter.hit("burst", limit=25, window=10 * SECOND) for _ in range(100))
    )

    assert sorted(r.count for r in results) == list(range(1, 101))
    assert sum(r.allowed for r in results) == 25
    async with raw_redis() as client:
        assert await client.get(limiter.redis_key("burst")) == b"100"
        assert await client.pttl(limiter.redis_key("burst")) > 9_000


async def test_every_key_has_a_ttl_after_concurrent_hits(limiter: RedisRateLimiter) -> None:
    keys = [f"k{i}" for i in range(20)]
    await asyncio.gather(
        *(limiter.hit(key, limit=3, window=10 * SECOND) for _ in range(10) for key in keys)
    )

    async with raw_redis() as client:
        found = await keys_with_prefix(client, limiter.prefix)
        assert sorted(found) == sorted(limiter.redis_key(k).encode() for k in keys)
        for key in found:
            assert await client.get(key) == b"10"
            assert await client.pttl(key) > 0, key  # -1 would be a key without expiry


async def test_hits_cancelled_midway_never_leave_a_key_without_expiry(
    limiter: RedisRateLimiter,
) -> None:
    # Cancelling a request mid-flight (a client disconnecting) at every point in
    # turn: with a separate INCR then EXPIRE, some task would be cancelled between
    # the two and leave a counter that never expires.
    hits = [
        asyncio.create_task(limiter.hit(f"k{i}", limit=3, window=10 * SECOND)) for i in range(200)
    ]
    for task in hits:
        await asyncio.sleep(0)
        task.cancel()
    outcomes = await asyncio.gather(*hits, return_exceptions=True)

    assert any(isinstance(o, asyncio.CancelledError) for o in outcomes)
    async with raw_redis() as client:
        found = await keys_with_prefix(client, limiter.prefix)
        assert found  # some scripts did run before their task was cancelled
        assert [k for k in found if await client.pttl(k) < 0] == []


# --- deployments -----------------------------------------------------------------------


async def test_prefixes_isolate_deployments() -> None:
    async with redis_limiter() as blue, redis_limiter() as green:
        for _ in range(3):
            await blue.hit("login:alice", limit=2, window=10 * SECOND)
        green_hit = await green.hit("login:alice", limit=2, window=10 * SECOND)
        await green.reset("login:alice")
        blue_peek = await blue.peek("login:alice", limit=2, window=10 * SECOND)

        assert (green_hit.allowed, green_hit.count) == (True, 1)
        assert (blue_peek.allowed, blue_peek.count) == (False, 3)
        async with raw_redis() as client:
            assert await keys_with_prefix(client, green.prefix) == []
            assert await keys_with_prefix(client, blue.prefix) == [
                blue.redis_key("login:alice").encode()
            ]


# --- Redis away ------------------------------------------------------------------------

Call = Callable[[RedisRateLimiter], Awaitable[object]]
CALLS: dict[str, Call] = {
    "hit": lambda lim: lim.hit("k", limit=1, window=SECOND),
    "peek": lambda lim: lim.peek("k", limit=1, window=SECOND),
    "reset": lambda lim: lim.reset("k"),
    "ping": lambda lim: lim.ping(),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
async def test_a_closed_port_is_a_quick_typed_unavailable_error(
    down: RedisRateLimiter, call: Call
) -> None:
    started = time.monotonic()
    with pytest.raises(RateLimiterUnavailable) as caught:
        await call(down)

    assert time.monotonic() - started < 1.0
    assert isinstance(caught.value, ServiceUnavailable)
    assert caught.value.service == "rate limiter"
    assert caught.value.status == 503
    assert isinstance(caught.value.__cause__, RedisError)


async def test_a_server_that_never_answers_times_out_into_the_typed_error() -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accept the connection, read everything, answer nothing
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limiter = RedisRateLimiter.from_url(
        f"redis://127.0.0.1:{port}/0", timeout=0.2, retries=0, client_name=None
    )
    try:
        started = time.monotonic()
        with pytest.raises(RateLimiterUnavailable):
            await limiter.hit("k", limit=1, window=SECOND)
        assert 0.15 < time.monotonic() - started < 1.0
    finally:
        await limiter.aclose()
        server.close()
        await server.wait_closed()


async def test_connections_killed_by_the_server_are_replaced() -> None:
    # What a Redis restart does to the pooled connections: the next call still works.
    name = f"afisha-test-{uuid.uuid4().hex[:12]}"
    async with redis_limiter(client_name=name) as limiter, raw_redis() as client:
        await limiter.hit("k", limit=5, window=10 * SECOND)
        ours = [c["id"] for c in await client.client_list() if c["name"] == name]
        assert ours, f"no connection named {name}"
        for client_id in ours:  # only the limiter's: other tests share this server
            await client.client_kill_filter(_id=client_id)

        result = await limiter.hit("k", limit=5, window=10 * SECOND)

        assert (result.allowed, result.count) == (True, 2)
        assert [c for c in await client.client_list() if c["name"] == name]


# --- the use cases on a dead limiter ------------------------------------------------------


def afisha_with(limiter: RateLimiter, db: InMemoryDatabase) -> Afisha:
    """The core on in-memory adapters around ``limiter``."""
    return Afisha(
        uow=db,
        hasher=FastPasswordHasher(),
        limiter=limiter,
        storage=InMemoryObjectStorage(),
        mailer=RecordingMailer(),
        clock=FakeClock(),
    )


async def pending_outbox(db: InMemoryDatabase) -> int:
    """How many messages wait in the outbox (read in a unit of work never committed)."""
    far = FakeClock.DEFAULT_START + timedelta(days=3650)
    async with db() as uow:
        return len(await uow.outbox.claim_due(far, far, 10_000))


async def test_registration_fails_closed_when_redis_is_down(down: RedisRateLimiter) -> None:
    db = InMemoryDatabase()

    with pytest.raises(ServiceUnavailable) as caught:
        await afisha_with(down, db).accounts.register(
            "ann@example.org", "ann", "Ann", "correct horse battery"
        )

    assert isinstance(caught.value, RateLimiterUnavailable)
    assert await pending_outbox(db) == 0
    # The same call with Redis up does write the code email: the check above can fail.
    async with redis_limiter() as up:
        await afisha_with(up, db).accounts.register(
            "ann@example.org", "ann", "Ann", "correct horse battery"
        )
    assert await pending_outbox(db) == 1


async def test_recovery_and_login_fail_closed_but_listing_events_works(
    down: RedisRateLimiter,
) -> None:
    db = InMemoryDatabase()
    afisha = afisha_with(down, db)
    admin = await afisha.accounts.create_administrator(
        "root@example.org", "root", "correct horse battery"
    )

    with pytest.raises(RateLimiterUnavailable):
        await afisha.recovery.request(admin.email)
    with pytest.raises(RateLimiterUnavailable):
        await afisha.sessions.login("root", "correct horse battery")

    assert await pending_outbox(db) == 0
    page = await afisha.events.list_events(None)  # nothing rate limited: still served
    assert list(page.items) == []
