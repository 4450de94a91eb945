"""A whole Afisha on in-memory adapters, with helpers that drive it like a user would.

:func:`wire` and :func:`newest_match` serve every harness of the suite that builds the
core on other stores (the security stack on SQLite or PostgreSQL, for one).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

import attrs

from afisha_core import (
    Afisha,
    Clock,
    Email,
    EventDraft,
    EventView,
    LoginResult,
    Mailer,
    ObjectStorage,
    PasswordHasher,
    Principal,
    RateLimiter,
    Settings,
    TokenGenerator,
    UnitOfWorkFactory,
    User,
)
from afisha_core.testing import (
    FakeClock,
    FastPasswordHasher,
    InMemoryDatabase,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
    RecordingMailer,
    RecordingTokenGenerator,
)

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
CODE = re.compile(r"(?:verification code is|код подтверждения:) (\d{6})")
"""Finds the verification code in a registration email."""


class Ports(Protocol):
    """The ports besides the store that a harness holds (read-only, so fakes fit)."""

    @property
    def hasher(self) -> PasswordHasher: ...
    @property
    def limiter(self) -> RateLimiter: ...
    @property
    def storage(self) -> ObjectStorage: ...
    @property
    def mailer(self) -> Mailer: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def tokens(self) -> TokenGenerator: ...
    @property
    def settings(self) -> Settings: ...


def wire(uow: UnitOfWorkFactory, ports: Ports) -> Afisha:
    """The core on ``uow`` and the harness's other ports."""
    return Afisha(
        uow=uow,
        hasher=ports.hasher,
        limiter=ports.limiter,
        storage=ports.storage,
        mailer=ports.mailer,
        clock=ports.clock,
        tokens=ports.tokens,
        settings=ports.settings,
    )


def newest_match(sent: Sequence[Email], to: str, pattern: re.Pattern[str], what: str) -> str:
    """The first group of ``pattern`` in the newest email to ``to`` that has it."""
    for mail in reversed(sent):
        if mail.to == to and (match := pattern.search(mail.text)):
            return match.group(1)
    raise AssertionError(f"no {what} was mailed to {to}")


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
        self.afisha = wire(self.db, self)

    async def deliver(self) -> list[Email]:
        """Run one mail-delivery tick; return what the mailer received in it."""
        before = len(self.mailer.sent)
        await self.afisha.mail.deliver_due()
        return self.mailer.sent[before:]

    async def code_for(self, email: str) -> str:
        """Deliver pending mail and read the newest verification code sent to ``email``."""
        await self.deliver()
        return newest_match(self.mailer.sent, email, CODE, "verification code")

    def fresh_identity(self) -> tuple[str, str]:
        """A new unique (email, username)."""
        self._counter += 1
        return f"person{self._counter}@example.org", f"person{self._counter}"

    async def register(
        self,
        email: str | None = None,
        username: str | None = None,
        password: str = PASSWORD,
        *,
        locale: str | None = None,
        full_name: str = "Test Person",
    ) -> LoginResult:
        """Register and confirm a new user through the use cases; return the login."""
        if email is None or username is None:
            fresh_email, fresh_username = self.fresh_identity()
            email, username = email or fresh_email, username or fresh_username
        token = await self.afisha.accounts.register(
            email, username, full_name, password, locale=locale
        )
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
