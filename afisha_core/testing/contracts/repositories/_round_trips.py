"""Round trips: whatever the shipped strategies draw is stored and read back unchanged.

One Hypothesis property, parametrised by entity, replaces a hand-written round trip per
repository: each :class:`RoundTrip` says how to store a drawn object (with the parents
its foreign keys need, and fresh ids, emails, usernames and token hashes, since the
examples of one test share one store) and every way to read it back. A second
property does the same for updates: store one drawn object, replace it with another
drawn one under the same id, and read the second back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar
from uuid import uuid4

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from afisha_core.domain import (
    Event,
    InstantNotification,
    IssuedLoginRecovery,
    IssuedRegistration,
    LoginSession,
    OutboxMessage,
    Participation,
    Role,
    User,
)
from afisha_core.ports import UnitOfWork, UnitOfWorkFactory
from afisha_core.testing import strategies as afs
from afisha_core.testing.builders import make_event, make_user
from afisha_core.testing.contracts.repositories._support import (
    ROUND_TRIPS,
    fresh_registration,
    fresh_token_hash,
    fresh_user,
    seed,
)

__all__ = ["RoundTripContract"]

T = TypeVar("T")

#: What one read gave and what it should have given, named for the failure message.
Check = tuple[str, object, object]


@attrs.frozen
class RoundTrip(Generic[T]):
    """How to store one entity the strategies draw, and every way to read it back.

    ``store`` stores a drawn object (made unique, with its parents) and returns what
    it stored. ``reads`` looks the stored object up in every way the repository offers
    and pairs each result with what it should be.
    """

    name: str
    drawn: st.SearchStrategy[T]
    store: Callable[[UnitOfWorkFactory, T], Awaitable[T]]
    reads: Callable[[UnitOfWork, T], Awaitable[list[Check]]]


@attrs.frozen
class UpdateRoundTrip(Generic[T]):
    """How to store one drawn object and then replace it with another under its key.

    ``replacement`` turns the second drawn object into the update of the first one
    (same id and parents); ``update`` writes it; ``expected`` is what must be stored
    afterwards (usually the replacement itself); ``old_keys`` looks the first object
    up by the keys the update changed.
    """

    name: str
    round_trip: RoundTrip[T]
    replacement: Callable[[T, T], T]
    update: Callable[[UnitOfWork, T], Awaitable[None]]
    expected: Callable[[T, T], T] = lambda _stored, replacement: replacement
    #: Lookups by the keys the update replaced, each of which must now find nothing.
    old_keys: Callable[[UnitOfWork, T], Awaitable[list[Check]]] | None = None


# --- storing, with parents and fresh keys ------------------------------------------


async def _store_user(factory: UnitOfWorkFactory, drawn: User) -> User:
    user = fresh_user(drawn)
    await seed(factory, users=[user])
    return user


async def _store_session(factory: UnitOfWorkFactory, drawn: LoginSession) -> LoginSession:
    user = make_user()
    session = attrs.evolve(drawn, uid=uuid4(), user_id=user.id, token_hash=fresh_token_hash())
    await seed(factory, users=[user], sessions=[session])
    return session


async def _store_registration(
    factory: UnitOfWorkFactory, drawn: IssuedRegistration
) -> IssuedRegistration:
    registration = fresh_registration(drawn)
    await seed(factory, registrations=[registration])
    return registration


async def _store_recovery(
    factory: UnitOfWorkFactory, drawn: IssuedLoginRecovery
) -> IssuedLoginRecovery:
    user = make_user()
    recovery = attrs.evolve(drawn, id=uuid4(), user_id=user.id, token_hash=fresh_token_hash())
    await seed(factory, users=[user], recoveries=[recovery])
    return recovery


async def _store_event(factory: UnitOfWorkFactory, drawn: Event) -> Event:
    admin = make_user(role=Role.ADMINISTRATOR)
    # created_by refers to a user: the admin stored here, or nobody.
    event = attrs.evolve(
        drawn, id=uuid4(), created_by=None if drawn.created_by is None else admin.id
    )
    await seed(factory, users=[admin], events=[event])
    return event


async def _store_participation(factory: UnitOfWorkFactory, drawn: Participation) -> Participation:
    event, user = make_event(), make_user()
    participation = attrs.evolve(drawn, event_id=event.id, user_id=user.id)
    await seed(factory, users=[user], events=[event], participations=[participation])
    return participation


async def _store_notification(
    factory: UnitOfWorkFactory, drawn: InstantNotification
) -> InstantNotification:
    user = make_user()
    notification = attrs.evolve(drawn, id=uuid4(), user_id=user.id)
    await seed(factory, users=[user], notifications=[notification])
    return notification


async def _store_message(factory: UnitOfWorkFactory, drawn: OutboxMessage) -> OutboxMessage:
    message = attrs.evolve(drawn, id=uuid4())
    await seed(factory, outbox=[message])
    return message


# --- reading back, every way -------------------------------------------------------


async def _read_user(uow: UnitOfWork, user: User) -> list[Check]:
    live = user if user.deleted_at is None else None  # lookups skip deleted users
    return [
        ("get", await uow.users.get(user.id), user),
        ("get_for_update", await uow.users.get_for_update(user.id), user),
        ("get_by_email", await uow.users.get_by_email(user.email), live),
        ("get_by_username", await uow.users.get_by_username(user.username), live),
    ]


async def _read_session(uow: UnitOfWork, session: LoginSession) -> list[Check]:
    return [
        ("get", await uow.sessions.get(session.uid), session),
        ("get_by_token_hash", await uow.sessions.get_by_token_hash(session.token_hash), session),
    ]


async def _read_registration(uow: UnitOfWork, registration: IssuedRegistration) -> list[Check]:
    found = await uow.registrations.get_by_token_hash(registration.token_hash)
    unknown = await uow.registrations.get_by_token_hash(fresh_token_hash())
    return [("get_by_token_hash", found, registration), ("an unknown token hash", unknown, None)]


async def _read_recovery(uow: UnitOfWork, recovery: IssuedLoginRecovery) -> list[Check]:
    found = await uow.recoveries.get_by_token_hash(recovery.token_hash)
    unknown = await uow.recoveries.get_by_token_hash(fresh_token_hash())
    return [("get_by_token_hash", found, recovery), ("an unknown token hash", unknown, None)]


async def _read_event(uow: UnitOfWork, event: Event) -> list[Check]:
    return [
        ("get", await uow.events.get(event.id), event),
        ("get_for_update", await uow.events.get_for_update(event.id), event),
    ]


async def _read_participation(uow: UnitOfWork, participation: Participation) -> list[Check]:
    found = await uow.participations.get(participation.event_id, participation.user_id)
    return [("get", found, participation)]


async def _read_notification(uow: UnitOfWork, notification: InstantNotification) -> list[Check]:
    return [
        ("get", await uow.notifications.get(notification.id), notification),
        ("an unknown id", await uow.notifications.get(uuid4()), None),
    ]


async def _read_message(uow: UnitOfWork, message: OutboxMessage) -> list[Check]:
    return [
        ("get", await uow.outbox.get(message.id), message),
        ("an unknown id", await uow.outbox.get(uuid4()), None),
    ]


USERS = RoundTrip("users", afs.users(), _store_user, _read_user)
SESSIONS = RoundTrip("sessions", afs.login_sessions(), _store_session, _read_session)
REGISTRATIONS = RoundTrip(
    "registrations", afs.registrations(), _store_registration, _read_registration
)
RECOVERIES = RoundTrip("recoveries", afs.recoveries(), _store_recovery, _read_recovery)
EVENTS = RoundTrip("events", afs.events(), _store_event, _read_event)
PARTICIPATIONS = RoundTrip(
    "participations", afs.participations(), _store_participation, _read_participation
)
NOTIFICATIONS = RoundTrip(
    "notifications", afs.notifications(), _store_notification, _read_notification
)
OUTBOX = RoundTrip("outbox", afs.outbox_messages(), _store_message, _read_message)

ROUND_TRIP_CASES: list[RoundTrip[Any]] = [
    USERS,
    SESSIONS,
    REGISTRATIONS,
    RECOVERIES,
    EVENTS,
    PARTICIPATIONS,
    NOTIFICATIONS,
    OUTBOX,
]


# --- updates -------------------------------------------------------------------------


def _same_user(stored: User, drawn: User) -> User:
    return attrs.evolve(fresh_user(drawn), id=stored.id)


def _same_registration(stored: IssuedRegistration, drawn: IssuedRegistration) -> IssuedRegistration:
    return attrs.evolve(fresh_registration(drawn), id=stored.id)


def _same_recovery(stored: IssuedLoginRecovery, drawn: IssuedLoginRecovery) -> IssuedLoginRecovery:
    return attrs.evolve(drawn, id=stored.id, user_id=stored.user_id, token_hash=fresh_token_hash())


def _same_event(stored: Event, drawn: Event) -> Event:
    return attrs.evolve(drawn, id=stored.id, created_by=stored.created_by)


def _same_participation(stored: Participation, drawn: Participation) -> Participation:
    return attrs.evolve(drawn, event_id=stored.event_id, user_id=stored.user_id)


def _claim_kept(stored: Participation, replacement: Participation) -> Participation:
    # Claims are set by claim_due_reminders, which does not lock the event, and
    # cleared only by clear_reminders: a save never writes over them.
    return attrs.evolve(replacement, reminder_queued_at=stored.reminder_queued_at)


def _same_message(stored: OutboxMessage, drawn: OutboxMessage) -> OutboxMessage:
    # An update never changes when the message was created.
    return attrs.evolve(drawn, id=stored.id, created_at=stored.created_at)


async def _update_user(uow: UnitOfWork, user: User) -> None:
    await uow.users.get_for_update(user.id)  # as the use cases do: lock, then write
    await uow.users.update(user)


async def _update_registration(uow: UnitOfWork, registration: IssuedRegistration) -> None:
    await uow.registrations.update(registration)


async def _update_recovery(uow: UnitOfWork, recovery: IssuedLoginRecovery) -> None:
    await uow.recoveries.update(recovery)


async def _update_event(uow: UnitOfWork, event: Event) -> None:
    await uow.events.update(event)


async def _save_participation(uow: UnitOfWork, participation: Participation) -> None:
    await uow.participations.save(participation)


async def _update_message(uow: UnitOfWork, message: OutboxMessage) -> None:
    await uow.outbox.update(message)


async def _old_user_keys(uow: UnitOfWork, user: User) -> list[Check]:
    return [
        ("get_by_email of the old email", await uow.users.get_by_email(user.email), None),
        ("get_by_username of the old one", await uow.users.get_by_username(user.username), None),
    ]


async def _old_registration_key(uow: UnitOfWork, registration: IssuedRegistration) -> list[Check]:
    found = await uow.registrations.get_by_token_hash(registration.token_hash)
    return [("get_by_token_hash of the old hash", found, None)]


async def _old_recovery_key(uow: UnitOfWork, recovery: IssuedLoginRecovery) -> list[Check]:
    found = await uow.recoveries.get_by_token_hash(recovery.token_hash)
    return [("get_by_token_hash of the old hash", found, None)]


UPDATE_CASES: list[UpdateRoundTrip[Any]] = [
    UpdateRoundTrip("users", USERS, _same_user, _update_user, old_keys=_old_user_keys),
    UpdateRoundTrip(
        "registrations",
        REGISTRATIONS,
        _same_registration,
        _update_registration,
        old_keys=_old_registration_key,
    ),
    UpdateRoundTrip(
        "recoveries", RECOVERIES, _same_recovery, _update_recovery, old_keys=_old_recovery_key
    ),
    UpdateRoundTrip("events", EVENTS, _same_event, _update_event),
    UpdateRoundTrip(
        "participations", PARTICIPATIONS, _same_participation, _save_participation, _claim_kept
    ),
    UpdateRoundTrip("outbox", OUTBOX, _same_message, _update_message),
]


def _failures(checks: list[Check]) -> list[str]:
    return [
        f"{what}: {found!r} != {expected!r}"
        for what, found, expected in checks
        if found != expected
    ]


class RoundTripContract:
    """Every entity the strategies draw survives storage, and so does every update.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

    @pytest.mark.parametrize("case", ROUND_TRIP_CASES, ids=lambda case: case.name)
    @ROUND_TRIPS
    @given(data=st.data())
    async def test_round_trip(
        self, uow_factory: UnitOfWorkFactory, case: RoundTrip[Any], data: st.DataObject
    ) -> None:
        """Any drawn object comes back field for field, however it is looked up."""
        stored = await case.store(uow_factory, data.draw(case.drawn, label=case.name))
        async with uow_factory() as uow:
            failures = _failures(await case.reads(uow, stored))
        assert not failures, failures

    @pytest.mark.parametrize("case", UPDATE_CASES, ids=lambda case: case.name)
    @ROUND_TRIPS
    @given(data=st.data())
    async def test_update_round_trip(
        self, uow_factory: UnitOfWorkFactory, case: UpdateRoundTrip[Any], data: st.DataObject
    ) -> None:
        """An update replaces every field it owns; the old keys find nothing any more."""
        trip = case.round_trip
        stored = await trip.store(uow_factory, data.draw(trip.drawn, label="stored"))
        replacement = case.replacement(stored, data.draw(trip.drawn, label="replacement"))
        async with uow_factory() as uow:
            await case.update(uow, replacement)
            await uow.commit()
        expected = case.expected(stored, replacement)
        async with uow_factory() as uow:
            checks = await trip.reads(uow, expected)
            if case.old_keys is not None:
                checks += await case.old_keys(uow, stored)
        failures = _failures(checks)
        assert not failures, failures
