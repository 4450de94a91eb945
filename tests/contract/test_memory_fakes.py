"""The contract suites of the non-repository ports, run against the in-memory fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from afisha_core.clock import SystemClock
from afisha_core.domain import Email
from afisha_core.ports import (
    Clock,
    Mailer,
    ObjectStorage,
    PasswordHasher,
    RateLimiter,
    TokenGenerator,
)
from afisha_core.testing import (
    FakeClock,
    FastPasswordHasher,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
    RecordingMailer,
    RecordingTokenGenerator,
)
from afisha_core.testing.contracts.clock_and_tokens import ClockContract, TokenGeneratorContract
from afisha_core.testing.contracts.mailer import MailerContract
from afisha_core.testing.contracts.object_storage import ObjectStorageContract
from afisha_core.testing.contracts.password_hasher import PasswordHasherContract
from afisha_core.testing.contracts.rate_limiter import RateLimiterContract
from afisha_core.tokens import SecretsTokenGenerator


class TestInMemoryRateLimiter(RateLimiterContract):
    clock: FakeClock

    @pytest.fixture
    def limiter(self) -> RateLimiter:
        self.clock = FakeClock()
        return InMemoryRateLimiter(self.clock)

    async def wait(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))


class TestInMemoryRateLimiterLongWindow(TestInMemoryRateLimiter):
    """The same contract with a window of an hour (as for registrations per email)."""

    window_seconds = 3600.0


class TestInMemoryObjectStorage(ObjectStorageContract):
    @pytest.fixture
    def storage(self) -> ObjectStorage:
        return InMemoryObjectStorage("https://media.example.com/afisha/")


class TestInMemoryObjectStorageDefaultBaseUrl(ObjectStorageContract):
    @pytest.fixture
    def storage(self) -> ObjectStorage:
        return InMemoryObjectStorage()


class TestRecordingMailer(MailerContract):
    recording: RecordingMailer

    @pytest.fixture
    def mailer(self) -> Mailer:
        self.recording = RecordingMailer()
        return self.recording

    async def received(self) -> list[Email]:
        return list(self.recording.sent)


class TestFastPasswordHasher(PasswordHasherContract):
    @pytest.fixture
    def hasher(self) -> PasswordHasher:
        return FastPasswordHasher()


class TestVersionedFastPasswordHasher(PasswordHasherContract):
    @pytest.fixture
    def hasher(self) -> PasswordHasher:
        return FastPasswordHasher(version=3)


class TestSystemClock(ClockContract):
    @pytest.fixture
    def clock(self) -> Clock:
        return SystemClock()


class TestFakeClock(ClockContract):
    @pytest.fixture
    def clock(self) -> Clock:
        return FakeClock()


class TestSecretsTokenGenerator(TokenGeneratorContract):
    @pytest.fixture
    def tokens(self) -> TokenGenerator:
        return SecretsTokenGenerator()


class TestRecordingTokenGenerator(TokenGeneratorContract):
    @pytest.fixture
    def tokens(self) -> TokenGenerator:
        return RecordingTokenGenerator()
