"""Behaviour of the fakes beyond their ports' contracts: the handles tests use."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from afisha_core.domain import Email
from afisha_core.errors import PermanentDeliveryError, TemporaryDeliveryError
from afisha_core.testing import (
    FakeClock,
    FastPasswordHasher,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
    RecordingMailer,
    RecordingTokenGenerator,
)

# --- the package ---------------------------------------------------------------------------


def test_importing_the_testing_package_needs_neither_pytest_nor_hypothesis() -> None:
    code = (
        "import sys, afisha_core.testing; "
        "bad = sorted({'pytest', 'hypothesis', '_pytest'} & set(sys.modules)); "
        "assert not bad, bad"
    )
    completed = subprocess.run(  # noqa: S603  # a fixed command line, no user input
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr


# --- FakeClock ---------------------------------------------------------------------------


def test_fake_clock_starts_at_a_fixed_instant_and_stands_still() -> None:
    clock = FakeClock()
    assert clock.now() == FakeClock.DEFAULT_START
    assert clock.now() == clock.now()
    assert FakeClock().now() == clock.now()


def test_fake_clock_starts_where_told() -> None:
    start = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert FakeClock(start).now() == start


def test_fake_clock_advances() -> None:
    clock = FakeClock(datetime(2024, 5, 1, 10, 30, tzinfo=UTC))

    returned = clock.advance(timedelta(minutes=45))
    clock.advance(timedelta(0))

    assert returned == datetime(2024, 5, 1, 11, 15, tzinfo=UTC)
    assert clock.now() == returned


def test_fake_clock_does_not_advance_backwards() -> None:
    clock = FakeClock()
    with pytest.raises(ValueError, match="only advances"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == FakeClock.DEFAULT_START


def test_fake_clock_can_be_set_anywhere() -> None:
    clock = FakeClock()
    earlier = datetime(2020, 2, 29, tzinfo=UTC)
    clock.set(earlier)
    assert clock.now() == earlier


def test_fake_clock_normalises_other_utc_zones() -> None:
    clock = FakeClock(datetime(2024, 1, 1, tzinfo=timezone(timedelta(0))))
    clock.set(datetime(2024, 1, 2, tzinfo=ZoneInfo("UTC")))
    assert clock.now().tzinfo is UTC
    assert clock.now() == datetime(2024, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad",
    [
        datetime(2024, 1, 1),  # noqa: DTZ001  # naive on purpose: it must be rejected
        datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=3))),
        datetime(2024, 7, 1, tzinfo=ZoneInfo("Europe/Moscow")),
    ],
)
def test_fake_clock_rejects_naive_and_non_utc_datetimes(bad: datetime) -> None:
    with pytest.raises(ValueError, match="UTC"):
        FakeClock(bad)
    clock = FakeClock()
    with pytest.raises(ValueError, match="UTC"):
        clock.set(bad)
    assert clock.now() == FakeClock.DEFAULT_START


# --- InMemoryRateLimiter --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "window"),
    [(0, timedelta(seconds=1)), (-1, timedelta(seconds=1)), (1, timedelta(0)), (1, -timedelta(1))],
)
async def test_rate_limiter_rejects_bad_limits(limit: int, window: timedelta) -> None:
    limiter = InMemoryRateLimiter(FakeClock())
    with pytest.raises(ValueError, match="must be"):
        await limiter.hit("k", limit=limit, window=window)
    with pytest.raises(ValueError, match="must be"):
        await limiter.peek("k", limit=limit, window=window)


async def test_rate_limiter_retry_after_is_exact_with_a_fake_clock() -> None:
    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock)
    window = timedelta(minutes=10)
    await limiter.hit("k", limit=1, window=window)
    clock.advance(timedelta(minutes=3))

    blocked = await limiter.hit("k", limit=1, window=window)

    assert blocked.retry_after == timedelta(minutes=7)


async def test_rate_limiter_window_ends_exactly_at_its_end() -> None:
    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock)
    window = timedelta(seconds=60)
    await limiter.hit("k", limit=1, window=window)

    clock.advance(window - timedelta(microseconds=1))
    assert (await limiter.peek("k", limit=1, window=window)).count == 1
    clock.advance(timedelta(microseconds=1))
    assert (await limiter.peek("k", limit=1, window=window)).count == 0


async def test_rate_limiter_forgets_expired_keys() -> None:
    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock)
    window = timedelta(seconds=1)
    for i in range(50):
        await limiter.hit(f"old-{i}", limit=1, window=window)
    clock.advance(timedelta(seconds=2))
    for i in range(200):
        await limiter.hit(f"new-{i % 5}", limit=1, window=window)

    # No old key is live any more, and the sweep has dropped them from memory.
    for i in range(50):
        assert (await limiter.peek(f"old-{i}", limit=1, window=window)).count == 0
    assert len(limiter._counters) <= 5


# --- InMemoryObjectStorage ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "key", "url"),
    [
        ("memory://", "events/1/image.png", "memory://events/1/image.png"),
        ("memory:///", "events/1/image.png", "memory://events/1/image.png"),
        (
            "https://cdn.example.com/media/",
            "a b/ё.png",
            "https://cdn.example.com/media/a%20b/%D1%91.png",
        ),
        ("https://cdn.example.com//", "x?y#z", "https://cdn.example.com/x%3Fy%23z"),
    ],
)
def test_storage_url_is_the_base_url_and_the_quoted_key(base_url: str, key: str, url: str) -> None:
    assert InMemoryObjectStorage(base_url).url(key) == url


@pytest.mark.parametrize(
    "key", ["", "/events/1.png", "events/../secret", "..", "../x", "a/..", "a\\b"]
)
async def test_storage_rejects_unsafe_keys(key: str) -> None:
    storage = InMemoryObjectStorage()
    with pytest.raises(ValueError, match="key"):
        await storage.put(key, b"data", "image/png")
    with pytest.raises(ValueError, match="key"):
        await storage.get(key)
    with pytest.raises(ValueError, match="key"):
        await storage.delete(key)
    with pytest.raises(ValueError, match="key"):
        storage.url(key)
    assert storage.keys == frozenset()


async def test_storage_allows_dots_that_are_not_parent_segments() -> None:
    storage = InMemoryObjectStorage()
    await storage.put("a..b/.hidden/x..png", b"data", "image/png")
    assert storage.keys == {"a..b/.hidden/x..png"}


async def test_storage_copies_mutable_data() -> None:
    storage = InMemoryObjectStorage()
    data = bytearray(b"before")
    await storage.put("k", data, "text/plain")  # type: ignore[arg-type]  # bytes-like on purpose
    data[:] = b"after!"
    stored = await storage.get("k")
    assert stored is not None
    assert stored.data == b"before"


# --- RecordingMailer --------------------------------------------------------------------------


def _email(to: str = "ann@example.com", subject: str = "Hello") -> Email:
    return Email(to=to, subject=subject, text="Body")


async def test_mailer_records_in_order() -> None:
    mailer = RecordingMailer()
    first, second = _email(subject="One"), _email(subject="Two")
    await mailer.send(first)
    await mailer.send(second)
    assert mailer.sent == [first, second]


async def test_fail_next_raises_temporary_errors_without_recording() -> None:
    mailer = RecordingMailer()
    mailer.fail_next(2)

    for _ in range(2):
        with pytest.raises(TemporaryDeliveryError):
            await mailer.send(_email())
    assert mailer.sent == []

    await mailer.send(_email())
    assert mailer.sent == [_email()]


async def test_fail_next_permanent_raises_permanent_errors() -> None:
    mailer = RecordingMailer()
    mailer.fail_next(1, permanent=True)

    with pytest.raises(PermanentDeliveryError):
        await mailer.send(_email())
    await mailer.send(_email())

    assert mailer.sent == [_email()]
    assert mailer.pending_failures == 0


async def test_fail_next_queues_after_earlier_failures() -> None:
    mailer = RecordingMailer()
    mailer.fail_next(1)
    mailer.fail_next(1, permanent=True)
    mailer.fail_next(0)
    assert mailer.pending_failures == 2

    with pytest.raises(TemporaryDeliveryError):
        await mailer.send(_email())
    with pytest.raises(PermanentDeliveryError):
        await mailer.send(_email())
    await mailer.send(_email())
    assert len(mailer.sent) == 1


def test_fail_next_rejects_a_negative_count() -> None:
    mailer = RecordingMailer()
    with pytest.raises(ValueError, match="negative"):
        mailer.fail_next(-1)
    assert mailer.pending_failures == 0


async def test_last_to_finds_the_latest_email_to_an_address() -> None:
    mailer = RecordingMailer()
    await mailer.send(_email("ann@example.com", "First"))
    await mailer.send(_email("bob@example.com", "For Bob"))
    await mailer.send(_email("ann@example.com", "Second"))

    last = mailer.last_to("Ann@Example.com")

    assert last is not None
    assert last.subject == "Second"
    assert mailer.last_to("carl@example.com") is None


# --- FastPasswordHasher -------------------------------------------------------------------


async def test_hash_has_the_documented_shape() -> None:
    password_hash = await FastPasswordHasher().hash("pw")
    prefix, salt, digest = password_hash.split("$")
    assert prefix == "fake"
    assert len(salt) == 16
    assert len(digest) == 64


async def test_a_versioned_hasher_uses_its_prefix() -> None:
    hasher = FastPasswordHasher(version=1)
    assert hasher.prefix == "fake-v1"
    assert (await hasher.hash("pw")).startswith("fake-v1$")


async def test_hashes_of_another_version_verify_but_need_a_rehash() -> None:
    old, new = FastPasswordHasher(), FastPasswordHasher(version=2)
    old_hash = await old.hash("s3cret")

    assert await new.verify(old_hash, "s3cret") is True
    assert await new.verify(old_hash, "wrong") is False
    assert new.needs_rehash(old_hash) is True
    assert old.needs_rehash(old_hash) is False
    assert old.needs_rehash(await new.hash("s3cret")) is True
    assert FastPasswordHasher(version=2).needs_rehash(await new.hash("s3cret")) is False


@pytest.mark.parametrize(
    "malformed", ["", "fake", "fake$abc$def", "other$0123456789abcdef$" + "0" * 64]
)
async def test_a_malformed_hash_fails_verification_and_needs_a_rehash(malformed: str) -> None:
    hasher = FastPasswordHasher()
    assert await hasher.verify(malformed, "pw") is False
    assert hasher.needs_rehash(malformed) is True


async def test_a_tampered_digest_fails_verification() -> None:
    hasher = FastPasswordHasher()
    password_hash = await hasher.hash("pw")
    flipped = "1" if password_hash[-1] == "0" else "0"
    assert await hasher.verify(password_hash[:-1] + flipped, "pw") is False


def test_a_negative_version_is_rejected() -> None:
    with pytest.raises(ValueError, match="version"):
        FastPasswordHasher(version=-1)


# --- RecordingTokenGenerator ------------------------------------------------------------------


class _CountingTokens:
    def __init__(self) -> None:
        self.n = 0

    def token(self) -> str:
        self.n += 1
        return f"token-{self.n}"

    def code(self) -> str:
        self.n += 1
        return f"{self.n:06d}"


def test_recording_token_generator_records_what_it_hands_out() -> None:
    tokens = RecordingTokenGenerator()
    handed_out = [tokens.token(), tokens.token()]
    codes = [tokens.code()]
    assert tokens.issued_tokens == handed_out
    assert tokens.issued_codes == codes


def test_recording_token_generator_draws_from_its_inner_generator() -> None:
    tokens = RecordingTokenGenerator(_CountingTokens())
    assert tokens.token() == "token-1"
    assert tokens.code() == "000002"
    assert tokens.issued_tokens == ["token-1"]
    assert tokens.issued_codes == ["000002"]
