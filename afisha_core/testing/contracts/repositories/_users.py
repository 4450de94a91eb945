"""The users repository: lookups, unique emails and usernames, listing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import UUID

import attrs
import pytest

from afisha_core.domain import (
    Role,
    User,
)
from afisha_core.errors import EmailTaken, UsernameTaken
from afisha_core.ports import UnitOfWorkFactory, UserQuery
from afisha_core.testing.builders import (
    T0,
    make_user,
    unique,
)
from afisha_core.testing.contracts.repositories._support import (
    MAX_PAGES,
    MICRO_1,
    US,
    add_users,
    get_user,
    seed,
    update_user,
)


class UserRepositoryContract:
    """The users repository: lookups, unique emails and usernames, listing.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

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
