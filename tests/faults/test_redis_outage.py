"""Redis, where the rate-limit counters live, dies and comes back.

The app runs with the real :class:`~afisha_redis.RedisRateLimiter` on a private
``redis-server`` (the shared one serves other tests). While it is down, the endpoints
that count attempts (login, registration, recovery) fail closed with 503 and
``Retry-After`` and change nothing; everything else works; ``/readyz`` names the rate
limiter. When the same server is started again, the app recovers without a restart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from afisha_redis import RedisRateLimiter
from tests.faults._servers import RedisProcess
from tests.security._stack import PASSWORD, Account, Stack, open_sqlite_stack, sqlite_snapshot


@pytest.fixture
def redis_server() -> Iterator[RedisProcess]:
    """A private Redis, started."""
    server = RedisProcess()
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
async def stack(tmp_path: Path, redis_server: RedisProcess) -> AsyncIterator[Stack]:
    """The app on SQLite, counting attempts in the private Redis."""
    limiter = RedisRateLimiter.from_url(redis_server.url, timeout=1.0, prefix="faults:")
    try:
        async with open_sqlite_stack(
            tmp_path / "afisha.db",
            rate_limiter=limiter,
            checks={"rate_limiter": limiter.ping},
        ) as opened:
            yield opened
    finally:
        await limiter.aclose()


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "service_unavailable"
    assert int(response.headers["retry-after"]) >= 1


async def limited_calls(stack: Stack, who: Account) -> list[httpx.Response]:
    """One call of each endpoint that counts attempts."""
    client = stack.client
    return [
        await stack.login(who.username),
        await stack.login("nobody_at_all", "whatever it is"),
        await client.post(
            "/v1/registrations",
            json={
                "email": "during@example.org",
                "username": "during",
                "full_name": "During",
                "password": PASSWORD,
            },
        ),
        await client.post("/v1/password-recovery", json={"email": who.email}),
    ]


async def test_a_redis_outage_fails_the_limited_endpoints_closed_and_nothing_else(
    stack: Stack, redis_server: RedisProcess, tmp_path: Path
) -> None:
    client = stack.client
    admin, user = await stack.admin(), await stack.register()
    event = await stack.create_event(admin)
    pending = await client.post(
        "/v1/registrations",
        json={"email": "early@example.org", "username": "early", "full_name": "E",
              "password": PASSWORD},
    )  # fmt: skip
    assert pending.status_code == 202
    code = await stack.code_for("early@example.org")
    assert (await client.get("/readyz")).status_code == 200

    redis_server.kill()

    before = sqlite_snapshot(tmp_path / "afisha.db")
    for response in await limited_calls(stack, user):
        assert_unavailable(response)
    assert sqlite_snapshot(tmp_path / "afisha.db") == before
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert "rate_limiter" in ready.text
    working: list[tuple[str, str, dict[str, Any], int]] = [
        ("GET", "/healthz", {}, 200),
        ("GET", "/v1/events", {}, 200),
        ("GET", "/v1/users/me", {"headers": user.headers}, 200),
        ("PUT", f"/v1/events/{event['id']}/participation", {"headers": user.headers}, 200),
        ("GET", "/v1/notifications", {"headers": user.headers}, 200),
        ("POST", "/v1/events", {"headers": admin.headers, "json": {
            "name": "During the outage", "starts_at": "2030-03-01T10:00:00+00:00",
            "ends_at": "2030-03-01T11:00:00+00:00"}}, 201),
        ("POST", f"/v1/registrations/{pending.json()['registration_token']}/confirm",
         {"json": {"code": code}}, 201),
        ("DELETE", "/v1/sessions/current", {"headers": user.headers}, 204),
    ]  # fmt: skip
    for method, url, kwargs, status in working:
        response = await client.request(method, url, **kwargs)
        assert response.status_code == status, (method, url, response.text)

    redis_server.start()

    assert (await client.get("/readyz")).status_code == 200
    statuses = [r.status_code for r in await limited_calls(stack, user)]
    assert statuses == [201, 401, 202, 202]
    assert await stack.code_for("during@example.org")


async def test_the_limits_apply_again_once_redis_is_back_with_fresh_counters(
    stack: Stack, redis_server: RedisProcess
) -> None:
    # Redis without persistence forgets its counters when it restarts (docs/security.md).
    user = await stack.register()
    for i in range(5):
        assert (await stack.login(user.username, f"wrong {i}")).status_code == 401
    redis_server.kill()
    assert_unavailable(await stack.login(user.username, "wrong again"))

    redis_server.start()

    statuses = [(await stack.login(user.username, f"wrong {i}")).status_code for i in range(11)]
    assert statuses == [401] * 10 + [429]
