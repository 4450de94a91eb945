"""The contract of the repositories and the unit of work, for every adapter to pass.

Subclass :class:`UnitOfWorkContract` in the adapter's tests and provide a fixture named
``uow_factory`` that returns a :class:`~afisha_core.ports.UnitOfWorkFactory` over an
**empty** store (each test starts from nothing: drop or truncate the tables in the
fixture)::

    class TestMemoryUnitOfWork(UnitOfWorkContract):
        @pytest.fixture
        def uow_factory(self) -> UnitOfWorkFactory:
            return InMemoryDatabase()

An adapter that needs a running loop to set up uses ``@pytest_asyncio.fixture`` instead.
The concurrency tests open up to 20 units of work at once; a pool smaller than that
makes them queue, which is fine.

The tests use fixed instants (never the wall clock) and never keep using a unit of work
after one of its repositories raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import attrs
import pytest

from afisha_core.domain import (
    Event,
    EventView,
    InstantNotification,
    IssuedLoginRecovery,
    IssuedRegistration,
    LoginSession,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Participation,
    ParticipationStatus,
    Role,
    User,
)
from afisha_core.errors import EmailTaken, UsernameTaken
from afisha_core.ports import EventQuery, UnitOfWorkFactory, UserQuery
from afisha_core.testing.contracts._builders import (
    T0,
    make_email,
    make_event,
    make_notification,
    make_outbox_message,
    make_participation,
    make_recovery,
    make_registration,
    make_session,
    make_user,
    unique,
)
from afisha_core.testing.contracts.accounts import AccountSecurityContract, PersonalDataContract

__all__ = ["UnitOfWorkContract"]

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


class UnitOfWorkContract(AccountSecurityContract, PersonalDataContract):
    """Every repository method and every rule of :mod:`afisha_core.ports`.

    Subclasses provide the ``uow_factory`` fixture (see the module docstring).
    """

    pytestmark = pytest.mark.asyncio

    # --- transactions -------------------------------------------------------------

    async def test_committed_changes_are_visible_to_later_units_of_work(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A unit of work reads its own writes, and commit publishes them."""
        user = make_user()
        async with uow_factory() as uow:
            await uow.users.add(user)
            assert await uow.users.get(user.id) == user  # it reads its own writes
            await uow.commit()
        assert await get_user(uow_factory, user.id) == user

    async def test_leaving_without_commit_discards_changes(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Leaving the block without commit drops inserts and updates."""
        event = make_event(name="Before")
        await seed(uow_factory, events=[event])
        user = make_user()
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.events.update(attrs.evolve(event, name="After"))
        assert await get_user(uow_factory, user.id) is None
        assert await get_event(uow_factory, event.id) == event

    async def test_an_exception_discards_changes_and_propagates(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """An exception in the block rolls back and is not swallowed."""
        event = make_event(name="Before")
        await seed(uow_factory, events=[event])
        user = make_user()

        async def fail() -> None:
            async with uow_factory() as uow:
                await uow.users.add(user)
                await uow.events.update(attrs.evolve(event, name="After"))
                raise Boom

        with pytest.raises(Boom):
            await fail()
        assert await get_user(uow_factory, user.id) is None
        assert await get_event(uow_factory, event.id) == event

    async def test_rollback_discards_changes_since_the_last_commit(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Rollback drops what came after the last commit and keeps the unit of work usable."""
        first, second, third = make_user(), make_user(), make_user()
        async with uow_factory() as uow:
            await uow.users.add(first)
            await uow.commit()
            await uow.users.add(second)
            await uow.rollback()
            assert await uow.users.get(second.id) is None
            assert await uow.users.get(first.id) == first
            await uow.users.add(third)
            await uow.commit()
        assert await get_user(uow_factory, first.id) == first
        assert await get_user(uow_factory, second.id) is None
        assert await get_user(uow_factory, third.id) == third

    async def test_changes_after_a_commit_need_their_own_commit(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A commit covers only what came before it."""
        kept, dropped = make_user(), make_user()
        async with uow_factory() as uow:
            await uow.users.add(kept)
            await uow.commit()
            await uow.users.add(dropped)
        assert await get_user(uow_factory, kept.id) == kept
        assert await get_user(uow_factory, dropped.id) is None

    async def test_uncommitted_changes_are_invisible_to_other_units_of_work(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Another unit of work never sees changes that were not committed."""
        event = make_event(name="Before")
        await seed(uow_factory, events=[event])
        user = make_user()

        async def read_elsewhere() -> tuple[User | None, Event | None]:
            async with uow_factory() as other:
                return await other.users.get(user.id), await other.events.get(event.id)

        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.events.update(attrs.evolve(event, name="After"))
            reader = asyncio.create_task(read_elsewhere())
            # Give the reader time to read now, if the store lets it; one that waits
            # for this unit of work reads after the rollback below.
            await asyncio.wait({reader}, timeout=0.05)
        seen_user, seen_event = await reader
        assert seen_user is None
        assert seen_event == event

    # --- users --------------------------------------------------------------------

    async def test_user_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """Users come back field for field, deleted ones included."""
        plain = make_user()
        full = make_user(
            full_name="Анна-Мария Ёлкина 🎉",
            password_hash="$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            role=Role.ADMINISTRATOR,
            is_system=True,
            created_at=MICRO_1,
            credential_version=7,
        )
        deleted = make_user(created_at=MICRO_1, deleted_at=MICRO_2)
        await seed(uow_factory, users=[plain, full, deleted])
        async with uow_factory() as uow:
            assert await uow.users.get(plain.id) == plain
            assert await uow.users.get(full.id) == full
            assert await uow.users.get(deleted.id) == deleted
            assert await uow.users.get_by_email(full.email) == full
            assert await uow.users.get_by_username(full.username) == full

    async def test_user_update_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """An update replaces every field, and lookups follow the new email and username."""
        user = make_user()
        await seed(uow_factory, users=[user])
        changed = attrs.evolve(
            user,
            email=f"new-{unique()}@example.com",
            username=f"new_{unique()}",
            full_name="Новое Имя",
            password_hash="$new$hash",
            role=Role.ADMINISTRATOR,
            is_system=True,
            credential_version=user.credential_version + 1,
        )
        async with uow_factory() as uow:
            assert await uow.users.get_for_update(user.id) == user
            await uow.users.update(changed)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.users.get(user.id) == changed
            assert await uow.users.get_by_email(changed.email) == changed
            assert await uow.users.get_by_username(changed.username) == changed
            assert await uow.users.get_by_email(user.email) is None
            assert await uow.users.get_by_username(user.username) is None

    async def test_missing_users_are_none(self, uow_factory: UnitOfWorkFactory) -> None:
        """Lookups of unknown users give ``None``."""
        await seed(uow_factory, users=[make_user()])
        absent = make_user()
        async with uow_factory() as uow:
            assert await uow.users.get(absent.id) is None
            assert await uow.users.get_for_update(absent.id) is None
            assert await uow.users.get_by_email(absent.email) is None
            assert await uow.users.get_by_username(absent.username) is None

    async def test_lookups_by_email_and_username_skip_deleted_users(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Email and username lookups find live users only; ``get`` finds any."""
        deleted = make_user(deleted_at=T0)
        await seed(uow_factory, users=[deleted])
        async with uow_factory() as uow:
            assert await uow.users.get_by_email(deleted.email) is None
            assert await uow.users.get_by_username(deleted.username) is None
            assert await uow.users.get(deleted.id) == deleted

    async def test_add_refuses_the_email_of_a_live_user(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Adding a second live user with an email raises EmailTaken."""
        owner = make_user()
        await seed(uow_factory, users=[owner])
        clash = make_user(email=owner.email)
        with pytest.raises(EmailTaken):
            await add_users(uow_factory, clash)
        assert await get_user(uow_factory, clash.id) is None

    async def test_add_refuses_the_username_of_a_live_user(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Adding a second live user with a username raises UsernameTaken."""
        owner = make_user()
        await seed(uow_factory, users=[owner])
        clash = make_user(username=owner.username)
        with pytest.raises(UsernameTaken):
            await add_users(uow_factory, clash)
        assert await get_user(uow_factory, clash.id) is None

    async def test_add_refuses_a_clash_with_a_user_added_in_the_same_unit_of_work(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Uniqueness holds against uncommitted users of the same unit of work."""
        first = make_user()
        with pytest.raises(EmailTaken):
            await add_users(uow_factory, first, make_user(email=first.email))
        assert await get_user(uow_factory, first.id) is None

    async def test_update_refuses_the_email_of_another_live_user(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Taking another live user's email by update raises EmailTaken."""
        owner, other = make_user(), make_user()
        await seed(uow_factory, users=[owner, other])
        with pytest.raises(EmailTaken):
            await update_user(uow_factory, attrs.evolve(other, email=owner.email))
        assert await get_user(uow_factory, other.id) == other

    async def test_update_refuses_the_username_of_another_live_user(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Taking another live user's username by update raises UsernameTaken."""
        owner, other = make_user(), make_user()
        await seed(uow_factory, users=[owner, other])
        with pytest.raises(UsernameTaken):
            await update_user(uow_factory, attrs.evolve(other, username=owner.username))
        assert await get_user(uow_factory, other.id) == other

    async def test_update_keeping_own_email_and_username_is_no_clash(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A user does not clash with itself."""
        user = make_user()
        await seed(uow_factory, users=[user])
        renamed = attrs.evolve(user, full_name="Someone Else")
        async with uow_factory() as uow:
            await uow.users.update(renamed)
            await uow.commit()
        assert await get_user(uow_factory, user.id) == renamed

    async def test_a_deleted_user_frees_email_and_username(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A deleted user's email and username can be taken by a new user."""
        old = make_user()
        await seed(uow_factory, users=[old])
        gone = attrs.evolve(old, deleted_at=MICRO_1)
        async with uow_factory() as uow:
            await uow.users.update(gone)
            await uow.commit()
        successor = make_user(email=old.email, username=old.username)
        # A deleted user may share them with a live one, even when stored as deleted.
        another_deleted = make_user(email=old.email, username=old.username, deleted_at=T0)
        async with uow_factory() as uow:
            await uow.users.add(successor)
            await uow.users.add(another_deleted)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.users.get_by_email(old.email) == successor
            assert await uow.users.get_by_username(old.username) == successor
            assert await uow.users.get(old.id) == gone
            assert await uow.users.get(another_deleted.id) == another_deleted

    async def test_restoring_a_deleted_user_whose_email_was_taken_again_clashes(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Undeleting a user whose email is taken again raises EmailTaken."""
        gone = make_user(deleted_at=T0)
        successor = make_user(email=gone.email)
        await seed(uow_factory, users=[gone, successor])
        with pytest.raises(EmailTaken):
            await update_user(uow_factory, attrs.evolve(gone, deleted_at=None))
        assert await get_user(uow_factory, gone.id) == gone

    async def test_concurrent_adds_of_one_email_let_exactly_one_win(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Racing registrations of one email: one user is stored, the others get EmailTaken."""
        email = f"race-{unique()}@example.com"
        contenders = [make_user(email=email) for _ in range(4)]

        async def register(user: User) -> None:
            async with uow_factory() as uow:
                await uow.users.add(user)
                await asyncio.sleep(0)
                await uow.commit()

        outcomes = await asyncio.gather(*(register(u) for u in contenders), return_exceptions=True)
        assert sum(outcome is None for outcome in outcomes) == 1
        assert sum(isinstance(outcome, EmailTaken) for outcome in outcomes) == 3
        async with uow_factory() as uow:
            winner = await uow.users.get_by_email(email)
            assert winner is not None
            assert winner == contenders[outcomes.index(None)]
            for user, outcome in zip(contenders, outcomes, strict=True):
                if outcome is not None:
                    assert await uow.users.get(user.id) is None

    async def test_list_users_pages_through_live_users_in_order(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Keyset pages of live users in ``(created_at, id)`` order, no gaps or repeats."""
        live = [make_user(created_at=T0 + timedelta(seconds=s)) for s in (3, 1, 2, 2, 2, 0, 5)]
        deleted = make_user(created_at=T0 + timedelta(seconds=1), deleted_at=T0)
        await seed(uow_factory, users=[*live, deleted])
        expected = sorted(live, key=lambda u: (u.created_at, u.id))
        pages: list[list[User]] = []
        after: tuple[datetime, UUID] | None = None
        async with uow_factory() as uow:
            for _ in range(MAX_PAGES):
                page = list(await uow.users.list(UserQuery(after=after, limit=3)))
                if not page:
                    break
                pages.append(page)
                after = (page[-1].created_at, page[-1].id)
        assert [len(p) for p in pages] == [3, 3, 1]
        assert [u for p in pages for u in p] == expected

    async def test_list_users_honours_the_limit(self, uow_factory: UnitOfWorkFactory) -> None:
        """At most ``limit`` users."""
        users = [make_user(created_at=T0 + timedelta(seconds=s)) for s in range(4)]
        await seed(uow_factory, users=users)
        async with uow_factory() as uow:
            assert list(await uow.users.list(UserQuery(limit=2))) == users[:2]

    async def test_list_users_text_matches_any_field_ignoring_case(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Text matches email, username or full name, ignoring case, Cyrillic too."""
        tag = unique()
        by_name = make_user(full_name="Ёжик Лисицын", created_at=T0)
        by_email = make_user(email=f"fog-{tag}@example.com", created_at=T0 + US)
        by_username = make_user(username=f"fog_{tag}", created_at=T0 + 2 * US)
        other = make_user(full_name="Somebody", created_at=T0 + 3 * US)
        await seed(uow_factory, users=[by_name, by_email, by_username, other])
        async with uow_factory() as uow:
            assert list(await uow.users.list(UserQuery(text="ёЖИК"))) == [by_name]
            assert list(await uow.users.list(UserQuery(text="ЛИСИЦ"))) == [by_name]
            assert list(await uow.users.list(UserQuery(text=f"FOG-{tag.upper()}"))) == [by_email]
            assert list(await uow.users.list(UserQuery(text=f"Fog_{tag}"))) == [by_username]
            assert list(await uow.users.list(UserQuery(text=tag))) == [by_email, by_username]
            assert list(await uow.users.list(UserQuery(text="nobody-has-this"))) == []

    async def test_list_users_text_is_a_literal_substring(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """``%`` and ``_`` in the text are plain characters, not wildcards."""
        percent = make_user(full_name="Top 1% Member", created_at=T0)
        digit = make_user(full_name="Top 10 Member", created_at=T0 + US)
        await seed(uow_factory, users=[percent, digit])
        async with uow_factory() as uow:
            assert list(await uow.users.list(UserQuery(text="1%"))) == [percent]
            assert list(await uow.users.list(UserQuery(text="p _1"))) == []

    async def test_list_users_filters_by_role(self, uow_factory: UnitOfWorkFactory) -> None:
        """The role filter keeps users of that role only."""
        admin = make_user(role=Role.ADMINISTRATOR, created_at=T0)
        user = make_user(created_at=T0 + US)
        await seed(uow_factory, users=[admin, user])
        async with uow_factory() as uow:
            assert list(await uow.users.list(UserQuery(role=Role.ADMINISTRATOR))) == [admin]
            assert list(await uow.users.list(UserQuery(role=Role.USER))) == [user]
            assert list(await uow.users.list(UserQuery())) == [admin, user]

    # --- sessions -----------------------------------------------------------------

    async def test_session_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """Sessions come back field for field, by uid and by token hash."""
        user = make_user()
        plain = make_session(user.id)
        full = make_session(
            user.id,
            user_agent="Mozilla/5.0 (Браузер; ☃)",
            client_address="2001:db8::1",
            created_at=MICRO_1,
            last_seen_at=MICRO_2,
            expires_at=MICRO_3,
            revoked_at=MICRO_2,
            credential_version=4,
        )
        await seed(uow_factory, users=[user], sessions=[plain, full])
        async with uow_factory() as uow:
            assert await uow.sessions.get(plain.uid) == plain
            assert await uow.sessions.get(full.uid) == full
            assert await uow.sessions.get_by_token_hash(full.token_hash) == full
            assert await uow.sessions.get_by_token_hash(plain.token_hash) == plain

    async def test_touch_sets_last_seen_only_on_a_live_session(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A touch writes last_seen_at of a live session seen earlier, and nothing else."""
        user = make_user()
        live = make_session(user.id, last_seen_at=T0, credential_version=3)
        revoked = make_session(user.id, last_seen_at=T0, revoked_at=T0 + US)
        await seed(uow_factory, users=[user], sessions=[live, revoked])
        async with uow_factory() as uow:
            assert await uow.sessions.touch(live.uid, MICRO_1) is True
            assert await uow.sessions.touch(revoked.uid, MICRO_1) is False
            assert await uow.sessions.touch(make_session(user.id).uid, MICRO_1) is False
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.sessions.touch(live.uid, MICRO_1) is False  # not later
            assert await uow.sessions.get(live.uid) == attrs.evolve(live, last_seen_at=MICRO_1)
            assert await uow.sessions.get(revoked.uid) == revoked

    async def test_revoke_keeps_the_first_revocation(self, uow_factory: UnitOfWorkFactory) -> None:
        """A revocation sets revoked_at once; a second revoke changes nothing and says so."""
        user = make_user()
        session = make_session(user.id)
        await seed(uow_factory, users=[user], sessions=[session])
        async with uow_factory() as uow:
            assert await uow.sessions.revoke(session.uid, MICRO_1) is True
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.sessions.revoke(session.uid, MICRO_2) is False
            assert await uow.sessions.revoke(make_session(user.id).uid, MICRO_2) is False
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.sessions.get(session.uid) == attrs.evolve(session, revoked_at=MICRO_1)

    async def test_carry_over_moves_only_a_live_session(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Carrying over sets the credential version of a live session, never of a revoked one."""
        user = make_user()
        live = make_session(user.id)
        revoked = make_session(user.id, revoked_at=MICRO_1)
        await seed(uow_factory, users=[user], sessions=[live, revoked])
        async with uow_factory() as uow:
            assert await uow.sessions.carry_over(live.uid, 2) is True
            assert await uow.sessions.carry_over(revoked.uid, 2) is False
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.sessions.get(live.uid) == attrs.evolve(live, credential_version=2)
            assert await uow.sessions.get(revoked.uid) == revoked

    async def test_missing_sessions_are_none(self, uow_factory: UnitOfWorkFactory) -> None:
        """Lookups of unknown sessions give ``None``."""
        user = make_user()
        await seed(uow_factory, users=[user], sessions=[make_session(user.id)])
        absent = make_session(user.id)
        async with uow_factory() as uow:
            assert await uow.sessions.get(absent.uid) is None
            assert await uow.sessions.get_by_token_hash(absent.token_hash) is None

    async def test_list_active_sessions_newest_first(self, uow_factory: UnitOfWorkFactory) -> None:
        """Active sessions of one user, newest first; revoked and expired ones left out."""
        user, stranger = make_user(), make_user()
        now = T0 + timedelta(days=1)
        older = make_session(user.id, created_at=T0 + timedelta(hours=1))
        newer = make_session(user.id, created_at=T0 + timedelta(hours=2))
        oldest = make_session(user.id, created_at=T0)
        revoked = make_session(user.id, revoked_at=T0 + timedelta(hours=3))
        expired = make_session(user.id, expires_at=now)
        theirs = make_session(stranger.id)
        await seed(
            uow_factory,
            users=[user, stranger],
            sessions=[older, newer, oldest, revoked, expired, theirs],
        )
        async with uow_factory() as uow:
            assert list(await uow.sessions.list_active(user.id, now)) == [newer, older, oldest]
            assert list(await uow.sessions.list_active(stranger.id, now)) == [theirs]

    async def test_revoke_all_revokes_active_sessions_but_the_exception(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """revoke_all revokes the user's active sessions but one, and counts them."""
        user, stranger = make_user(), make_user()
        now = T0 + timedelta(days=1)
        current = make_session(user.id, created_at=T0 + timedelta(hours=2))
        other_a = make_session(user.id, created_at=T0 + timedelta(hours=1))
        other_b = make_session(user.id, created_at=T0)
        revoked = make_session(user.id, revoked_at=T0 + timedelta(hours=3))
        expired = make_session(user.id, expires_at=now)
        theirs = make_session(stranger.id)
        await seed(
            uow_factory,
            users=[user, stranger],
            sessions=[current, other_a, other_b, revoked, expired, theirs],
        )
        async with uow_factory() as uow:
            assert await uow.sessions.revoke_all(user.id, now, except_uid=current.uid) == 2
            await uow.commit()
        async with uow_factory() as uow:
            assert list(await uow.sessions.list_active(user.id, now)) == [current]
            assert await uow.sessions.get(other_a.uid) == attrs.evolve(other_a, revoked_at=now)
            assert await uow.sessions.get(other_b.uid) == attrs.evolve(other_b, revoked_at=now)
            assert await uow.sessions.get(revoked.uid) == revoked
            assert await uow.sessions.get(expired.uid) == expired
            assert await uow.sessions.get(theirs.uid) == theirs
        later = now + timedelta(minutes=1)
        async with uow_factory() as uow:
            assert await uow.sessions.revoke_all(user.id, later) == 1
            await uow.commit()
        async with uow_factory() as uow:
            assert list(await uow.sessions.list_active(user.id, later)) == []
            assert await uow.sessions.get(current.uid) == attrs.evolve(current, revoked_at=later)
            assert await uow.sessions.revoke_all(user.id, later) == 0
            assert list(await uow.sessions.list_active(stranger.id, later)) == [theirs]

    # --- registrations and recoveries ---------------------------------------------

    async def test_registration_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """Registrations come back field for field by token hash."""
        plain = make_registration()
        doomed = make_registration(
            code_hash=None,
            full_name="Пётр Иванов",
            attempts=3,
            created_at=MICRO_1,
            expires_at=MICRO_2,
            confirmed_at=MICRO_3,
        )
        await seed(uow_factory, registrations=[plain, doomed])
        async with uow_factory() as uow:
            assert await uow.registrations.get_by_token_hash(plain.token_hash) == plain
            assert await uow.registrations.get_by_token_hash(doomed.token_hash) == doomed
            assert await uow.registrations.get_by_token_hash(make_registration().token_hash) is None

    async def test_registration_update_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """A registration update replaces every field."""
        registration = make_registration()
        await seed(uow_factory, registrations=[registration])
        changed = attrs.evolve(registration, attempts=5, confirmed_at=MICRO_1)
        async with uow_factory() as uow:
            await uow.registrations.update(changed)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.registrations.get_by_token_hash(registration.token_hash) == changed

    async def test_concurrent_wrong_codes_are_all_counted(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Lookups by token hash lock the registration, so no wrong code is lost."""
        registration = make_registration()
        await seed(uow_factory, registrations=[registration])

        async def wrong_code() -> None:
            async with uow_factory() as uow:
                found = await uow.registrations.get_by_token_hash(registration.token_hash)
                assert found is not None
                await asyncio.sleep(0)
                await uow.registrations.update(attrs.evolve(found, attempts=found.attempts + 1))
                await uow.commit()

        await asyncio.gather(*(wrong_code() for _ in range(4)))
        async with uow_factory() as uow:
            stored = await uow.registrations.get_by_token_hash(registration.token_hash)
            assert stored is not None
            assert stored.attempts == 4

    async def test_recovery_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """Recovery tokens come back field for field by token hash."""
        user = make_user()
        plain = make_recovery(user.id)
        used = make_recovery(
            user.id, created_at=MICRO_1, expires_at=MICRO_2, used_at=MICRO_3, credential_version=5
        )
        await seed(uow_factory, users=[user], recoveries=[plain, used])
        async with uow_factory() as uow:
            assert await uow.recoveries.get_by_token_hash(plain.token_hash) == plain
            assert await uow.recoveries.get_by_token_hash(used.token_hash) == used
            assert await uow.recoveries.get_by_token_hash(make_recovery(user.id).token_hash) is None

    async def test_recovery_update_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """A recovery update replaces every field."""
        user = make_user()
        recovery = make_recovery(user.id)
        await seed(uow_factory, users=[user], recoveries=[recovery])
        used = attrs.evolve(recovery, used_at=MICRO_1)
        async with uow_factory() as uow:
            await uow.recoveries.update(used)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.recoveries.get_by_token_hash(recovery.token_hash) == used

    async def test_a_recovery_token_used_concurrently_is_accepted_once(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Lookups by token hash lock the recovery, so it is used once."""
        user = make_user()
        recovery = make_recovery(user.id)
        await seed(uow_factory, users=[user], recoveries=[recovery])

        async def use(at: datetime) -> bool:
            async with uow_factory() as uow:
                found = await uow.recoveries.get_by_token_hash(recovery.token_hash)
                assert found is not None
                if found.used_at is not None:
                    return False
                await asyncio.sleep(0)
                await uow.recoveries.update(attrs.evolve(found, used_at=at))
                await uow.commit()
                return True

        times = [T0 + timedelta(minutes=m) for m in range(1, 6)]
        accepted = await asyncio.gather(*(use(at) for at in times))
        assert accepted.count(True) == 1
        async with uow_factory() as uow:
            stored = await uow.recoveries.get_by_token_hash(recovery.token_hash)
            assert stored is not None
            assert stored.used_at == times[accepted.index(True)]

    # --- events -------------------------------------------------------------------

    async def test_event_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """Events come back field for field, minimal and full."""
        admin = make_user(role=Role.ADMINISTRATOR)
        minimal = make_event()
        full = make_event(
            name="Концерт «Весна» 🎻",
            short_description="Короткое описание",
            description="Строка 1\n2: строка — «кавычки», 'апостроф', \\ обратная черта",
            starts_at=MICRO_1,
            ends_at=MICRO_2,
            timezone="Europe/Moscow",
            location="Москва, ул. Пушкина, д. 1",
            payment_info="Оплата на месте: 500 ₽",
            max_participants_count=42,
            image_key=f"events/{unique()}.png",
            created_by=admin.id,
            created_at=MICRO_3,
            updated_at=MICRO_3,
            rejected_at=MICRO_3,
            rejection_reason="Отменено из-за погоды",
        )
        await seed(uow_factory, users=[admin], events=[minimal, full])
        async with uow_factory() as uow:
            assert await uow.events.get(minimal.id) == minimal
            assert await uow.events.get(full.id) == full
            assert await uow.events.get_for_update(full.id) == full

    async def test_event_update_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """An event update replaces every field, setting some to ``None``."""
        event = make_event(max_participants_count=10, image_key="a.png")
        await seed(uow_factory, events=[event])
        changed = attrs.evolve(
            event,
            name="Новое имя",
            starts_at=MICRO_1,
            ends_at=MICRO_2,
            timezone="Asia/Tokyo",
            max_participants_count=None,
            image_key=None,
            updated_at=MICRO_3,
            rejected_at=MICRO_3,
            rejection_reason="причина",
        )
        async with uow_factory() as uow:
            await uow.events.update(changed)
            await uow.commit()
        assert await get_event(uow_factory, event.id) == changed

    async def test_missing_events_are_none(self, uow_factory: UnitOfWorkFactory) -> None:
        """Lookups of unknown events give ``None``."""
        await seed(uow_factory, events=[make_event()])
        absent = make_event()
        async with uow_factory() as uow:
            assert await uow.events.get(absent.id) is None
            assert await uow.events.get_for_update(absent.id) is None
            assert await uow.events.get_view(absent.id, None) is None

    async def test_get_view_counts_participants_and_shows_my_status(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A view counts PARTICIPATING and WAITLISTED rows and shows the viewer's status."""
        event, elsewhere = make_event(max_participants_count=5), make_event()
        p1, p2, w1, r1, nobody = (make_user() for _ in range(5))
        await seed(
            uow_factory,
            users=[p1, p2, w1, r1, nobody],
            events=[event, elsewhere],
            participations=[
                make_participation(event.id, p1.id),
                make_participation(event.id, p2.id),
                make_participation(event.id, w1.id, status=WAITLISTED),
                make_participation(event.id, r1.id, status=REJECTED),
                make_participation(elsewhere.id, nobody.id),
                make_participation(elsewhere.id, w1.id),
            ],
        )
        async with uow_factory() as uow:
            expected = {
                None: None,
                p1.id: PARTICIPATING,
                w1.id: WAITLISTED,
                r1.id: REJECTED,
                nobody.id: None,
            }
            for viewer, status in expected.items():
                view = await uow.events.get_view(event.id, viewer)
                assert view == EventView(
                    event=event, participants_count=2, waitlist_count=1, my_status=status
                )
            other = await uow.events.get_view(elsewhere.id, w1.id)
            assert other == EventView(
                event=elsewhere, participants_count=2, waitlist_count=0, my_status=PARTICIPATING
            )

    async def test_get_view_shows_rejected_events(self, uow_factory: UnitOfWorkFactory) -> None:
        """A rejected event still has a view."""
        event = make_event(rejected_at=T0)
        await seed(uow_factory, events=[event])
        async with uow_factory() as uow:
            assert await uow.events.get_view(event.id, None) == EventView(event=event)

    async def test_list_views_count_and_show_my_status_per_event(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Each listed view has its own counts and the viewer's status."""
        first = make_event(starts_at=T0 + timedelta(days=1))
        second = make_event(starts_at=T0 + timedelta(days=2))
        third = make_event(starts_at=T0 + timedelta(days=3))
        me, a, b = make_user(), make_user(), make_user()
        await seed(
            uow_factory,
            users=[me, a, b],
            events=[first, second, third],
            participations=[
                make_participation(first.id, me.id),
                make_participation(first.id, a.id),
                make_participation(second.id, me.id, status=WAITLISTED),
                make_participation(second.id, a.id),
                make_participation(second.id, b.id, status=WAITLISTED),
                make_participation(third.id, a.id, status=REJECTED),
            ],
        )
        assert await list_views(uow_factory, EventQuery(), viewer_id=me.id) == [
            EventView(event=first, participants_count=2, waitlist_count=0, my_status=PARTICIPATING),
            EventView(event=second, participants_count=1, waitlist_count=2, my_status=WAITLISTED),
            EventView(event=third, participants_count=0, waitlist_count=0, my_status=None),
        ]
        anonymous = await list_views(uow_factory, EventQuery())
        assert [v.my_status for v in anonymous] == [None, None, None]
        assert [(v.participants_count, v.waitlist_count) for v in anonymous] == [
            (2, 0),
            (1, 2),
            (0, 0),
        ]

    async def test_list_views_default_lower_bound_is_now(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Without ``starts_from``, events that ended by ``now`` are left out."""
        now = T0 + timedelta(days=10)
        ended = make_event(starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1))
        ends_now = make_event(starts_at=now - timedelta(hours=2), ends_at=now)
        ongoing = make_event(starts_at=now - timedelta(hours=1), ends_at=now + US)
        upcoming = make_event(starts_at=now + timedelta(days=1))
        await seed(uow_factory, events=[ended, ends_now, ongoing, upcoming])
        assert await listed_ids(uow_factory, EventQuery(), now) == [ongoing.id, upcoming.id]
        earlier = now - timedelta(hours=5)
        assert await listed_ids(uow_factory, EventQuery(), earlier) == [
            e.id for e in sort_events([ended, ends_now, ongoing, upcoming])
        ]

    async def test_list_views_include_finished_drops_the_lower_bound(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """With ``include_finished`` and no ``starts_from``, ended events are listed too."""
        now = T0 + timedelta(days=10)
        ended = make_event(starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=2))
        upcoming = make_event(starts_at=now + timedelta(days=1))
        await seed(uow_factory, events=[ended, upcoming])
        query = EventQuery(include_finished=True)
        assert await listed_ids(uow_factory, query, now) == [ended.id, upcoming.id]
        bounded = EventQuery(include_finished=True, starts_from=now - timedelta(days=1))
        assert await listed_ids(uow_factory, bounded, now) == [upcoming.id]

    async def test_list_views_match_events_overlapping_the_range(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Events overlapping ``[starts_from, starts_before)`` are listed, bounds exact."""
        start = T0 + timedelta(days=10)
        stop = T0 + timedelta(days=11)
        hour = timedelta(hours=1)
        ends_at_start = make_event(starts_at=start - hour, ends_at=start)
        ends_after_start = make_event(starts_at=start - hour, ends_at=start + US)
        inside = make_event(starts_at=start + hour, ends_at=start + 2 * hour)
        spanning = make_event(starts_at=start - timedelta(days=1), ends_at=stop + hour)
        starts_before_stop = make_event(starts_at=stop - US, ends_at=stop + hour)
        starts_at_stop = make_event(starts_at=stop, ends_at=stop + hour)
        before = make_event(starts_at=start - 3 * hour, ends_at=start - 2 * hour)
        after = make_event(starts_at=stop + hour, ends_at=stop + 2 * hour)
        everything = [
            ends_at_start,
            ends_after_start,
            inside,
            spanning,
            starts_before_stop,
            starts_at_stop,
            before,
            after,
        ]
        await seed(uow_factory, events=everything)
        overlapping = sort_events([ends_after_start, inside, spanning, starts_before_stop])
        query = EventQuery(starts_from=start, starts_before=stop)
        # An explicit lower bound replaces ``now``, even a ``now`` after the range.
        for now in (T0, stop + timedelta(days=30)):
            assert await listed_ids(uow_factory, query, now) == [e.id for e in overlapping]
        only_upper = EventQuery(starts_before=stop)
        assert await listed_ids(uow_factory, only_upper, start) == [e.id for e in overlapping]
        only_lower = EventQuery(starts_from=start)
        assert await listed_ids(uow_factory, only_lower, T0) == [
            e.id for e in sort_events([*overlapping, starts_at_stop, after])
        ]

    @pytest.mark.parametrize("field", ["name", "short_description", "description", "location"])
    async def test_list_views_text_matches_each_field_ignoring_case(
        self, uow_factory: UnitOfWorkFactory, field: str
    ) -> None:
        """Text matches each searchable field, ignoring case, Cyrillic too."""
        matching = make_event(**{field: "Большой КОНЦЕРТ года"})
        other = make_event(**{field: "Лекция"})
        await seed(uow_factory, events=[matching, other])
        for text in ("концерт", "КОНЦЕРТ", "кОнЦеРт", "большой концерт"):
            assert await listed_ids(uow_factory, EventQuery(text=text)) == [matching.id], text
        assert await listed_ids(uow_factory, EventQuery(text="театр")) == []

    async def test_list_views_text_is_a_literal_substring(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """``%`` and ``_`` in the text are plain characters, not wildcards."""
        percent = make_event(name="Скидка 50%", starts_at=T0 + timedelta(days=1))
        digits = make_event(name="Скидка 500", starts_at=T0 + timedelta(days=2))
        underscore = make_event(name="a_b", starts_at=T0 + timedelta(days=3))
        letter = make_event(name="axb", starts_at=T0 + timedelta(days=4))
        await seed(uow_factory, events=[percent, digits, underscore, letter])
        assert await listed_ids(uow_factory, EventQuery(text="50%")) == [percent.id]
        assert await listed_ids(uow_factory, EventQuery(text="a_b")) == [underscore.id]
        assert await listed_ids(uow_factory, EventQuery(text="A_")) == [underscore.id]

    async def test_list_views_leave_out_rejected_events_unless_asked(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Rejected events are listed only with ``include_rejected``."""
        kept = make_event(starts_at=T0 + timedelta(days=1))
        rejected = make_event(starts_at=T0 + timedelta(days=2), rejected_at=T0)
        await seed(uow_factory, events=[kept, rejected])
        assert await listed_ids(uow_factory, EventQuery()) == [kept.id]
        assert await listed_ids(uow_factory, EventQuery(include_rejected=True)) == [
            kept.id,
            rejected.id,
        ]

    async def test_list_views_filter_by_participant_and_status(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """The participant filter keeps events where the user has a row in the statuses."""
        joined, waiting, left, untouched = (
            make_event(starts_at=T0 + timedelta(days=d)) for d in (1, 2, 3, 4)
        )
        me, them = make_user(), make_user()
        await seed(
            uow_factory,
            users=[me, them],
            events=[joined, waiting, left, untouched],
            participations=[
                make_participation(joined.id, me.id),
                make_participation(waiting.id, me.id, status=WAITLISTED),
                make_participation(left.id, me.id, status=REJECTED),
                make_participation(untouched.id, them.id),
                make_participation(joined.id, them.id, status=REJECTED),
            ],
        )
        mine = EventQuery(participant_id=me.id)
        assert await listed_ids(uow_factory, mine) == [joined.id, waiting.id]
        gone = EventQuery(participant_id=me.id, participant_statuses=frozenset({REJECTED}))
        assert await listed_ids(uow_factory, gone) == [left.id]
        every = EventQuery(
            participant_id=me.id, participant_statuses=frozenset(ParticipationStatus)
        )
        assert await listed_ids(uow_factory, every) == [joined.id, waiting.id, left.id]
        theirs = EventQuery(participant_id=them.id)
        assert await listed_ids(uow_factory, theirs) == [untouched.id]
        nobody = EventQuery(participant_id=make_user().id)
        assert await listed_ids(uow_factory, nobody) == []

    async def test_list_views_page_through_events_in_order(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Keyset pages of events in ``(starts_at, id)`` order, no gaps or repeats."""
        day = timedelta(days=1)
        events = [make_event(starts_at=T0 + d * day) for d in (3, 1, 2, 2, 2, 4, 1, 5)]
        await seed(uow_factory, events=events)
        pages: list[list[UUID]] = []
        after: tuple[datetime, UUID] | None = None
        for _ in range(MAX_PAGES):
            page = await list_views(uow_factory, EventQuery(after=after, limit=3))
            if not page:
                break
            pages.append([v.event.id for v in page])
            after = (page[-1].event.starts_at, page[-1].event.id)
        assert [len(p) for p in pages] == [3, 3, 2]
        assert [i for p in pages for i in p] == [e.id for e in sort_events(events)]

    async def test_list_views_combine_filters(self, uow_factory: UnitOfWorkFactory) -> None:
        """Time range, text and rejection filters apply together."""
        tag = unique()
        day = timedelta(days=1)
        hit = make_event(name=f"Jazz {tag}", starts_at=T0 + 2 * day)
        wrong_time = make_event(name=f"Jazz {tag}", starts_at=T0 + 9 * day)
        wrong_text = make_event(name="Rock", starts_at=T0 + 2 * day)
        rejected = make_event(name=f"Jazz {tag}", starts_at=T0 + 3 * day, rejected_at=T0)
        await seed(uow_factory, events=[hit, wrong_time, wrong_text, rejected])
        query = EventQuery(text=tag.upper(), starts_from=T0 + day, starts_before=T0 + 5 * day)
        assert await listed_ids(uow_factory, query) == [hit.id]

    async def test_list_views_honour_the_limit(self, uow_factory: UnitOfWorkFactory) -> None:
        """At most ``limit`` events."""
        events = [make_event(starts_at=T0 + timedelta(days=d)) for d in range(1, 5)]
        await seed(uow_factory, events=events)
        assert await listed_ids(uow_factory, EventQuery(limit=2)) == [e.id for e in events[:2]]

    # --- participations -------------------------------------------------------------

    async def test_participation_round_trip_and_replace(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Participations come back field for field; saving again replaces the row."""
        event, user, other = make_event(), make_user(), make_user()
        first = make_participation(
            event.id,
            user.id,
            status=WAITLISTED,
            created_at=MICRO_1,
            status_changed_at=MICRO_1,
        )
        queued = make_participation(event.id, other.id, reminder_queued_at=MICRO_2)
        await seed(uow_factory, users=[user, other], events=[event])
        async with uow_factory() as uow:
            await uow.participations.save(first)
            await uow.participations.save(queued)
            await uow.commit()
        assert await get_participation(uow_factory, event.id, user.id) == first
        assert await get_participation(uow_factory, event.id, other.id) == queued
        for status in (PARTICIPATING, REJECTED, WAITLISTED):
            replaced = attrs.evolve(first, status=status, status_changed_at=MICRO_3)
            async with uow_factory() as uow:
                await uow.participations.save(replaced)
                await uow.commit()
            assert await get_participation(uow_factory, event.id, user.id) == replaced
        # A save never writes over the reminder claim of an existing row (set by claims,
        # which do not lock the event, and cleared only by clear_reminders).
        left = attrs.evolve(queued, status=REJECTED, reminder_queued_at=None)
        async with uow_factory() as uow:
            await uow.participations.save(left)
            await uow.commit()
        assert await get_participation(uow_factory, event.id, other.id) == attrs.evolve(
            left, reminder_queued_at=MICRO_2
        )

    async def test_missing_participation_is_none(self, uow_factory: UnitOfWorkFactory) -> None:
        """Lookups of unknown participations give ``None``."""
        event, user, other = make_event(), make_user(), make_user()
        await seed(
            uow_factory,
            users=[user, other],
            events=[event],
            participations=[make_participation(event.id, user.id)],
        )
        assert await get_participation(uow_factory, event.id, other.id) is None
        assert await get_participation(uow_factory, make_event().id, user.id) is None

    async def test_count_participations_by_status(self, uow_factory: UnitOfWorkFactory) -> None:
        """Counts per event and status, live within the unit of work."""
        event, elsewhere = make_event(), make_event()
        users = [make_user() for _ in range(6)]
        statuses = [PARTICIPATING, PARTICIPATING, PARTICIPATING, WAITLISTED, WAITLISTED, REJECTED]
        await seed(
            uow_factory,
            users=users,
            events=[event, elsewhere],
            participations=[
                *(
                    make_participation(event.id, u.id, status=s)
                    for u, s in zip(users, statuses, strict=True)
                ),
                make_participation(elsewhere.id, users[5].id),
            ],
        )
        async with uow_factory() as uow:
            assert await uow.participations.count(event.id, PARTICIPATING) == 3
            assert await uow.participations.count(event.id, WAITLISTED) == 2
            assert await uow.participations.count(event.id, REJECTED) == 1
            assert await uow.participations.count(elsewhere.id, PARTICIPATING) == 1
            assert await uow.participations.count(make_event().id, PARTICIPATING) == 0
            # Counted live: a change in this unit of work shows at once.
            await uow.participations.save(
                make_participation(event.id, users[5].id, status=PARTICIPATING)
            )
            assert await uow.participations.count(event.id, PARTICIPATING) == 4
            assert await uow.participations.count(event.id, REJECTED) == 0

    async def test_next_waitlisted_is_the_longest_waiting(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """The WAITLISTED row with the earliest ``status_changed_at`` comes next."""
        event, elsewhere = make_event(), make_event()
        early, late, later, joined, left, foreign = (make_user() for _ in range(6))
        minute = timedelta(minutes=1)
        await seed(
            uow_factory,
            users=[early, late, later, joined, left, foreign],
            events=[event, elsewhere],
        )

        def waiting(event_id: UUID, user: User, minutes: int) -> Participation:
            return make_participation(
                event_id, user.id, status=WAITLISTED, status_changed_at=T0 + minutes * minute
            )

        # Written one by one, in an order unrelated to the waiting order.
        rows = [
            waiting(event.id, later, 3),
            make_participation(event.id, joined.id),
            waiting(event.id, late, 2),
            make_participation(event.id, left.id, status=REJECTED),
            waiting(event.id, early, 1),
            waiting(elsewhere.id, foreign, 0),
        ]
        for row in rows:
            await seed(uow_factory, participations=[row])
        async with uow_factory() as uow:
            assert await uow.participations.next_waitlisted(event.id) == rows[4]
            await uow.participations.save(
                attrs.evolve(rows[4], status=PARTICIPATING, status_changed_at=T0 + 9 * minute)
            )
            assert await uow.participations.next_waitlisted(event.id) == rows[2]
            await uow.participations.save(
                attrs.evolve(rows[2], status=REJECTED, status_changed_at=T0 + 9 * minute)
            )
            assert await uow.participations.next_waitlisted(event.id) == rows[0]
            # Waitlisted again: to the back of the queue.
            back = waiting(event.id, late, 10)
            await uow.participations.save(back)
            assert await uow.participations.next_waitlisted(event.id) == rows[0]
            await uow.participations.save(
                attrs.evolve(rows[0], status=PARTICIPATING, status_changed_at=T0 + 10 * minute)
            )
            assert await uow.participations.next_waitlisted(event.id) == back

    async def test_next_waitlisted_breaks_ties_by_write_order(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """On equal ``status_changed_at`` the row written first comes next."""
        one, two = make_event(), make_event()
        a, b = make_user(), make_user()
        await seed(uow_factory, users=[a, b], events=[one, two])
        # The same two users, written in opposite orders: no id order can pass both.
        for event, writers in ((one, (a, b)), (two, (b, a))):
            for user in writers:
                await seed(
                    uow_factory,
                    participations=[
                        make_participation(
                            event.id, user.id, status=WAITLISTED, status_changed_at=MICRO_1
                        )
                    ],
                )
        async with uow_factory() as uow:
            first_one = await uow.participations.next_waitlisted(one.id)
            first_two = await uow.participations.next_waitlisted(two.id)
        assert first_one is not None
        assert first_one.user_id == a.id
        assert first_two is not None
        assert first_two.user_id == b.id

    async def test_next_waitlisted_orders_ties_by_when_the_waiting_began(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A row that became WAITLISTED later loses a tie, even if it was inserted first."""
        event, early_row, early_wait = make_event(), make_user(), make_user()
        await seed(uow_factory, users=[early_row, early_wait], events=[event])
        inserted_first = make_participation(event.id, early_row.id, status_changed_at=T0)
        waiting_first = make_participation(
            event.id, early_wait.id, status=WAITLISTED, status_changed_at=MICRO_1
        )
        waiting_second = attrs.evolve(inserted_first, status=WAITLISTED, status_changed_at=MICRO_1)
        for row in (inserted_first, waiting_first, waiting_second):
            await seed(uow_factory, participations=[row])
        async with uow_factory() as uow:
            assert await uow.participations.next_waitlisted(event.id) == waiting_first

    async def test_next_waitlisted_is_none_without_a_waitlist(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """No WAITLISTED row gives ``None``."""
        event, user, other = make_event(), make_user(), make_user()
        await seed(
            uow_factory,
            users=[user, other],
            events=[event],
            participations=[
                make_participation(event.id, user.id),
                make_participation(event.id, other.id, status=REJECTED),
            ],
        )
        async with uow_factory() as uow:
            assert await uow.participations.next_waitlisted(event.id) is None
            assert await uow.participations.next_waitlisted(make_event().id) is None

    async def test_list_participants_pages_in_order_with_their_users(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Participants with their users, deleted included, in ``(created_at, user_id)`` pages."""
        event, elsewhere = make_event(), make_event()
        users = [make_user() for _ in range(6)]
        users[2] = attrs.evolve(users[2], deleted_at=MICRO_1)
        minute = timedelta(minutes=1)
        offsets = [3, 1, 2, 2, 2, 0]
        statuses = [PARTICIPATING, WAITLISTED, PARTICIPATING, REJECTED, PARTICIPATING, WAITLISTED]
        rows = [
            make_participation(event.id, u.id, status=s, created_at=T0 + o * minute)
            for u, s, o in zip(users, statuses, offsets, strict=True)
        ]
        await seed(
            uow_factory,
            users=users,
            events=[event, elsewhere],
            participations=[*rows, make_participation(elsewhere.id, users[0].id)],
        )
        by_user = {u.id: u for u in users}
        expected = [
            Participant(user=by_user[p.user_id], participation=p)
            for p in sorted(rows, key=lambda p: (p.created_at, p.user_id))
        ]
        pages: list[list[Participant]] = []
        after: tuple[datetime, UUID] | None = None
        async with uow_factory() as uow:
            for _ in range(MAX_PAGES):
                page = list(
                    await uow.participations.list_participants(
                        event.id, status=None, after=after, limit=4
                    )
                )
                if not page:
                    break
                pages.append(page)
                after = (page[-1].participation.created_at, page[-1].participation.user_id)
            participating = await uow.participations.list_participants(
                event.id, status=PARTICIPATING, after=None, limit=10
            )
            short = await uow.participations.list_participants(
                event.id, status=None, after=None, limit=2
            )
        assert [len(p) for p in pages] == [4, 2]
        assert [x for p in pages for x in p] == expected
        assert list(participating) == [
            x for x in expected if x.participation.status is PARTICIPATING
        ]
        assert list(short) == expected[:2]
        assert any(x.user.deleted_at == MICRO_1 for x in participating)

    async def test_list_for_user_filters_by_status(self, uow_factory: UnitOfWorkFactory) -> None:
        """A user's participations whose status is in the set."""
        one, two, three = make_event(), make_event(), make_event()
        me, them = make_user(), make_user()
        joined = make_participation(one.id, me.id)
        waiting = make_participation(two.id, me.id, status=WAITLISTED)
        left = make_participation(three.id, me.id, status=REJECTED)
        await seed(
            uow_factory,
            users=[me, them],
            events=[one, two, three],
            participations=[joined, waiting, left, make_participation(one.id, them.id)],
        )

        def key(p: Participation) -> UUID:
            return p.event_id

        async with uow_factory() as uow:
            active = await uow.participations.list_for_user(
                me.id, frozenset({PARTICIPATING, WAITLISTED})
            )
            assert sorted(active, key=key) == sorted([joined, waiting], key=key)
            gone = await uow.participations.list_for_user(me.id, frozenset({REJECTED}))
            assert list(gone) == [left]
            assert list(await uow.participations.list_for_user(me.id, frozenset())) == []
            nobody = await uow.participations.list_for_user(
                make_user().id, frozenset(ParticipationStatus)
            )
            assert list(nobody) == []

    async def test_clear_reminders_unsets_the_claims_of_one_event(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """clear_reminders unsets the event's claims and counts the rows it changed."""
        event, elsewhere = make_event(), make_event()
        a, b, c = make_user(), make_user(), make_user()
        queued_a = make_participation(event.id, a.id, reminder_queued_at=MICRO_1)
        queued_b = make_participation(event.id, b.id, reminder_queued_at=MICRO_2)
        not_queued = make_participation(event.id, c.id)
        queued_elsewhere = make_participation(elsewhere.id, a.id, reminder_queued_at=MICRO_1)
        await seed(
            uow_factory,
            users=[a, b, c],
            events=[event, elsewhere],
            participations=[queued_a, queued_b, not_queued, queued_elsewhere],
        )
        async with uow_factory() as uow:
            assert await uow.participations.clear_reminders(event.id) == 2
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.participations.get(event.id, a.id) == attrs.evolve(
                queued_a, reminder_queued_at=None
            )
            assert await uow.participations.get(event.id, b.id) == attrs.evolve(
                queued_b, reminder_queued_at=None
            )
            assert await uow.participations.get(event.id, c.id) == not_queued
            assert await uow.participations.get(elsewhere.id, a.id) == queued_elsewhere
            assert await uow.participations.clear_reminders(event.id) == 0

    # --- reminders ------------------------------------------------------------------

    async def test_claim_due_reminders_claims_each_due_row_once(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Due rows are claimed with ``reminder_queued_at = now``, and only once."""
        now = T0 + timedelta(days=1)
        horizon = now + timedelta(hours=24)
        soon = make_event(starts_at=now + US)
        at_horizon = make_event(starts_at=horizon)
        a, b, c = make_user(), make_user(), make_user()
        rows = [
            make_participation(soon.id, a.id),
            make_participation(soon.id, b.id),
            make_participation(at_horizon.id, c.id),
        ]
        await seed(uow_factory, users=[a, b, c], events=[soon, at_horizon], participations=rows)
        async with uow_factory() as uow:
            claimed = await uow.participations.claim_due_reminders(now, horizon, 100)
            await uow.commit()
        users = {u.id: u for u in (a, b, c)}
        events = {e.id: e for e in (soon, at_horizon)}
        assert len(claimed) == 3
        assert {(d.participation.event_id, d.participation.user_id) for d in claimed} == {
            (p.event_id, p.user_id) for p in rows
        }
        for due in claimed:
            assert due.event == events[due.participation.event_id]
            assert due.user == users[due.participation.user_id]
            original = next(p for p in rows if p.user_id == due.user.id)
            assert due.participation == attrs.evolve(original, reminder_queued_at=now)
            stored = await get_participation(uow_factory, original.event_id, original.user_id)
            assert stored == due.participation
        async with uow_factory() as uow:
            assert list(await uow.participations.claim_due_reminders(now, horizon, 100)) == []
            later = now + timedelta(hours=1)
            assert list(await uow.participations.claim_due_reminders(later, horizon, 100)) == []

    @pytest.mark.parametrize(
        "case",
        [
            "waitlisted",
            "rejected_participation",
            "already_queued",
            "rejected_event",
            "event_starts_now",
            "event_started",
            "beyond_horizon",
            "deleted_user",
        ],
    )
    async def test_claim_due_reminders_skips_rows_that_are_not_due(
        self, uow_factory: UnitOfWorkFactory, case: str
    ) -> None:
        """Rows that are not due are neither claimed nor changed."""
        now = T0 + timedelta(days=1)
        horizon = now + timedelta(hours=24)
        event_fields: dict[str, Any] = {"starts_at": now + timedelta(hours=2)}
        user_fields: dict[str, Any] = {}
        row_fields: dict[str, Any] = {}
        match case:
            case "waitlisted":
                row_fields["status"] = WAITLISTED
            case "rejected_participation":
                row_fields["status"] = REJECTED
            case "already_queued":
                row_fields["reminder_queued_at"] = now - timedelta(hours=1)
            case "rejected_event":
                event_fields["rejected_at"] = T0
            case "event_starts_now":
                event_fields["starts_at"] = now
            case "event_started":
                event_fields["starts_at"] = now - timedelta(minutes=30)
            case "beyond_horizon":
                event_fields["starts_at"] = horizon + US
            case "deleted_user":
                user_fields["deleted_at"] = T0
        event = make_event(**event_fields)
        user = make_user(**user_fields)
        row = make_participation(event.id, user.id, **row_fields)
        # A due row next to it shows the claim works at all.
        due_user = make_user()
        due_event = make_event(starts_at=now + timedelta(hours=2))
        due_row = make_participation(due_event.id, due_user.id)
        await seed(
            uow_factory,
            users=[user, due_user],
            events=[event, due_event],
            participations=[row, due_row],
        )
        async with uow_factory() as uow:
            claimed = await uow.participations.claim_due_reminders(now, horizon, 100)
            await uow.commit()
        assert [d.participation.user_id for d in claimed] == [due_user.id]
        assert await get_participation(uow_factory, event.id, user.id) == row

    async def test_claim_due_reminders_honours_the_limit(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """At most ``limit`` claims per call, until none is left."""
        now = T0 + timedelta(days=1)
        horizon = now + timedelta(days=1)
        event = make_event(starts_at=now + timedelta(hours=3))
        users = [make_user() for _ in range(5)]
        await seed(
            uow_factory,
            users=users,
            events=[event],
            participations=[make_participation(event.id, u.id) for u in users],
        )
        sizes: list[int] = []
        seen: list[UUID] = []
        for _ in range(4):
            async with uow_factory() as uow:
                claimed = await uow.participations.claim_due_reminders(now, horizon, 2)
                await uow.commit()
            sizes.append(len(claimed))
            seen.extend(d.user.id for d in claimed)
        assert sizes == [2, 2, 1, 0]
        assert sorted(seen) == sorted(u.id for u in users)

    async def test_a_rolled_back_claim_can_be_claimed_again(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A claim that was not committed is undone."""
        now = T0 + timedelta(days=1)
        horizon = now + timedelta(days=1)
        event, user = make_event(starts_at=now + timedelta(hours=3)), make_user()
        row = make_participation(event.id, user.id)
        await seed(uow_factory, users=[user], events=[event], participations=[row])
        async with uow_factory() as uow:
            assert len(await uow.participations.claim_due_reminders(now, horizon, 10)) == 1
        assert await get_participation(uow_factory, event.id, user.id) == row
        async with uow_factory() as uow:
            assert len(await uow.participations.claim_due_reminders(now, horizon, 10)) == 1

    async def test_concurrent_reminder_claims_never_share_a_row(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Two racing claimers never get the same row, and miss none."""
        now = T0 + timedelta(days=1)
        horizon = now + timedelta(days=1)
        event = make_event(starts_at=now + timedelta(hours=3))
        users = [make_user() for _ in range(5)]
        await seed(
            uow_factory,
            users=users,
            events=[event],
            participations=[make_participation(event.id, u.id) for u in users],
        )

        async def worker() -> list[UUID]:
            async with uow_factory() as uow:
                claimed = await uow.participations.claim_due_reminders(now, horizon, 3)
                await asyncio.sleep(0)
                await uow.commit()
                return [d.user.id for d in claimed]

        first, second = await asyncio.gather(worker(), worker())
        assert not set(first) & set(second)
        assert sorted(first + second) == sorted(u.id for u in users)

    # --- capacity under concurrency -------------------------------------------------

    async def test_concurrent_joins_never_exceed_capacity(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """get_for_update serialises racing joins: capacity is never exceeded."""
        event = make_event(max_participants_count=5)
        users = [make_user() for _ in range(20)]
        await seed(uow_factory, users=users, events=[event])

        async def join(user: User) -> ParticipationStatus:
            async with uow_factory() as uow:
                locked = await uow.events.get_for_update(event.id)
                assert locked is not None
                taken = await uow.participations.count(event.id, PARTICIPATING)
                await asyncio.sleep(0)  # let the others run, unless the lock holds them
                status = PARTICIPATING if locked.has_room(taken) else WAITLISTED
                await uow.participations.save(make_participation(event.id, user.id, status=status))
                await uow.commit()
                return status

        outcomes = await asyncio.gather(*(join(u) for u in users))
        assert outcomes.count(PARTICIPATING) == 5
        assert outcomes.count(WAITLISTED) == 15
        async with uow_factory() as uow:
            assert await uow.participations.count(event.id, PARTICIPATING) == 5
            assert await uow.participations.count(event.id, WAITLISTED) == 15

    # --- notifications --------------------------------------------------------------

    async def test_notification_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """Notifications come back field for field."""
        user = make_user()
        plain = make_notification(user.id)
        full = make_notification(
            user.id,
            title="Событие перенесено 📅",
            content="Новое время: 5 марта, 19:00.\n— вторая строка.",
            cta_url="https://example.com/events/1?a=1&b=2",
            cta_label="Открыть",
            created_at=MICRO_1,
            acked_at=MICRO_2,
        )
        await seed(uow_factory, users=[user], notifications=[plain, full])
        async with uow_factory() as uow:
            assert await uow.notifications.get(plain.id) == plain
            assert await uow.notifications.get(full.id) == full
            assert await uow.notifications.get(make_notification(user.id).id) is None

    async def test_ack_keeps_the_first_ack_and_only_the_owners(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """An ack sets acked_at once, returns the stored row, and ignores other users."""
        user, stranger = make_user(), make_user()
        notification = make_notification(user.id)
        await seed(uow_factory, users=[user, stranger], notifications=[notification])
        acked = attrs.evolve(notification, acked_at=MICRO_1)
        async with uow_factory() as uow:
            assert await uow.notifications.ack(notification.id, stranger.id, MICRO_1) is None
            assert await uow.notifications.ack(notification.id, user.id, MICRO_1) == acked
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.notifications.ack(notification.id, user.id, MICRO_2) == acked
            missing = make_notification(user.id).id
            assert await uow.notifications.ack(missing, user.id, MICRO_2) is None
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.notifications.get(notification.id) == acked

    async def test_list_notifications_newest_first_in_pages(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A user's notifications newest first, in keyset pages, optionally unacked only."""
        me, them = make_user(), make_user()
        minute = timedelta(minutes=1)
        offsets_and_acks = [
            (1, None),
            (3, T0 + 9 * minute),
            (2, None),
            (2, None),
            (2, None),
            (0, None),
        ]
        mine = [
            make_notification(me.id, created_at=T0 + o * minute, acked_at=acked)
            for o, acked in offsets_and_acks
        ]
        theirs = make_notification(them.id, created_at=T0 + 2 * minute)
        await seed(uow_factory, users=[me, them], notifications=[*mine, theirs])
        expected = sorted(mine, key=lambda n: (n.created_at, n.id), reverse=True)
        pages: list[list[InstantNotification]] = []
        before: tuple[datetime, UUID] | None = None
        async with uow_factory() as uow:
            for _ in range(MAX_PAGES):
                page = list(
                    await uow.notifications.list(me.id, unacked_only=False, before=before, limit=4)
                )
                if not page:
                    break
                pages.append(page)
                before = (page[-1].created_at, page[-1].id)
            unacked = await uow.notifications.list(me.id, unacked_only=True, before=None, limit=10)
            short = await uow.notifications.list(me.id, unacked_only=False, before=None, limit=2)
            others = await uow.notifications.list(
                them.id, unacked_only=False, before=None, limit=10
            )
        assert [len(p) for p in pages] == [4, 2]
        assert [n for p in pages for n in p] == expected
        assert list(unacked) == [n for n in expected if n.acked_at is None]
        assert list(short) == expected[:2]
        assert list(others) == [theirs]

    async def test_ack_all_acks_the_users_unacked_notifications(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """ack_all acks the user's unacked notifications only, and counts them."""
        me, them = make_user(), make_user()
        now = T0 + timedelta(days=1)
        unacked = [make_notification(me.id) for _ in range(3)]
        already = make_notification(me.id, acked_at=MICRO_1)
        theirs = make_notification(them.id)
        await seed(uow_factory, users=[me, them], notifications=[*unacked, already, theirs])
        async with uow_factory() as uow:
            assert await uow.notifications.ack_all(me.id, now) == 3
            await uow.commit()
        async with uow_factory() as uow:
            for n in unacked:
                assert await uow.notifications.get(n.id) == attrs.evolve(n, acked_at=now)
            assert await uow.notifications.get(already.id) == already
            assert await uow.notifications.get(theirs.id) == theirs
            assert await uow.notifications.ack_all(me.id, now) == 0
            listed = await uow.notifications.list(me.id, unacked_only=True, before=None, limit=10)
            assert list(listed) == []

    # --- outbox -------------------------------------------------------------------

    async def test_outbox_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """Outbox messages come back field for field, in every status."""
        plain = make_outbox_message()
        html = make_outbox_message(
            email=make_email(
                subject="Напоминание: «Концерт» завтра",
                text="Привет!\nЖдём вас.",
                html="<p>Привет! <b>Ждём</b> вас.</p>",
            ),
            created_at=MICRO_1,
            next_attempt_at=MICRO_2,
        )
        failed = make_outbox_message(
            status=OutboxStatus.FAILED, attempts=7, last_error="550 Нет такого ящика"
        )
        sent = make_outbox_message(status=OutboxStatus.SENT, attempts=1, sent_at=MICRO_3)
        await seed(uow_factory, outbox=[plain, html, failed, sent])
        async with uow_factory() as uow:
            for message in (plain, html, failed, sent):
                assert await uow.outbox.get(message.id) == message
            assert await uow.outbox.get(make_outbox_message().id) is None

    async def test_add_many_stores_every_notification_and_message(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """``add_many`` stores each item as ``add`` would, and an empty batch is fine."""
        user = make_user()
        await seed(uow_factory, users=[user])
        notifications = [
            make_notification(user.id, title=f"Напоминание {i}", created_at=MICRO_1)
            for i in range(3)
        ]
        messages = [make_outbox_message(created_at=MICRO_1) for _ in range(3)]
        async with uow_factory() as uow:
            await uow.notifications.add_many([])
            await uow.outbox.add_many([])
            await uow.notifications.add_many(notifications)
            await uow.outbox.add_many(messages)
            await uow.commit()
        async with uow_factory() as uow:
            for notification in notifications:
                assert await uow.notifications.get(notification.id) == notification
            for message in messages:
                assert await uow.outbox.get(message.id) == message
            claimed = await uow.outbox.claim_due(T0 + timedelta(days=1), T0 + timedelta(days=2), 10)
            assert {m.id for m in claimed} == {m.id for m in messages}

    async def test_outbox_update_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """An outbox update replaces every field."""
        message = make_outbox_message()
        await seed(uow_factory, outbox=[message])
        retried = attrs.evolve(
            message, attempts=2, next_attempt_at=MICRO_1, last_error="421 Try again"
        )
        sent = attrs.evolve(retried, status=OutboxStatus.SENT, attempts=3, sent_at=MICRO_2)
        for version in (retried, sent):
            async with uow_factory() as uow:
                await uow.outbox.update(version)
                await uow.commit()
            async with uow_factory() as uow:
                assert await uow.outbox.get(message.id) == version

    async def test_outbox_claim_due_takes_pending_due_messages_oldest_first(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Only PENDING messages due by ``now`` are claimed, oldest first, and leased."""
        now = T0 + timedelta(days=1)
        lease = now + timedelta(minutes=5)
        hour = timedelta(hours=1)
        due_now = make_outbox_message(next_attempt_at=now)
        oldest = make_outbox_message(next_attempt_at=now - 2 * hour, attempts=3, last_error="x")
        older = make_outbox_message(next_attempt_at=now - hour)
        future = make_outbox_message(next_attempt_at=now + hour)
        just_after = make_outbox_message(next_attempt_at=now + US)
        sent = make_outbox_message(
            status=OutboxStatus.SENT, next_attempt_at=now - 3 * hour, sent_at=now - 3 * hour
        )
        failed = make_outbox_message(status=OutboxStatus.FAILED, next_attempt_at=now - 3 * hour)
        await seed(uow_factory, outbox=[due_now, oldest, older, future, just_after, sent, failed])
        async with uow_factory() as uow:
            claimed = list(await uow.outbox.claim_due(now, lease, 10))
            await uow.commit()
        expected = [attrs.evolve(m, next_attempt_at=lease) for m in (oldest, older, due_now)]
        assert claimed == expected
        async with uow_factory() as uow:
            for message in expected:
                assert await uow.outbox.get(message.id) == message
            for untouched in (future, just_after, sent, failed):
                assert await uow.outbox.get(untouched.id) == untouched

    async def test_outbox_claim_due_honours_the_limit(self, uow_factory: UnitOfWorkFactory) -> None:
        """At most ``limit`` messages per claim, the oldest."""
        now = T0 + timedelta(days=1)
        lease = now + timedelta(minutes=5)
        messages = [
            make_outbox_message(next_attempt_at=now - timedelta(minutes=m)) for m in (1, 3, 2)
        ]
        await seed(uow_factory, outbox=messages)
        async with uow_factory() as uow:
            first = list(await uow.outbox.claim_due(now, lease, 2))
            await uow.commit()
        assert [m.id for m in first] == [messages[1].id, messages[2].id]
        async with uow_factory() as uow:
            second = list(await uow.outbox.claim_due(now, lease, 2))
            await uow.commit()
        assert [m.id for m in second] == [messages[0].id]

    async def test_outbox_claimed_messages_come_back_when_the_lease_ends(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A claimed message is claimable again only once its lease ends."""
        now = T0 + timedelta(days=1)
        lease = now + timedelta(minutes=5)
        messages = [make_outbox_message(next_attempt_at=now) for _ in range(2)]
        await seed(uow_factory, outbox=messages)
        async with uow_factory() as uow:
            assert len(await uow.outbox.claim_due(now, lease, 10)) == 2
            await uow.commit()
        async with uow_factory() as uow:
            assert list(await uow.outbox.claim_due(now, lease, 10)) == []
            assert (
                list(await uow.outbox.claim_due(lease - US, lease + timedelta(minutes=5), 10)) == []
            )
        new_lease = lease + timedelta(minutes=5)
        async with uow_factory() as uow:
            again = await uow.outbox.claim_due(lease, new_lease, 10)
            await uow.commit()
        assert sorted(m.id for m in again) == sorted(m.id for m in messages)
        assert all(m.next_attempt_at == new_lease for m in again)

    async def test_a_rolled_back_outbox_claim_can_be_claimed_again(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A claim that was not committed is undone."""
        now = T0 + timedelta(days=1)
        message = make_outbox_message(next_attempt_at=now)
        await seed(uow_factory, outbox=[message])
        async with uow_factory() as uow:
            assert len(await uow.outbox.claim_due(now, now + timedelta(minutes=5), 10)) == 1
        async with uow_factory() as uow:
            assert await uow.outbox.get(message.id) == message
            assert len(await uow.outbox.claim_due(now, now + timedelta(minutes=5), 10)) == 1

    async def test_concurrent_outbox_claims_never_share_a_message(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Two racing claimers never get the same message, and miss none."""
        now = T0 + timedelta(days=1)
        lease = now + timedelta(minutes=5)
        messages = [make_outbox_message(next_attempt_at=now) for _ in range(5)]
        await seed(uow_factory, outbox=messages)

        async def worker() -> list[UUID]:
            async with uow_factory() as uow:
                claimed = await uow.outbox.claim_due(now, lease, 3)
                await asyncio.sleep(0)
                await uow.commit()
                return [m.id for m in claimed]

        first, second = await asyncio.gather(worker(), worker())
        assert not set(first) & set(second)
        assert sorted(first + second) == sorted(m.id for m in messages)
