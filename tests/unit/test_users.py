"""Profiles, deleting one's account, and user administration."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from afisha_core.domain import ParticipationStatus, Role, User
from afisha_core.errors import (
    Forbidden,
    InvalidCredentials,
    NotFound,
    SystemUserProtected,
    UsernameTaken,
    ValidationFailed,
)
from afisha_core.usecases import LoginResult
from tests.support.world import World
from tests.unit._helpers import (
    PASSWORD,
    assert_token_rejected,
    login,
    principal_of,
    stored_user,
)


async def person(
    world: World, username: str, full_name: str = "Test Person", *, email: str | None = None
) -> LoginResult:
    """A registered, confirmed user with a chosen username and full name."""
    email = email or f"{username}@example.org"
    token = await world.afisha.accounts.register(email, username, full_name, PASSWORD)
    code = await world.code_for(email)
    return await world.afisha.accounts.confirm(token, code)


async def system_admin_login(world: World) -> tuple[User, LoginResult]:
    admin = await world.admin(is_system=True)
    return admin, await login(world, admin.username)


# --- profile --------------------------------------------------------------------------------


async def test_update_the_full_name(world: World) -> None:
    me = await person(world, "ann", "Ann Smith")

    updated = await world.afisha.accounts.update_profile(me.user, full_name="  Ann Jones ")

    assert updated.full_name == "Ann Jones"
    assert updated.username == "ann"
    assert (await stored_user(world, me.user.id)).full_name == "Ann Jones"
    assert (await world.afisha.accounts.get_me(me.user)).full_name == "Ann Jones"


async def test_update_the_username(world: World) -> None:
    me = await person(world, "ann")

    updated = await world.afisha.accounts.update_profile(me.user, username="ann.smith")

    assert updated.username == "ann.smith"
    assert (await login(world, "ann.smith")).user.id == me.user.id
    with pytest.raises(InvalidCredentials):
        await login(world, "ann")
    # the old username is free again
    other = await person(world, "ann", email="other.ann@example.org")
    assert other.user.id != me.user.id


async def test_update_both_at_once_and_nothing_at_all(world: World) -> None:
    me = await person(world, "ann", "Ann Smith")

    unchanged = await world.afisha.accounts.update_profile(me.user)
    both = await world.afisha.accounts.update_profile(me.user, full_name="Anna", username="anna")

    assert (unchanged.full_name, unchanged.username) == ("Ann Smith", "ann")
    assert (both.full_name, both.username) == ("Anna", "anna")
    stored = await stored_user(world, me.user.id)
    assert (stored.full_name, stored.username, stored.email) == ("Anna", "anna", "ann@example.org")


async def test_keeping_ones_own_username_is_not_a_clash(world: World) -> None:
    me = await person(world, "ann")

    updated = await world.afisha.accounts.update_profile(me.user, username="ann")

    assert updated.username == "ann"


async def test_a_deleted_users_username_can_be_taken(world: World) -> None:
    gone = await person(world, "bob")
    await world.afisha.accounts.delete_me(await principal_of(world, gone), PASSWORD)
    me = await person(world, "ann")

    updated = await world.afisha.accounts.update_profile(me.user, username="bob")

    assert updated.username == "bob"
    assert (await login(world, "bob")).user.id == me.user.id


async def test_a_taken_username_is_refused(world: World) -> None:
    me = await person(world, "ann", "Ann Smith")
    await person(world, "bob")

    with pytest.raises(UsernameTaken):
        await world.afisha.accounts.update_profile(me.user, full_name="Changed", username="bob")

    stored = await stored_user(world, me.user.id)
    assert (stored.username, stored.full_name) == ("ann", "Ann Smith")


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"username": "Ann Smith"}, {"username"}),
        ({"username": "ab"}, {"username"}),
        ({"username": "x" * 33}, {"username"}),
        ({"full_name": "   "}, {"full_name"}),
        ({"full_name": "A" * 201}, {"full_name"}),
        ({"full_name": "", "username": "BAD"}, {"full_name", "username"}),
    ],
)
async def test_invalid_profile_changes_are_refused(
    world: World, changes: dict[str, str], fields: set[str]
) -> None:
    me = await person(world, "ann", "Ann Smith")

    with pytest.raises(ValidationFailed) as caught:
        await world.afisha.accounts.update_profile(me.user, **changes)

    assert {e.field for e in caught.value.errors} == fields
    stored = await stored_user(world, me.user.id)
    assert (stored.username, stored.full_name) == ("ann", "Ann Smith")


# --- deleting one's own account ---------------------------------------------------------------


async def test_deleting_oneself_needs_the_password(world: World) -> None:
    me = await person(world, "ann")

    with pytest.raises(InvalidCredentials):
        await world.afisha.accounts.delete_me(await principal_of(world, me), "not the password")

    assert not (await stored_user(world, me.user.id)).is_deleted
    assert (await principal_of(world, me)).user.id == me.user.id


async def test_deleting_oneself_revokes_every_session(world: World) -> None:
    me = await person(world, "ann")
    other = await login(world, "ann")
    bob = await person(world, "bob")

    await world.afisha.accounts.delete_me(await principal_of(world, me), PASSWORD)

    assert (await stored_user(world, me.user.id)).is_deleted
    await assert_token_rejected(world, me.token)
    await assert_token_rejected(world, other.token)
    assert (await world.afisha.sessions.list_sessions(me.user)).items == []
    with pytest.raises(InvalidCredentials):
        await login(world, "ann")
    assert (await principal_of(world, bob)).user.id == bob.user.id


async def test_deleting_oneself_frees_email_and_username(world: World) -> None:
    me = await person(world, "ann")
    await world.afisha.accounts.delete_me(await principal_of(world, me), PASSWORD)

    again = await person(world, "ann")

    assert again.user.id != me.user.id
    assert again.user.email == me.user.email
    assert (await login(world, "ann@example.org")).user.id == again.user.id


async def test_deleting_oneself_gives_the_spot_to_the_waitlist(world: World) -> None:
    admin = await world.admin()
    event = await world.event(admin, capacity=1)
    leaver = await person(world, "ann")
    waiter = await person(world, "bob")
    await world.afisha.participation.join(leaver.user, event.event.id)
    waiting = await world.afisha.participation.join(waiter.user, event.event.id, waitlist=True)
    assert waiting.my_status is ParticipationStatus.WAITLISTED
    await world.deliver()

    await world.afisha.accounts.delete_me(await principal_of(world, leaver), PASSWORD)

    seen = await world.afisha.events.get(waiter.user, event.event.id)
    assert seen.my_status is ParticipationStatus.PARTICIPATING
    assert seen.participants_count == 1
    assert seen.waitlist_count == 0
    notifications = await world.afisha.notifications.list_notifications(waiter.user)
    assert len(notifications.items) == 1
    assert [mail.to for mail in await world.deliver()] == ["bob@example.org"]


async def test_a_deleted_user_leaves_the_waitlist_for_good(world: World) -> None:
    admin = await world.admin()
    event = await world.event(admin, capacity=1)
    holder = await person(world, "ann")
    gone = await person(world, "bob")
    next_in_line = await person(world, "carl")
    await world.afisha.participation.join(holder.user, event.event.id)
    await world.afisha.participation.join(gone.user, event.event.id, waitlist=True)
    world.clock.advance(timedelta(seconds=1))
    await world.afisha.participation.join(next_in_line.user, event.event.id, waitlist=True)

    await world.afisha.accounts.delete_me(await principal_of(world, gone), PASSWORD)
    await world.afisha.participation.leave(holder.user, event.event.id)

    seen = await world.afisha.events.get(next_in_line.user, event.event.id)
    assert seen.my_status is ParticipationStatus.PARTICIPATING
    assert seen.participants_count == 1
    assert seen.waitlist_count == 0


async def test_a_system_user_cannot_delete_itself(world: World) -> None:
    admin, session = await system_admin_login(world)

    with pytest.raises(SystemUserProtected):
        await world.afisha.accounts.delete_me(await principal_of(world, session), PASSWORD)

    assert not (await stored_user(world, admin.id)).is_deleted
    assert (await principal_of(world, session)).user.id == admin.id


async def test_a_deleted_account_is_not_found(world: World) -> None:
    me = await person(world, "ann")
    await world.afisha.accounts.delete_me(await principal_of(world, me), PASSWORD)

    with pytest.raises(NotFound):
        await world.afisha.accounts.get_me(me.user)
    with pytest.raises(NotFound):
        await world.afisha.accounts.update_profile(me.user, full_name="Ghost")


# --- listing users -------------------------------------------------------------------------


async def test_listing_users_is_for_administrators_only(world: World) -> None:
    me = await person(world, "ann")

    with pytest.raises(Forbidden):
        await world.afisha.accounts.list_users(me.user)


async def test_list_users_filters_by_text(world: World) -> None:
    admin = await world.admin()
    ann = await person(world, "ann", "Ann Smith", email="ann@mail.example.org")
    bob = await person(world, "bob", "Robert Smithson")
    carl = await person(world, "carl", "Carl Jones")

    by_name = await world.afisha.accounts.list_users(admin, text="smith")
    by_username = await world.afisha.accounts.list_users(admin, text="CARL")
    by_email = await world.afisha.accounts.list_users(admin, text="mail.example")
    nothing = await world.afisha.accounts.list_users(admin, text="zebra")
    everyone = await world.afisha.accounts.list_users(admin, text="")

    assert {u.id for u in by_name.items} == {ann.user.id, bob.user.id}
    assert [u.id for u in by_username.items] == [carl.user.id]
    assert [u.id for u in by_email.items] == [ann.user.id]
    assert nothing.items == []
    assert {u.id for u in everyone.items} == {admin.id, ann.user.id, bob.user.id, carl.user.id}


async def test_list_users_filters_by_role(world: World) -> None:
    admin = await world.admin()
    other_admin = await world.admin(is_system=True)
    user = await person(world, "ann")

    admins = await world.afisha.accounts.list_users(admin, role=Role.ADMINISTRATOR)
    users = await world.afisha.accounts.list_users(admin, role=Role.USER)

    assert {u.id for u in admins.items} == {admin.id, other_admin.id}
    assert [u.id for u in users.items] == [user.user.id]


async def test_list_users_pages_with_a_cursor(world: World) -> None:
    admin = await world.admin()
    created = [admin.id]
    for i in range(6):
        world.clock.advance(timedelta(seconds=1) if i % 2 else timedelta(0))
        created.append((await person(world, f"user{i}")).user.id)

    seen: list[uuid.UUID] = []
    pages = 0
    cursor: str | None = None
    while True:
        page = await world.afisha.accounts.list_users(admin, limit=2, cursor=cursor)
        pages += 1
        assert len(page.items) <= 2
        seen.extend(u.id for u in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
        assert pages < 10, "pagination does not end"

    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen)) == 7
    assert pages == 4
    # oldest first, ties broken by id
    users = [await stored_user(world, user_id) for user_id in seen]
    keys = [(u.created_at, u.id) for u in users]
    assert keys == sorted(keys)


async def test_the_last_full_page_has_no_cursor(world: World) -> None:
    admin = await world.admin()
    await person(world, "ann")

    page = await world.afisha.accounts.list_users(admin, limit=2)

    assert len(page.items) == 2
    assert page.next_cursor is None


async def test_deleted_users_are_not_listed(world: World) -> None:
    admin = await world.admin()
    gone = await person(world, "ann", "Ann Gone")
    kept = await person(world, "bob")
    await world.afisha.accounts.delete_me(await principal_of(world, gone), PASSWORD)
    await world.afisha.accounts.delete_user(admin, kept.user.id)
    stays = await person(world, "carl")

    page = await world.afisha.accounts.list_users(admin)
    searched = await world.afisha.accounts.list_users(admin, text="Gone")

    assert {u.id for u in page.items} == {admin.id, stays.user.id}
    assert searched.items == []


@pytest.mark.parametrize("limit", [0, -1, 101, 1000])
async def test_a_page_size_outside_1_to_100_is_refused(world: World, limit: int) -> None:
    admin = await world.admin()

    with pytest.raises(ValidationFailed) as caught:
        await world.afisha.accounts.list_users(admin, limit=limit)

    assert [e.field for e in caught.value.errors] == ["limit"]


@pytest.mark.parametrize("limit", [1, 100])
async def test_page_sizes_1_and_100_are_fine(world: World, limit: int) -> None:
    admin = await world.admin()
    await person(world, "ann")

    page = await world.afisha.accounts.list_users(admin, limit=limit)

    assert len(page.items) == min(limit, 2)
    assert (page.next_cursor is not None) == (limit == 1)


async def test_a_malformed_cursor_is_refused(world: World) -> None:
    admin = await world.admin()

    with pytest.raises(ValidationFailed) as caught:
        await world.afisha.accounts.list_users(admin, cursor="not a cursor!")

    assert [e.field for e in caught.value.errors] == ["cursor"]


# --- roles ----------------------------------------------------------------------------------


async def test_changing_roles_is_for_administrators_only(world: World) -> None:
    me = await person(world, "ann")
    other = await person(world, "bob")

    with pytest.raises(Forbidden):
        await world.afisha.accounts.change_role(me.user, me.user.id, Role.ADMINISTRATOR)
    with pytest.raises(Forbidden):
        await world.afisha.accounts.change_role(me.user, other.user.id, Role.ADMINISTRATOR)

    assert (await stored_user(world, me.user.id)).role is Role.USER


async def test_promoting_a_user_makes_them_an_administrator(world: World) -> None:
    admin = await world.admin()
    me = await person(world, "ann")

    promoted = await world.afisha.accounts.change_role(admin, me.user.id, Role.ADMINISTRATOR)

    assert promoted.role is Role.ADMINISTRATOR
    assert promoted.is_admin
    fresh = (await principal_of(world, me)).user
    assert fresh.is_admin
    page = await world.afisha.accounts.list_users(fresh)
    assert {u.id for u in page.items} == {admin.id, me.user.id}


async def test_demoting_an_ordinary_administrator_works(world: World) -> None:
    admin = await world.admin()
    other = await world.admin()
    other_session = await login(world, other.username)

    demoted = await world.afisha.accounts.change_role(admin, other.id, Role.USER)

    assert demoted.role is Role.USER
    fresh = (await principal_of(world, other_session)).user
    with pytest.raises(Forbidden):
        await world.afisha.accounts.list_users(fresh)


async def test_a_system_user_cannot_be_demoted(world: World) -> None:
    admin = await world.admin()
    system, _ = await system_admin_login(world)

    with pytest.raises(SystemUserProtected):
        await world.afisha.accounts.change_role(admin, system.id, Role.USER)

    stored = await stored_user(world, system.id)
    assert stored.role is Role.ADMINISTRATOR
    assert stored.is_system


async def test_changing_the_role_of_an_unknown_or_deleted_user_is_not_found(
    world: World,
) -> None:
    admin = await world.admin()
    gone = await person(world, "ann")
    await world.afisha.accounts.delete_user(admin, gone.user.id)

    with pytest.raises(NotFound):
        await world.afisha.accounts.change_role(admin, uuid.uuid4(), Role.ADMINISTRATOR)
    with pytest.raises(NotFound):
        await world.afisha.accounts.change_role(admin, gone.user.id, Role.ADMINISTRATOR)


# --- deleting users ---------------------------------------------------------------------------


async def test_deleting_users_is_for_administrators_only(world: World) -> None:
    me = await person(world, "ann")
    other = await person(world, "bob")

    with pytest.raises(Forbidden):
        await world.afisha.accounts.delete_user(me.user, other.user.id)

    assert not (await stored_user(world, other.user.id)).is_deleted
    assert (await principal_of(world, other)).user.id == other.user.id


async def test_a_system_user_cannot_be_deleted(world: World) -> None:
    admin = await world.admin()
    system, session = await system_admin_login(world)

    with pytest.raises(SystemUserProtected):
        await world.afisha.accounts.delete_user(admin, system.id)

    assert not (await stored_user(world, system.id)).is_deleted
    assert (await principal_of(world, session)).user.id == system.id


async def test_a_deleted_users_tokens_stop_working(world: World) -> None:
    admin = await world.admin()
    gone = await person(world, "ann")
    second = await login(world, "ann")

    await world.afisha.accounts.delete_user(admin, gone.user.id)

    stored = await stored_user(world, gone.user.id)
    assert stored.is_deleted
    assert stored.deleted_at == world.clock.now()
    await assert_token_rejected(world, gone.token)
    await assert_token_rejected(world, second.token)
    with pytest.raises(InvalidCredentials):
        await login(world, "ann")
    # the email and username are free again
    again = await person(world, "ann")
    assert again.user.id != gone.user.id


async def test_deleting_a_user_gives_the_spot_to_the_waitlist(world: World) -> None:
    admin = await world.admin()
    event = await world.event(admin, capacity=1)
    gone = await person(world, "ann")
    waiter = await person(world, "bob")
    await world.afisha.participation.join(gone.user, event.event.id)
    await world.afisha.participation.join(waiter.user, event.event.id, waitlist=True)

    await world.afisha.accounts.delete_user(admin, gone.user.id)

    seen = await world.afisha.events.get(waiter.user, event.event.id)
    assert seen.my_status is ParticipationStatus.PARTICIPATING


async def test_deleting_an_unknown_or_already_deleted_user_is_not_found(world: World) -> None:
    admin = await world.admin()
    gone = await person(world, "ann")
    await world.afisha.accounts.delete_user(admin, gone.user.id)

    with pytest.raises(NotFound):
        await world.afisha.accounts.delete_user(admin, gone.user.id)
    with pytest.raises(NotFound):
        await world.afisha.accounts.delete_user(admin, uuid.uuid4())


async def test_the_first_administrator_is_a_system_user_unless_told(world: World) -> None:
    first = await world.afisha.accounts.create_administrator(
        "first@example.org", "first", "a long passphrase"
    )
    second = await world.afisha.accounts.create_administrator(
        "second@example.org", "second", "a long passphrase"
    )
    told = await world.afisha.accounts.create_administrator(
        "third@example.org", "third", "a long passphrase", is_system=True
    )

    assert (first.is_system, second.is_system, told.is_system) == (True, False, True)
