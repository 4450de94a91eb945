"""A whole Afisha on in-memory adapters, with helpers that drive it like a user would."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import attrs

from afisha_core.app import Afisha
from afisha_core.domain import Email, EventView, User
from afisha_core.settings import Settings
from afisha_core.testing import (
    FakeClock,
    FastPasswordHasher,
    InMemoryDatabase,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
    RecordingMailer,
    RecordingTokenGenerator,
)
from afisha_core.usecases import EventDraft, LoginResult, Principal

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
_CODE = re.compile(r"verification code is (\d{6})")


@attrs.define
class World:
    """Every port faked in memory, the core wired to them, and user-level helpers."""

    db: InMemoryDatabase = attrs.field(factory=InMemoryDatabase)
    clock: FakeClock = attrs.field(factory=lambda: FakeClock(START))
    mailer: RecordingMailer = attrs.field(factory=RecordingMailer)
    storage: InMemoryObjectStorage = attrs.field(factory=InMemoryObjectStorage)
    tokens: RecordingTokenGenerator = attrs.field(factory=RecordingTokenGenerator)
    hasher: FastPasswordHasher = attrs.field(factory=FastPasswordHasher)
    settings: Settings = attrs.field(factory=Settings)
    limiter: InMemoryRateLimiter = attrs.field(init=False)
    afisha: Afisha = attrs.field(init=False)
    _counter: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        self.limiter = InMemoryRateLimiter(self.clock)
        self.afisha = Afisha(
            uow=self.db,
            hasher=self.hasher,
            limiter=self.limiter,
            storage=self.storage,
            mailer=self.mailer,
            clock=self.clock,
            tokens=self.tokens,
            settings=self.settings,
        )

    async def deliver(self) -> list[Email]:
        """Run one mail-delivery tick; return what the mailer received in it."""
        before = len(self.mailer.sent)
        await self.afisha.mail.deliver_due()
        return self.mailer.sent[before:]

    async def code_for(self, email: str) -> str:
        """Deliver pending mail and read the newest verification code sent to ``email``."""
        await self.deliver()
        for mail in reversed(self.mailer.sent):
            if mail.to == email and (match := _CODE.search(mail.text)):
                return match.group(1)
        raise AssertionError(f"no verification code was mailed to {email}")

    def fresh_identity(self) -> tuple[str, str]:
        """A new unique (email, username)."""
        self._counter += 1
        return f"person{self._counter}@example.org", f"person{self._counter}"

    async def register(
        self, email: str | None = None, username: str | None = None, password: str = PASSWORD
    ) -> LoginResult:
        """Register and confirm a new user through the use cases; return the login."""
        if email is None or username is None:
            fresh_email, fresh_username = self.fresh_identity()
            email, username = email or fresh_email, username or fresh_username
        token = await self.afisha.accounts.register(email, username, "Test Person", password)
        code = await self.code_for(email)
        return await self.afisha.accounts.confirm(token, code, user_agent="pytest")

    async def principal(self, login: LoginResult) -> Principal:
        """Authenticate the login's token as the server would."""
        return await self.afisha.sessions.authenticate(login.token)

    async def admin(self, *, is_system: bool = False) -> User:
        """A new administrator."""
        email, username = self.fresh_identity()
        return await self.afisha.accounts.create_administrator(
            email, username, PASSWORD, is_system=is_system
        )

    async def event(
        self,
        admin: User,
        *,
        capacity: int | None = None,
        starts_in: timedelta = timedelta(days=3),
        duration: timedelta = timedelta(hours=2),
        **fields: object,
    ) -> EventView:
        """Publish an event starting ``starts_in`` from the fake now."""
        starts_at = self.clock.now() + starts_in
        draft = EventDraft(
            name=str(fields.pop("name", f"Event {uuid.uuid4().hex[:6]}")),
            starts_at=starts_at,
            ends_at=starts_at + duration,
            max_participants_count=capacity,
            **fields,  # type: ignore[arg-type]
        )
        return await self.afisha.events.create(admin, draft)
