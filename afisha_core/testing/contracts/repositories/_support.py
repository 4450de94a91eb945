"""What the repository contracts share: fixed instants, seeding and reading helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import attrs
from hypothesis import HealthCheck, settings

from afisha_core.domain import (
    Event,
    EventView,
    InstantNotification,
    IssuedLoginRecovery,
    IssuedRegistration,
    LoginSession,
    OutboxMessage,
    Participation,
    ParticipationStatus,
    User,
)
from afisha_core.ports import EventQuery, UnitOfWorkFactory
from afisha_core.testing.builders import (
    T0,
    unique,
)

PARTICIPATING = ParticipationStatus.PARTICIPATING
WAITLISTED = ParticipationStatus.WAITLISTED
REJECTED = ParticipationStatus.REJECTED

# Instants with microseconds, to check they survive storage exactly.
MICRO_1 = datetime(2030, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
MICRO_2 = datetime(2030, 3, 5, 23, 59, 59, 999999, tzinfo=UTC)
MICRO_3 = datetime(2030, 3, 6, 0, 0, 0, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
# Paging loops stop here, so a store that never returns an empty page fails, not hangs.
MAX_PAGES = 10


async def seed(
    factory: UnitOfWorkFactory,
    *,
    users: Iterable[User] = (),
    events: Iterable[Event] = (),
    participations: Iterable[Participation] = (),
    sessions: Iterable[LoginSession] = (),
    registrations: Iterable[IssuedRegistration] = (),
    recoveries: Iterable[IssuedLoginRecovery] = (),
    notifications: Iterable[InstantNotification] = (),
    outbox: Iterable[OutboxMessage] = (),
) -> None:
    """Store the given objects in one committed unit of work, parents first."""
    async with factory() as uow:
        for user in users:
            await uow.users.add(user)
        for event in events:
            await uow.events.add(event)
        for participation in participations:
            await uow.participations.save(participation)
        for session in sessions:
            await uow.sessions.add(session)
        for registration in registrations:
            await uow.registrations.add(registration)
        for recovery in recoveries:
            await uow.recoveries.add(recovery)
        for notification in notifications:
            await uow.notifications.add(notification)
        for message in outbox:
            await uow.outbox.add(message)
        await uow.commit()


async def add_users(factory: UnitOfWorkFactory, *users: User) -> None:
    """Add users in order and commit, in one unit of work."""
    async with factory() as uow:
        for user in users:
            await uow.users.add(user)
        await uow.commit()


async def update_user(factory: UnitOfWorkFactory, user: User) -> None:
    """Update one user and commit, in a unit of work of its own."""
    async with factory() as uow:
        await uow.users.update(user)
        await uow.commit()


async def get_user(factory: UnitOfWorkFactory, user_id: UUID) -> User | None:
    """Read one user in a unit of work of its own."""
    async with factory() as uow:
        return await uow.users.get(user_id)


async def get_event(factory: UnitOfWorkFactory, event_id: UUID) -> Event | None:
    """Read one event in a unit of work of its own."""
    async with factory() as uow:
        return await uow.events.get(event_id)


async def get_participation(
    factory: UnitOfWorkFactory, event_id: UUID, user_id: UUID
) -> Participation | None:
    """Read one participation in a unit of work of its own."""
    async with factory() as uow:
        return await uow.participations.get(event_id, user_id)


async def list_views(
    factory: UnitOfWorkFactory,
    query: EventQuery,
    now: datetime = T0,
    viewer_id: UUID | None = None,
) -> list[EventView]:
    """List event views in a unit of work of its own."""
    async with factory() as uow:
        return list(await uow.events.list_views(query, now, viewer_id))


async def listed_ids(
    factory: UnitOfWorkFactory, query: EventQuery, now: datetime = T0
) -> list[UUID]:
    """The ids of the events :func:`list_views` returns, in order."""
    return [view.event.id for view in await list_views(factory, query, now)]


def sort_events(events: Iterable[Event]) -> list[Event]:
    """Order events as listings do: by ``(starts_at, id)``."""
    return sorted(events, key=lambda e: (e.starts_at, e.id))


class Boom(Exception):
    """Raised by tests to leave a unit of work by an exception."""


ROUND_TRIPS = settings(
    max_examples=15,
    deadline=None,
    # The store fixture is shared by the examples of one test on purpose: each example
    # makes its objects unique (see the fresh_* helpers), as two users of one database do.
    # One test method serves every adapter's subclass (memory, SQLite, PostgreSQL, yours);
    # an example saved by one of them replays harmlessly against the others.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
)
"""Hypothesis settings of the round-trip properties: a few examples on each store."""


def fresh_token_hash() -> str:
    """A SHA-256 hex digest no other example used."""
    return hashlib.sha256(uuid4().bytes).hexdigest()


def _unique_email(email: str) -> str:
    local, domain = email.rsplit("@", 1)
    return f"{unique()}{local}"[:64] + "@" + domain


def _unique_username(username: str) -> str:
    return f"{unique()}{username}"[:32]


def fresh_user(user: User) -> User:
    """``user`` with a new id and an email and username no other example used."""
    return attrs.evolve(
        user,
        id=uuid4(),
        email=_unique_email(user.email),
        username=_unique_username(user.username),
    )


def fresh_registration(registration: IssuedRegistration) -> IssuedRegistration:
    """``registration`` with a new id, token hash, email and username."""
    return attrs.evolve(
        registration,
        id=uuid4(),
        token_hash=fresh_token_hash(),
        email=_unique_email(registration.email),
        username=_unique_username(registration.username),
    )
