"""In-app notifications: newest first, one's own only, acknowledged one by one or all."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from afisha_core.domain import InstantNotification, User
from afisha_core.errors import NotFound, ValidationFailed
from tests.support.world import World

# --- helpers ---------------------------------------------------------------------------


async def notify_by_cancelling(world: World, admin: User, users: list[User], name: str) -> None:
    """Give each of ``users`` one notification: they join an event that is then cancelled."""
    view = await world.event(admin, name=name)
    for user in users:
        await world.afisha.participation.join(user, view.event.id)
    await world.afisha.events.reject(admin, view.event.id)


async def with_notifications(world: World, n: int) -> tuple[User, User, list[str]]:
    """A user with ``n`` notifications a minute apart, and their names oldest first."""
    admin = await world.admin()
    user = (await world.register()).user
    names = []
    for i in range(n):
        world.clock.advance(timedelta(minutes=1))
        names.append(f"Event number {i}")
        await notify_by_cancelling(world, admin, [user], names[-1])
    return admin, user, names


async def listed(world: World, user: User, *, unacked_only: bool = False) -> list[str]:
    page = await world.afisha.notifications.list_notifications(
        user, unacked_only=unacked_only, limit=100
    )
    return [n.title for n in page.items]


def title(name: str) -> str:
    return f"Cancelled: {name}"


async def stored(world: World, notification_id: uuid.UUID) -> InstantNotification:
    async with world.db() as uow:
        found = await uow.notifications.get(notification_id)
    assert found is not None
    return found


# --- listing -----------------------------------------------------------------------------


async def test_notifications_are_listed_newest_first(world: World) -> None:
    _, user, names = await with_notifications(world, 4)

    page = await world.afisha.notifications.list_notifications(user)

    assert [n.title for n in page.items] == [title(x) for x in reversed(names)]
    assert all(n.user_id == user.id for n in page.items)
    assert all(n.acked_at is None for n in page.items)
    assert page.next_cursor is None


async def test_nobody_sees_anothers_notifications(world: World) -> None:
    admin, user, _ = await with_notifications(world, 2)
    other = (await world.register()).user

    assert await listed(world, other) == []
    await notify_by_cancelling(world, admin, [other], "Only for the other")
    assert await listed(world, other) == [title("Only for the other")]
    assert title("Only for the other") not in await listed(world, user)


async def test_notifications_paginate_without_gaps_or_duplicates(world: World) -> None:
    _, user, names = await with_notifications(world, 5)

    seen: list[InstantNotification] = []
    sizes = []
    cursor: str | None = None
    while True:
        page = await world.afisha.notifications.list_notifications(user, limit=2, cursor=cursor)
        seen.extend(page.items)
        sizes.append(len(page.items))
        cursor = page.next_cursor
        if cursor is None:
            break
        assert len(sizes) < 10, "pagination does not end"

    assert sizes == [2, 2, 1]
    assert [n.title for n in seen] == [title(x) for x in reversed(names)]
    assert len({n.id for n in seen}) == 5


async def test_notifications_of_one_instant_paginate_too(world: World) -> None:
    admin = await world.admin()
    user = (await world.register()).user
    for i in range(5):  # the clock stands still: the ids break the ties
        await notify_by_cancelling(world, admin, [user], f"Same time {i}")

    everything = await world.afisha.notifications.list_notifications(user, limit=100)
    first = await world.afisha.notifications.list_notifications(user, limit=3)
    assert first.next_cursor is not None
    rest = await world.afisha.notifications.list_notifications(
        user, limit=3, cursor=first.next_cursor
    )

    assert [n.id for n in [*first.items, *rest.items]] == [n.id for n in everything.items]
    assert rest.next_cursor is None


async def test_unacked_filter_leaves_out_acknowledged_ones(world: World) -> None:
    _, user, names = await with_notifications(world, 4)
    page = await world.afisha.notifications.list_notifications(user)
    newest, _, third, _ = page.items
    await world.afisha.notifications.ack(user, newest.id)
    await world.afisha.notifications.ack(user, third.id)

    unacked = await listed(world, user, unacked_only=True)

    assert unacked == [title(names[2]), title(names[0])]
    assert len(await listed(world, user)) == 4


@pytest.mark.parametrize("limit", [0, 101])
async def test_a_bad_limit_is_a_validation_error(world: World, limit: int) -> None:
    user = (await world.register()).user
    with pytest.raises(ValidationFailed):
        await world.afisha.notifications.list_notifications(user, limit=limit)


async def test_a_bad_cursor_is_a_validation_error(world: World) -> None:
    user = (await world.register()).user
    with pytest.raises(ValidationFailed):
        await world.afisha.notifications.list_notifications(user, cursor="not a cursor")


# --- acknowledging -----------------------------------------------------------------------


async def test_ack_marks_one_notification_read(world: World) -> None:
    _, user, _ = await with_notifications(world, 2)
    newest, older = (await world.afisha.notifications.list_notifications(user)).items
    world.clock.advance(timedelta(minutes=3))

    acked = await world.afisha.notifications.ack(user, newest.id)

    assert acked.id == newest.id
    assert acked.acked_at == world.clock.now()
    assert (await stored(world, newest.id)).acked_at == world.clock.now()
    assert (await stored(world, older.id)).acked_at is None


async def test_ack_is_idempotent_and_keeps_the_first_time(world: World) -> None:
    _, user, _ = await with_notifications(world, 1)
    (note,) = (await world.afisha.notifications.list_notifications(user)).items
    first = await world.afisha.notifications.ack(user, note.id)
    world.clock.advance(timedelta(hours=1))

    second = await world.afisha.notifications.ack(user, note.id)

    assert first.acked_at is not None
    assert second.acked_at == first.acked_at
    assert (await stored(world, note.id)).acked_at == first.acked_at


async def test_acking_anothers_notification_is_not_found(world: World) -> None:
    _, user, _ = await with_notifications(world, 1)
    other = (await world.register()).user
    (note,) = (await world.afisha.notifications.list_notifications(user)).items

    with pytest.raises(NotFound):
        await world.afisha.notifications.ack(other, note.id)

    assert (await stored(world, note.id)).acked_at is None


async def test_acking_an_unknown_notification_is_not_found(world: World) -> None:
    user = (await world.register()).user
    with pytest.raises(NotFound):
        await world.afisha.notifications.ack(user, uuid.uuid4())


async def test_ack_all_returns_how_many_and_then_zero(world: World) -> None:
    admin, user, _ = await with_notifications(world, 4)
    other = (await world.register()).user
    await notify_by_cancelling(world, admin, [other], "For the other")
    (newest, *_) = (await world.afisha.notifications.list_notifications(user)).items
    await world.afisha.notifications.ack(user, newest.id)
    world.clock.advance(timedelta(minutes=10))

    assert await world.afisha.notifications.ack_all(user) == 3
    assert await world.afisha.notifications.ack_all(user) == 0

    page = await world.afisha.notifications.list_notifications(user)
    assert all(n.acked_at is not None for n in page.items)
    assert [n.acked_at == world.clock.now() for n in page.items] == [False, True, True, True]
    assert await listed(world, user, unacked_only=True) == []
    assert await listed(world, other, unacked_only=True) == [title("For the other")]


async def test_ack_all_with_nothing_to_ack_is_zero(world: World) -> None:
    user = (await world.register()).user
    assert await world.afisha.notifications.ack_all(user) == 0
