"""The contract of the calendar feed repository, for every store to pass.

:class:`CalendarFeedContract` is a mixin of
:class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract` (it needs the
same ``uow_factory`` fixture over an empty store), so every store that runs the
repository contract runs these tests too.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from uuid import UUID

import pytest

from afisha_core.domain import CalendarFeed
from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.builders import T0, make_user

__all__ = ["CalendarFeedContract"]


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class CalendarFeedContract:
    """One feed per user, found by its token hash; replaced on rotation, gone on revocation."""

    pytestmark = pytest.mark.asyncio

    async def _user(self, uow_factory: UnitOfWorkFactory) -> UUID:
        user = make_user()
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user.id

    async def test_a_feed_is_found_by_its_token_hash(self, uow_factory: UnitOfWorkFactory) -> None:
        """``put`` stores a feed that ``get_by_token_hash`` finds, and only by its hash."""
        user_id = await self._user(uow_factory)
        feed = CalendarFeed(user_id=user_id, token_hash=_hash(f"{user_id}:1"), created_at=T0)
        async with uow_factory() as uow:
            assert await uow.calendar_feeds.get_by_token_hash(feed.token_hash) is None
            await uow.calendar_feeds.put(feed)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.calendar_feeds.get_by_token_hash(feed.token_hash) == feed
            assert await uow.calendar_feeds.get_by_token_hash(_hash("another")) is None

    async def test_put_replaces_the_users_feed(self, uow_factory: UnitOfWorkFactory) -> None:
        """A second ``put`` for the user replaces the first: the old hash finds nothing."""
        user_id = await self._user(uow_factory)
        old = CalendarFeed(user_id=user_id, token_hash=_hash(f"{user_id}:old"), created_at=T0)
        new = CalendarFeed(
            user_id=user_id,
            token_hash=_hash(f"{user_id}:new"),
            created_at=T0 + timedelta(minutes=1),
        )
        async with uow_factory() as uow:
            await uow.calendar_feeds.put(old)
            await uow.commit()
        async with uow_factory() as uow:
            await uow.calendar_feeds.put(new)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.calendar_feeds.get_by_token_hash(old.token_hash) is None
            assert await uow.calendar_feeds.get_by_token_hash(new.token_hash) == new

    async def test_feeds_of_two_users_are_apart(self, uow_factory: UnitOfWorkFactory) -> None:
        """Each user has their own feed; removing one leaves the other."""
        first, second = await self._user(uow_factory), await self._user(uow_factory)
        a = CalendarFeed(user_id=first, token_hash=_hash(f"{first}:a"), created_at=T0)
        b = CalendarFeed(user_id=second, token_hash=_hash(f"{second}:b"), created_at=T0)
        async with uow_factory() as uow:
            await uow.calendar_feeds.put(a)
            await uow.calendar_feeds.put(b)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.calendar_feeds.delete(first)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.calendar_feeds.get_by_token_hash(a.token_hash) is None
            assert await uow.calendar_feeds.get_by_token_hash(b.token_hash) == b

    async def test_delete_says_whether_there_was_a_feed(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """``delete`` is ``True`` once, then ``False``."""
        user_id = await self._user(uow_factory)
        feed = CalendarFeed(user_id=user_id, token_hash=_hash(f"{user_id}:d"), created_at=T0)
        async with uow_factory() as uow:
            assert not await uow.calendar_feeds.delete(user_id)
            await uow.calendar_feeds.put(feed)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.calendar_feeds.delete(user_id)
            assert not await uow.calendar_feeds.delete(user_id)
            await uow.commit()

    async def test_a_rolled_back_put_leaves_nothing(self, uow_factory: UnitOfWorkFactory) -> None:
        """A feed stored in a unit of work that does not commit is not there."""
        user_id = await self._user(uow_factory)
        feed = CalendarFeed(user_id=user_id, token_hash=_hash(f"{user_id}:r"), created_at=T0)
        async with uow_factory() as uow:
            await uow.calendar_feeds.put(feed)
        async with uow_factory() as uow:
            assert await uow.calendar_feeds.get_by_token_hash(feed.token_hash) is None

    async def test_erasing_a_person_removes_their_feed(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """``personal_data.delete_rows`` removes the person's calendar feed."""
        user = make_user()
        feed = CalendarFeed(user_id=user.id, token_hash=_hash(f"{user.id}:e"), created_at=T0)
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.calendar_feeds.put(feed)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.personal_data.delete_rows(user.id, user.email) >= 1
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.calendar_feeds.get_by_token_hash(feed.token_hash) is None
