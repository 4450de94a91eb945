"""Guessing passwords and codes hits the limits, however the guesses are spread.

Login attempts are counted per account (10 per 15 minutes) and per client address
(50 per 15 minutes) before any password is checked; a registration dies after 5 wrong
codes and an email gets 3 registrations an hour. The tests spread guesses the way an
attacker would: over many addresses, over the spellings of one login, over many
accounts from one address, all at once, and over fresh registrations.
"""

from __future__ import annotations

import asyncio
import secrets

import httpx

from tests.security._stack import PASSWORD, Account, Stack

ACCOUNT_LIMIT = 10
ADDRESS_LIMIT = 50
CODE_LIMIT = 5


def login_body(login: str, password: str) -> dict[str, str]:
    return {"login": login, "password": password}


async def guess_from(stack: Stack, address: str, login: str, password: str) -> int:
    async with stack.from_address(address) as client:
        response = await client.post("/v1/sessions", json=login_body(login, password))
        return response.status_code


async def test_the_account_limit_holds_when_guesses_come_from_many_addresses(
    stack: Stack,
) -> None:
    victim = await stack.register()

    guesses = [
        await guess_from(stack, f"198.51.100.{i}", victim.username, f"guess number {i}")
        for i in range(ACCOUNT_LIMIT)
    ]
    right_password = await guess_from(stack, "203.0.113.9", victim.username, PASSWORD)

    assert guesses == [401] * ACCOUNT_LIMIT
    assert right_password == 429


async def test_every_spelling_of_a_login_counts_against_one_account(stack: Stack) -> None:
    victim = await stack.register()
    spellings = [
        victim.username,
        victim.email,
        victim.email.upper(),
        f"  {victim.username}  ",
        victim.username.upper(),
    ]

    statuses = [
        (await stack.login(spellings[i % len(spellings)], f"wrong guess {i}")).status_code
        for i in range(ACCOUNT_LIMIT)
    ]
    after = await stack.login(victim.email, PASSWORD)

    assert statuses == [401] * ACCOUNT_LIMIT
    assert after.status_code == 429
    assert after.json()["code"] == "rate_limited"
    assert int(after.headers["retry-after"]) >= 1


async def test_spraying_one_password_over_many_accounts_hits_the_address_limit(
    stack: Stack,
) -> None:
    accounts = [await stack.register() for _ in range(3)]
    address = "192.0.2.77"

    sprayed = [
        await guess_from(stack, address, f"someone_{i}", "Summer2030!")
        for i in range(ADDRESS_LIMIT - 2)
    ] + [await guess_from(stack, address, a.username, "Summer2030!") for a in accounts[:2]]
    blocked = await guess_from(stack, address, accounts[2].username, PASSWORD)
    elsewhere = await guess_from(stack, "192.0.2.78", accounts[2].username, PASSWORD)

    assert sprayed == [401] * ADDRESS_LIMIT
    assert blocked == 429
    assert elsewhere == 201


async def test_guesses_sent_all_at_once_are_counted_before_any_is_checked(
    stack: Stack,
) -> None:
    victim = await stack.register()

    responses = await asyncio.gather(
        *(stack.login(victim.username, f"parallel guess {i}") for i in range(40))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(401) <= ACCOUNT_LIMIT
    assert statuses.count(429) >= 40 - ACCOUNT_LIMIT
    assert set(statuses) <= {401, 429}
    assert (await stack.login(victim.username, PASSWORD)).status_code == 429


# --- verification codes ------------------------------------------------------------------


async def start_registration(stack: Stack, email: str, username: str) -> httpx.Response:
    return await stack.client.post(
        "/v1/registrations",
        json={"email": email, "username": username, "full_name": "X", "password": PASSWORD},
    )


def wrong_codes(right: str, count: int) -> list[str]:
    """``count`` distinct 6-digit codes, none of them ``right``."""
    codes: set[str] = set()
    while len(codes) < count:
        code = f"{secrets.randbelow(1_000_000):06d}"
        if code != right:
            codes.add(code)
    return sorted(codes)


async def test_codes_guessed_all_at_once_kill_the_registration_after_five(
    stack: Stack,
) -> None:
    started = await start_registration(stack, "target@example.org", "target")
    token = started.json()["registration_token"]
    right = await stack.code_for("target@example.org")

    responses = await asyncio.gather(
        *(
            stack.client.post(f"/v1/registrations/{token}/confirm", json={"code": code})
            for code in wrong_codes(right, 30)
        )
    )
    with_right_code = await stack.client.post(
        f"/v1/registrations/{token}/confirm", json={"code": right}
    )

    codes = [r.json()["code"] for r in responses]
    assert codes.count("invalid_code") == CODE_LIMIT - 1, codes
    assert codes.count("too_many_attempts") == 30 - (CODE_LIMIT - 1), codes
    assert with_right_code.status_code == 409
    assert with_right_code.json()["code"] == "too_many_attempts"
    assert (await stack.login("target")).status_code == 401


async def test_fresh_registrations_give_at_most_fifteen_guesses_an_hour(stack: Stack) -> None:
    guesses = 0
    for attempt in range(3):
        started = await start_registration(stack, "target@example.org", f"target{attempt}")
        assert started.status_code == 202
        token = started.json()["registration_token"]
        right = await stack.code_for("target@example.org")
        for code in wrong_codes(right, 6):
            response = await stack.client.post(
                f"/v1/registrations/{token}/confirm", json={"code": code}
            )
            guesses += response.json()["code"] == "invalid_code"

    fourth = await start_registration(stack, "target@example.org", "target3")

    assert guesses == 3 * (CODE_LIMIT - 1)
    assert fourth.status_code == 429
    assert fourth.json()["code"] == "rate_limited"


async def test_recovery_tokens_cannot_be_guessed(stack: Stack) -> None:
    victim: Account = await stack.register()
    await stack.client.post("/v1/password-recovery", json={"email": victim.email})

    statuses = {
        (
            await stack.client.post(
                f"/v1/password-recovery/{secrets.token_urlsafe(32)}",
                json={"password": "attacker's new pw"},
            )
        ).status_code
        for _ in range(30)
    }

    assert statuses == {404}
    assert (await stack.login(victim.username, PASSWORD)).status_code == 201
