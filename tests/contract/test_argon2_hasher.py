"""The PasswordHasher contract against argon2id, plus its parameters and threading."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence

import argon2
import pytest

from afisha_argon2 import Argon2PasswordHasher
from afisha_core.ports import PasswordHasher
from afisha_core.testing.contracts.password_hasher import MALFORMED_HASHES, PasswordHasherContract

PASSWORD = "s3cret-Passw0rd"


class TestArgon2PasswordHasher(PasswordHasherContract):
    """The production parameters: argon2id, 19 MiB, two passes, one lane."""

    @pytest.fixture
    def hasher(self) -> PasswordHasher:
        return Argon2PasswordHasher()


@pytest.fixture
def hasher() -> Argon2PasswordHasher:
    return Argon2PasswordHasher()


async def test_the_hash_is_argon2id_with_the_documented_parameters(
    hasher: Argon2PasswordHasher,
) -> None:
    password_hash = await hasher.hash(PASSWORD)

    assert password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    params = argon2.extract_parameters(password_hash)
    assert (params.type, params.memory_cost, params.time_cost, params.parallelism) == (
        argon2.Type.ID,
        19456,
        2,
        1,
    )
    assert (params.salt_len, params.hash_len) == (16, 32)


async def test_parameters_can_be_overridden() -> None:
    light = Argon2PasswordHasher(memory_cost=8192, time_cost=1, parallelism=2)

    password_hash = await light.hash(PASSWORD)

    assert password_hash.startswith("$argon2id$v=19$m=8192,t=1,p=2$")
    assert await light.verify(password_hash, PASSWORD) is True
    assert light.needs_rehash(password_hash) is False


@pytest.mark.parametrize(
    "other",
    [
        {"memory_cost": 8192},
        {"time_cost": 3},
        {"parallelism": 2},
        {"salt_len": 8},
        {"hash_len": 16},
    ],
    ids=["memory_cost", "time_cost", "parallelism", "salt_len", "hash_len"],
)
async def test_a_hash_made_with_other_parameters_needs_a_rehash_and_still_verifies(
    hasher: Argon2PasswordHasher, other: dict[str, int]
) -> None:
    old_hash = await Argon2PasswordHasher(**other).hash(PASSWORD)

    assert hasher.needs_rehash(old_hash) is True
    assert await hasher.verify(old_hash, PASSWORD) is True
    assert await hasher.verify(old_hash, PASSWORD + "!") is False


async def test_an_argon2i_hash_of_the_same_cost_needs_a_rehash(
    hasher: Argon2PasswordHasher,
) -> None:
    argon2i = argon2.PasswordHasher(
        time_cost=2, memory_cost=19456, parallelism=1, type=argon2.Type.I
    ).hash(PASSWORD)

    assert hasher.needs_rehash(argon2i) is True
    assert await hasher.verify(argon2i, PASSWORD) is True


@pytest.mark.parametrize("malformed", MALFORMED_HASHES)
def test_an_unreadable_hash_needs_a_rehash(hasher: Argon2PasswordHasher, malformed: str) -> None:
    assert hasher.needs_rehash(malformed) is True


async def test_a_password_with_a_lone_surrogate_is_hashed_not_refused(
    hasher: Argon2PasswordHasher,
) -> None:
    # JSON can carry "\ud800"; it must not turn a login into a 500.
    password = "abc\ud800def"

    password_hash = await hasher.hash(password)

    assert await hasher.verify(password_hash, password) is True
    assert await hasher.verify(password_hash, "abc\ud801def") is False


async def test_the_hash_of_a_plain_password_is_standard_utf8_argon2(
    hasher: Argon2PasswordHasher,
) -> None:
    # Any argon2 implementation (here argon2-cffi used directly) verifies our hashes.
    password = "пароль-Ёжик-2024"
    password_hash = await hasher.hash(password)
    assert argon2.PasswordHasher().verify(password_hash, password.encode("utf-8"))


# --- the event loop keeps running --------------------------------------------------------


def _blocking_hash_seconds() -> float:
    """How long one hash with the production parameters holds the calling thread."""
    direct = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
    started = time.perf_counter()
    direct.hash(PASSWORD)
    return time.perf_counter() - started


async def _ticks_during(work: Callable[[], Awaitable[object]]) -> tuple[list[float], float]:
    """Run ``work`` beside a 1 ms ticker; return the gaps between ticks and the duration."""
    ticks: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.005)
    started = time.perf_counter()
    await work()
    finished = time.perf_counter()
    stop.set()
    await task
    during = [started, *(t for t in ticks if started < t < finished), finished]
    return [b - a for a, b in itertools.pairwise(during)], finished - started


def _assert_kept_ticking(gaps: Sequence[float], duration: float, one_hash: float) -> None:
    # Blocking the loop, four hashes would leave a tick or two between them, each gap
    # as long as a hash. In threads the ticker keeps (roughly) its pace; the bounds are
    # loose because the hashing threads compete with the loop for the CPUs.
    assert duration > one_hash  # the work really took the time of hashing
    assert len(gaps) >= 10, f"only {len(gaps) - 1} ticks in {duration:.3f}s"
    assert statistics.median(gaps) < one_hash / 4, f"ticks every {statistics.median(gaps)}s"


async def test_hashing_does_not_block_the_event_loop(hasher: Argon2PasswordHasher) -> None:
    one_hash = _blocking_hash_seconds()
    hashes: list[str] = []

    async def hash_four() -> None:
        hashes.extend(await asyncio.gather(*(hasher.hash(f"pw-{i}") for i in range(4))))

    gaps, duration = await _ticks_during(hash_four)

    assert len(set(hashes)) == 4
    _assert_kept_ticking(gaps, duration, one_hash)


async def test_verifying_does_not_block_the_event_loop(hasher: Argon2PasswordHasher) -> None:
    hashes = [await hasher.hash(f"pw-{i}") for i in range(4)]
    one_hash = _blocking_hash_seconds()
    verdicts: list[bool] = []

    async def verify_four() -> None:
        verdicts.extend(
            await asyncio.gather(*(hasher.verify(h, f"pw-{i}") for i, h in enumerate(hashes)))
        )

    gaps, duration = await _ticks_during(verify_four)

    assert verdicts == [True] * 4
    _assert_kept_ticking(gaps, duration, one_hash)
