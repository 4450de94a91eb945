"""Ordinary user code over ``afisha_core``'s public names, checked by mypy.

Nothing here is run by pytest: mypy checks that each call type-checks as a user would
write it and that ``assert_type`` holds, so a change to the public API that breaks a
user's types fails the type check. ``test_api.py`` runs :func:`main` once, so the
code is also known to work.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import assert_type

import afisha_core
from afisha_core import (
    UNSET,
    AccountService,
    Afisha,
    AfishaError,
    Clock,
    DeliveryReport,
    Email,
    EventDraft,
    EventFull,
    EventPatch,
    EventView,
    InstantNotification,
    LoginResult,
    LoginSession,
    Mailer,
    NotFound,
    ObjectStorage,
    Page,
    PasswordHasher,
    Principal,
    RateLimiter,
    Role,
    SecretsTokenGenerator,
    Settings,
    SystemClock,
    TokenGenerator,
    UnitOfWorkFactory,
    User,
    ValidationFailed,
)
from afisha_core.testing import (
    FakeClock,
    FastPasswordHasher,
    InMemoryDatabase,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
    RecordingMailer,
)
from afisha_core.testing.builders import make_event, make_user


def build(clock: FakeClock) -> tuple[Afisha, RecordingMailer]:
    """Wire the core to the in-memory adapters, each checked against its port."""
    uow: UnitOfWorkFactory = InMemoryDatabase()
    hasher: PasswordHasher = FastPasswordHasher()
    limiter: RateLimiter = InMemoryRateLimiter(clock)
    storage: ObjectStorage = InMemoryObjectStorage()
    mailer = RecordingMailer()
    port: Mailer = mailer
    real_clock: Clock = SystemClock()
    real_tokens: TokenGenerator = SecretsTokenGenerator()
    assert_type(real_clock.now(), datetime)
    assert_type(real_tokens.code(), str)
    settings = Settings(public_url="https://afisha.example")
    afisha = Afisha(
        uow=uow,
        hasher=hasher,
        limiter=limiter,
        storage=storage,
        mailer=port,
        clock=clock,
        settings=settings,
    )
    assert_type(afisha.accounts, AccountService)
    assert_type(afisha.settings, Settings)
    return afisha, mailer


async def main() -> None:
    """Publish an event, sign a user up, and read what they are told."""
    assert_type(afisha_core.__version__, str)
    clock = FakeClock(datetime(2030, 1, 1, tzinfo=UTC))
    afisha, mailer = build(clock)

    admin = await afisha.accounts.create_administrator(
        "admin@example.org", "admin", "a long passphrase", is_system=True
    )
    assert_type(admin, User)
    assert_type(admin.role, Role)
    assert_type(admin.deleted_at, datetime | None)

    login = await afisha.sessions.login("admin", "a long passphrase", user_agent="typing")
    assert_type(login, LoginResult)
    assert_type(login.token, str)
    assert_type(login.session, LoginSession)
    principal = await afisha.sessions.authenticate(login.token)
    assert_type(principal, Principal)

    starts_at = clock.now() + timedelta(days=2)
    draft = EventDraft(
        name="Concert",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        max_participants_count=1,
    )
    view = await afisha.events.create(principal.user, draft)
    assert_type(view, EventView)
    assert_type(view.event.id, uuid.UUID)
    assert_type(view.event.max_participants_count, int | None)

    patch = EventPatch(location="Main hall", max_participants_count=UNSET)
    view = await afisha.events.update(admin, view.event.id, patch)
    assert view.event.location == "Main hall"

    joined = await afisha.participation.join(admin, view.event.id)
    assert_type(joined.participants_count, int)

    page = await afisha.events.list_events(None, limit=10)
    assert_type(page, Page[EventView])
    assert_type(page.items, Sequence[EventView])
    assert_type(page.next_cursor, str | None)

    notes = await afisha.notifications.list_notifications(admin)
    assert_type(notes, Page[InstantNotification])

    try:
        await afisha.events.get(None, uuid.uuid4())
    except NotFound as error:
        assert_type(error, NotFound)
        assert_type(error.code, str)
        assert_type(error.status, int)
    else:
        raise AssertionError("an unknown event was found")
    try:
        await afisha.events.create(
            admin, EventDraft(name="", starts_at=starts_at, ends_at=starts_at)
        )
    except ValidationFailed as error:
        assert_type([field.field for field in error.errors], list[str])
    else:
        raise AssertionError("an event without a name was published")

    queued = await afisha.reminders.send_due()
    assert_type(queued, int)
    report = await afisha.mail.deliver_due()
    assert_type(report, DeliveryReport)
    assert_type(mailer.sent, list[Email])

    other = make_user()
    assert_type(other, User)
    assert_type(make_event(), afisha_core.Event)
    assert issubclass(EventFull, AfishaError)
