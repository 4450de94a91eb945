"""Account enumeration: nothing an anonymous caller sees tells whether an email has an account.

Login, registration and recovery are each tried with an address (or login) that has a
live account, one that never had one, and one whose account was deleted. The answers
must be identical in status, headers and body, and take about the same time: the
timing runs use the real argon2id hasher (a fake one would make every path instant),
interleave the kinds of attempt so drift hits them alike, and compare medians with a
generous bound. Usernames are public by design (profiles show them), so a taken
username may say so; emails never do.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from afisha_argon2 import Argon2PasswordHasher
from afisha_core.settings import Limit, Settings
from tests.security._stack import PASSWORD, Stack, open_sqlite_stack

ROUNDS = 15
#: Limits out of the way: the timing runs repeat one attempt many times.
UNLIMITED = Limit(count=1_000_000, window=timedelta(hours=1))
VOLATILE_HEADERS = {"x-request-id", "date"}


@pytest.fixture
async def argon_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """The app on SQLite with the production hasher and no rate limits in the way."""
    settings = Settings(
        registrations_per_email=UNLIMITED,
        recoveries_per_email=UNLIMITED,
        login_attempts_per_account=UNLIMITED,
        login_attempts_per_address=UNLIMITED,
        mail_requests_per_address=UNLIMITED,
    )
    async with open_sqlite_stack(
        tmp_path / "afisha.db", hasher=Argon2PasswordHasher(), settings=settings
    ) as stack:
        yield stack


def answer(response: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    """What a client observes, minus what differs on every response anyway."""
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE_HEADERS}
    return response.status_code, headers, response.content


async def timed(
    kinds: dict[str, Callable[[int], Awaitable[httpx.Response]]], rounds: int = ROUNDS
) -> tuple[dict[str, float], dict[str, set[Any]]]:
    """Median seconds per kind of attempt, and the distinct answers each kind got."""
    samples: dict[str, list[float]] = {kind: [] for kind in kinds}
    answers: dict[str, set[Any]] = {kind: set() for kind in kinds}
    for attempt in range(rounds):
        for kind, send in kinds.items():
            started = time.perf_counter()
            response = await send(attempt)
            samples[kind].append(time.perf_counter() - started)
            status, headers, body = answer(response)
            answers[kind].add((status, tuple(sorted(headers.items())), body))
    return {kind: statistics.median(s) for kind, s in samples.items()}, answers


def assert_alike(medians: dict[str, float], *, floor: float) -> None:
    """Medians within ``floor`` seconds, or within half of the fastest when that is more.

    Generous on purpose: a shared CI machine is noisy, and what matters is the absence
    of a gap the size of a password hash (tens of milliseconds), not microseconds.
    """
    fastest, slowest = min(medians.values()), max(medians.values())
    bound = max(floor, fastest / 2)
    assert slowest - fastest < bound, {k: f"{v * 1000:.2f} ms" for k, v in medians.items()}


async def deleted_account(stack: Stack) -> Any:
    gone = await stack.register()
    response = await stack.client.request(
        "DELETE", "/v1/users/me", json={"password": PASSWORD}, headers=gone.headers
    )
    assert response.status_code == 204
    return gone


# --- login ----------------------------------------------------------------------------


async def test_login_answers_alike_and_as_slowly_for_unknown_wrong_and_deleted(
    argon_stack: Stack,
) -> None:
    stack = argon_stack
    alive, gone = await stack.register(), await deleted_account(stack)

    medians, answers = await timed(
        {
            "unknown user": lambda i: stack.login(f"nobody_{i}", PASSWORD),
            "unknown email": lambda i: stack.login(f"nobody{i}@example.org", PASSWORD),
            "wrong password": lambda i: stack.login(alive.username, f"wrong password {i}"),
            "deleted user": lambda i: stack.login(gone.username, PASSWORD),
            "deleted email": lambda i: stack.login(gone.email, PASSWORD),
        }
    )

    distinct = set().union(*answers.values())
    assert len(distinct) == 1, distinct
    assert next(iter(distinct))[0] == 401
    # Every path verifies one argon2id hash (~20 ms here); a gap that size would show.
    assert_alike(medians, floor=0.01)


# --- registration ---------------------------------------------------------------------


async def test_registration_answers_alike_and_as_slowly_for_new_and_taken_emails(
    argon_stack: Stack,
) -> None:
    stack = argon_stack
    alive, gone = await stack.register(), await deleted_account(stack)

    def register(email: Callable[[int], str], tag: str) -> Callable[[int], Any]:
        async def send(i: int) -> httpx.Response:
            response = await stack.client.post(
                "/v1/registrations",
                json={
                    "email": email(i),
                    "username": f"{tag}_{i}",
                    "full_name": "Someone",
                    "password": PASSWORD,
                },
            )
            # The token differs every time; its shape must not.
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                json={k: len(v) for k, v in response.json().items()},
            )

        return send

    medians, answers = await timed(
        {
            "new email": register(lambda i: f"fresh{i}@example.org", "fresh"),
            "taken email": register(lambda _: alive.email, "taker"),
            "freed email": register(lambda _: gone.email, "freed"),
        }
    )

    distinct = {(status, body) for a in answers.values() for status, _, body in a}
    assert len(distinct) == 1, distinct
    assert next(iter(distinct))[0] == 202
    assert_alike(medians, floor=0.01)


async def test_a_registration_of_a_taken_email_fails_like_a_wrong_code(stack: Stack) -> None:
    owner = await stack.register()
    mailed_before = len(stack.sent)

    async def start(email: str, username: str) -> str:
        response = await stack.client.post(
            "/v1/registrations",
            json={"email": email, "username": username, "full_name": "X", "password": PASSWORD},
        )
        assert response.status_code == 202
        token: str = response.json()["registration_token"]
        return token

    taken = await start(owner.email, "impostor")
    fresh = await start("fresh@example.org", "fresh")
    code = await stack.code_for("fresh@example.org")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    answers = []
    for _ in range(6):
        pair = [
            await stack.client.post(f"/v1/registrations/{t}/confirm", json={"code": wrong})
            for t in (taken, fresh)
        ]
        answers.append([answer(r)[::2] for r in pair])

    for taken_answer, fresh_answer in answers:
        assert taken_answer == fresh_answer
    assert [a[0][0] for a in answers] == [422, 422, 422, 422, 409, 409]
    notices = [m for m in stack.sent[mailed_before:] if m.to == owner.email]
    assert notices, "the owner of the email is told someone tried to register it"
    assert all("verification code is" not in m.text for m in notices)


async def test_the_registration_limit_counts_taken_and_new_emails_alike(stack: Stack) -> None:
    owner = await stack.register()
    stack.clock.advance(stack.settings.registrations_per_email.window)  # forget its own

    async def attempts(email: str, tag: str) -> list[int]:
        statuses = []
        for i in range(4):
            response = await stack.client.post(
                "/v1/registrations",
                json={
                    "email": email,
                    "username": f"{tag}_{i}",
                    "full_name": "X",
                    "password": PASSWORD,
                },
            )
            statuses.append(response.status_code)
        return statuses

    assert await attempts(owner.email, "taken") == await attempts("new@example.org", "new")
    assert await attempts("other@example.org", "other") == [202, 202, 202, 429]


# --- recovery -------------------------------------------------------------------------


def recovery_kinds(
    stack: Stack, alive: Any, gone: Any
) -> dict[str, Callable[[int], Awaitable[httpx.Response]]]:
    def ask(email: Callable[[int], str]) -> Callable[[int], Awaitable[httpx.Response]]:
        return lambda i: stack.client.post("/v1/password-recovery", json={"email": email(i)})

    return {
        "known": ask(lambda _: alive.email),
        "known, other case": ask(lambda _: alive.email.upper()),
        "unknown": ask(lambda i: f"nobody{i}@example.org"),
        "deleted": ask(lambda _: gone.email),
    }


async def test_recovery_answers_alike_for_known_unknown_and_deleted_emails(
    argon_stack: Stack,
) -> None:
    stack = argon_stack
    alive, gone = await stack.register(), await deleted_account(stack)

    _, answers = await timed(recovery_kinds(stack, alive, gone), rounds=5)

    distinct = set().union(*answers.values())
    assert len(distinct) == 1, distinct
    assert next(iter(distinct))[0] == 202


async def test_recovery_takes_as_long_for_known_and_unknown_emails(tmp_path: Path) -> None:
    # Commits are made 30 ms slower, as on a loaded database: whatever commits on one
    # path and not on the other then shows plainly, not lost in the machine's noise.
    settings = Settings(recoveries_per_email=UNLIMITED)
    async with open_sqlite_stack(
        tmp_path / "afisha.db", slow_commits=0.03, settings=settings
    ) as stack:
        alive, gone = await stack.register(), await deleted_account(stack)

        medians, _ = await timed(recovery_kinds(stack, alive, gone), rounds=7)

    assert_alike(medians, floor=0.01)


async def test_recovery_past_its_limit_answers_the_same_and_mails_nothing_more(
    stack: Stack,
) -> None:
    alive = await stack.register()
    await stack.deliver()

    statuses = [
        (await stack.client.post("/v1/password-recovery", json={"email": email})).status_code
        for email in [alive.email] * 5 + ["nobody@example.org"] * 5
    ]

    assert statuses == [202] * 10
    mailed = [m for m in await stack.deliver() if m.to == alive.email]
    assert len(mailed) == stack.settings.recoveries_per_email.count
