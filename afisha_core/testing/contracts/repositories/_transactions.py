"""The unit of work: commit, rollback and isolation."""

from __future__ import annotations

import asyncio

import attrs
import pytest

from afisha_core.domain import (
    Event,
    User,
)
from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.builders import (
    make_event,
    make_user,
)
from afisha_core.testing.contracts.repositories._support import (
    Boom,
    get_event,
    get_user,
    seed,
)


class TransactionContract:
    """The unit of work: commit, rollback and isolation.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

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

    async def test_a_read_only_unit_of_work_reads_what_is_committed_and_cannot_commit(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """read_only=True reads committed rows; its commit raises RuntimeError."""
        user = make_user()
        await seed(uow_factory, users=[user])
        async with uow_factory(read_only=True) as uow:
            assert await uow.users.get(user.id) == user
            with pytest.raises(RuntimeError, match="read-only"):
                await uow.commit()
            await uow.rollback()  # allowed, and changes nothing
        assert await get_user(uow_factory, user.id) == user

    async def test_a_read_only_unit_of_work_does_not_wait_for_an_open_writer(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A read while a write is open (even in one task) answers at once, without its rows."""
        before = make_user()
        await seed(uow_factory, users=[before])
        pending = make_user()
        async with uow_factory() as writer:
            await writer.users.add(pending)
            await writer.users.get_for_update(before.id)
            async with asyncio.timeout(5), uow_factory(read_only=True) as reader:
                assert await reader.users.get(before.id) == before
                assert await reader.users.get(pending.id) is None
            await writer.commit()
        async with uow_factory(read_only=True) as reader:
            assert await reader.users.get(pending.id) == pending

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
