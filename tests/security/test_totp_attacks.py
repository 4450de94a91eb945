"""Attacks on two-factor login: guessing codes with a stolen password, and replaying codes.

The attacker here knows the victim's password. Every wrong code is counted by the
same per-account limit as a wrong password (10 per 15 minutes, whatever the address),
and a code, or a recovery code, is accepted once: replayed later or sent many times
at once, it opens one session at most.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp

from tests.security._stack import PASSWORD, Account, Stack, sqlite_text_cells

ACCOUNT_LIMIT = 10
STEP = timedelta(seconds=30)


async def with_totp(stack: Stack) -> tuple[Account, str, list[str]]:
    """A victim with TOTP on; time is one step past the confirmation."""
    victim = await stack.register()
    enrolled = await stack.client.post(
        "/v1/users/me/totp", json={"password": PASSWORD}, headers=victim.headers
    )
    assert enrolled.status_code == 201, enrolled.text
    secret = enrolled.json()["secret"]
    confirmed = await stack.client.post(
        "/v1/users/me/totp/confirm",
        json={"code": pyotp.TOTP(secret).at(stack.clock.now())},
        headers=victim.headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    stack.clock.advance(STEP)
    return victim, secret, confirmed.json()["recovery_codes"]


def body(victim: Account, code: str | None) -> dict[str, Any]:
    sent: dict[str, Any] = {"login": victim.username, "password": PASSWORD}
    if code is not None:
        sent["totp_code"] = code
    return sent


async def test_guessing_codes_with_the_password_hits_the_account_limit(stack: Stack) -> None:
    victim, secret, _ = await with_totp(stack)
    stack.clock.advance(timedelta(minutes=15))  # enrolling counted too: a fresh window
    right = pyotp.TOTP(secret).at(stack.clock.now())
    guesses = [f"{n:06d}" for n in range(20) if f"{n:06d}" != right][:ACCOUNT_LIMIT]

    statuses = []
    for i, guess in enumerate(guesses):
        async with stack.from_address(f"198.51.100.{i}") as client:
            response = await client.post("/v1/sessions", json=body(victim, guess))
            statuses.append((response.status_code, response.json()["code"]))
    async with stack.from_address("203.0.113.50") as client:
        after = await client.post("/v1/sessions", json=body(victim, right))

    assert statuses == [(401, "invalid_totp")] * ACCOUNT_LIMIT
    assert after.status_code == 429
    # At 10 guesses per 15 minutes against 3 valid codes in a million, a year of
    # guessing succeeds with probability about 10 * 4 * 24 * 365 * 3e-6 ≈ 1 %.


async def test_parallel_code_guesses_cannot_slip_past_the_limit(stack: Stack) -> None:
    victim, secret, _ = await with_totp(stack)
    stack.clock.advance(timedelta(minutes=15))
    right = pyotp.TOTP(secret).at(stack.clock.now())
    guesses = [f"{n:06d}" for n in range(100) if f"{n:06d}" != right][:40]

    async def guess(i: int, code: str) -> int:
        async with stack.from_address(f"198.51.100.{i}") as client:
            return (await client.post("/v1/sessions", json=body(victim, code))).status_code

    statuses = await asyncio.gather(*(guess(i, c) for i, c in enumerate(guesses)))
    assert statuses.count(401) == ACCOUNT_LIMIT
    assert statuses.count(429) == len(guesses) - ACCOUNT_LIMIT


async def test_a_code_seen_once_cannot_be_replayed(stack: Stack) -> None:
    victim, secret, _ = await with_totp(stack)
    code = pyotp.TOTP(secret).at(stack.clock.now())
    first = await stack.client.post("/v1/sessions", json=body(victim, code))
    assert first.status_code == 201
    for address, later in (("192.0.2.1", timedelta(0)), ("192.0.2.2", timedelta(seconds=29))):
        stack.clock.advance(later)
        async with stack.from_address(address) as client:
            replay = await client.post("/v1/sessions", json=body(victim, code))
        assert replay.status_code == 401
        assert replay.json()["code"] == "invalid_totp"


async def test_one_code_sent_many_times_at_once_opens_one_session(stack: Stack) -> None:
    victim, secret, _ = await with_totp(stack)
    code = pyotp.TOTP(secret).at(stack.clock.now())

    async def attempt(i: int) -> httpx.Response:
        async with stack.from_address(f"198.51.100.{i}") as client:
            return await client.post("/v1/sessions", json=body(victim, code))

    responses = await asyncio.gather(*(attempt(i) for i in range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [401] * 7


async def test_one_recovery_code_sent_many_times_at_once_opens_one_session(stack: Stack) -> None:
    victim, _, codes = await with_totp(stack)

    async def attempt(i: int) -> int:
        async with stack.from_address(f"198.51.100.{i}") as client:
            return (await client.post("/v1/sessions", json=body(victim, codes[0]))).status_code

    statuses = sorted(await asyncio.gather(*(attempt(i) for i in range(8))))
    assert statuses == [201] + [401] * 7


async def test_without_a_code_the_password_alone_opens_nothing(stack: Stack) -> None:
    victim, _, _ = await with_totp(stack)
    response = await stack.client.post("/v1/sessions", json=body(victim, None))
    assert response.status_code == 401
    assert response.json()["code"] == "totp_required"
    assert "token" not in response.text


async def test_recovery_codes_are_not_stored_in_the_clear(stack: Stack, db_path: Path) -> None:
    _, _, codes = await with_totp(stack)
    cells = list(sqlite_text_cells(db_path))
    for code in codes:
        for form in (code, code.replace("-", "")):
            assert not any(form in value for _, _, value in cells), form
