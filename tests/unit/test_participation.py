"""Joining, waiting and leaving through the use cases; capacity is never exceeded."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from afisha_core.domain import (
    Email,
    EventView,
    InstantNotification,
    Participation,
    ParticipationStatus,
    User,
)
from afisha_core.errors import EventFinished, EventFull, EventRejected, NotFound
from tests.support.world import PASSWORD, World

P = ParticipationStatus.PARTICIPATING
W = ParticipationStatus.WAITLISTED
R = ParticipationStatus.REJECTED


# --- helpers ---------------------------------------------------------------------------


async def new_users(world: World, n: int) -> list[User]:
    """``n`` freshly registered users (their registration mail is already delivered)."""
    return [(await world.register()).user for _ in range(n)]


async def participation(world: World, event_id: uuid.UUID, user: User) -> Participation | None:
    async with world.db() as uow:
        return await uow.participations.get(event_id, user.id)


async def status_of(world: World, event_id: uuid.UUID, user: User) -> ParticipationStatus | None:
    found = await participation(world, event_id, user)
    return None if found is None else found.status


async def count(world: World, event_id: uuid.UUID, status: ParticipationStatus) -> int:
    async with world.db() as uow:
        return await uow.participations.count(event_id, status)


async def notifications_of(world: World, user: User) -> list[InstantNotification]:
    page = await world.afisha.notifications.list_notifications(user, limit=100)
    return list(page.items)


def mails_to(mails: list[Email], user: User) -> list[Email]:
    return [m for m in mails if m.to == user.email]


def counts(view: EventView) -> tuple[int, int, int | None]:
    return view.participants_count, view.waitlist_count, view.spots_left


# --- joining ---------------------------------------------------------------------------


async def test_joining_takes_a_spot(world: World) -> None:
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    event = await world.event(admin, capacity=3)

    view = await world.afisha.participation.join(user, event.event.id)

    assert view.my_status is P
    assert counts(view) == (1, 0, 2)
    stored = await participation(world, event.event.id, user)
    assert stored is not None
    assert stored.status is P
    assert stored.created_at == stored.status_changed_at == world.clock.now()


async def test_joining_is_idempotent(world: World) -> None:
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    event = await world.event(admin, capacity=3)
    await world.afisha.participation.join(user, event.event.id)
    first = await participation(world, event.event.id, user)
    world.clock.advance(timedelta(minutes=5))

    again = await world.afisha.participation.join(user, event.event.id)
    with_waitlist = await world.afisha.participation.join(user, event.event.id, waitlist=True)

    assert again.my_status is P
    assert with_waitlist.my_status is P
    assert counts(with_waitlist) == (1, 0, 2)
    assert await participation(world, event.event.id, user) == first


async def test_a_participant_keeps_the_spot_on_a_full_event(world: World) -> None:
    admin = await world.admin()
    a, b = await new_users(world, 2)
    event = await world.event(admin, capacity=2)
    await world.afisha.participation.join(a, event.event.id)
    await world.afisha.participation.join(b, event.event.id)

    view = await world.afisha.participation.join(a, event.event.id)

    assert view.my_status is P
    assert counts(view) == (2, 0, 0)


async def test_capacity_is_never_exceeded(world: World) -> None:
    admin = await world.admin()
    users = await new_users(world, 5)
    event = await world.event(admin, capacity=3)

    joined = []
    for user in users:
        try:
            await world.afisha.participation.join(user, event.event.id)
        except EventFull:
            continue
        joined.append(user)

    assert joined == users[:3]
    assert await count(world, event.event.id, P) == 3
    for late in users[3:]:
        assert await participation(world, event.event.id, late) is None


async def test_a_full_event_refuses_without_waitlist(world: World) -> None:
    admin = await world.admin()
    a, b = await new_users(world, 2)
    event = await world.event(admin, capacity=1)
    await world.afisha.participation.join(a, event.event.id)

    with pytest.raises(EventFull):
        await world.afisha.participation.join(b, event.event.id)

    assert await participation(world, event.event.id, b) is None
    view = await world.afisha.events.get(b, event.event.id)
    assert view.my_status is None
    assert counts(view) == (1, 0, 0)


async def test_a_full_event_puts_on_the_waitlist_when_asked(world: World) -> None:
    admin = await world.admin()
    a, b = await new_users(world, 2)
    event = await world.event(admin, capacity=1)
    await world.afisha.participation.join(a, event.event.id)

    view = await world.afisha.participation.join(b, event.event.id, waitlist=True)

    assert view.my_status is W
    assert counts(view) == (1, 1, 0)
    assert await status_of(world, event.event.id, b) is W


async def test_waitlist_is_not_used_while_there_is_room(world: World) -> None:
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    event = await world.event(admin, capacity=1)

    view = await world.afisha.participation.join(user, event.event.id, waitlist=True)

    assert view.my_status is P


async def test_an_unlimited_event_takes_everybody(world: World) -> None:
    admin = await world.admin()
    users = await new_users(world, 6)
    event = await world.event(admin)

    for user in users:
        await world.afisha.participation.join(user, event.event.id)

    view = await world.afisha.events.get(None, event.event.id)
    assert counts(view) == (6, 0, None)


async def test_joining_again_while_waiting_keeps_the_place_in_line(world: World) -> None:
    admin = await world.admin()
    a, first, second = await new_users(world, 3)
    event = await world.event(admin, capacity=1)
    await world.afisha.participation.join(a, event.event.id)
    await world.afisha.participation.join(first, event.event.id, waitlist=True)
    world.clock.advance(timedelta(minutes=1))
    await world.afisha.participation.join(second, event.event.id, waitlist=True)
    world.clock.advance(timedelta(minutes=1))

    view = await world.afisha.participation.join(first, event.event.id, waitlist=True)
    await world.afisha.participation.leave(a, event.event.id)

    assert view.my_status is W
    assert await status_of(world, event.event.id, first) is P
    assert await status_of(world, event.event.id, second) is W


async def test_joining_a_cancelled_event_is_refused(world: World) -> None:
    admin = await world.admin()
    a, b = await new_users(world, 2)
    event = await world.event(admin, capacity=5)
    await world.afisha.participation.join(a, event.event.id)
    await world.afisha.participation.leave(a, event.event.id)
    await world.afisha.events.reject(admin, event.event.id)

    for user in (a, b):
        for waitlist in (False, True):
            with pytest.raises(EventRejected):
                await world.afisha.participation.join(user, event.event.id, waitlist=waitlist)

    assert await status_of(world, event.event.id, a) is R
    assert await participation(world, event.event.id, b) is None


async def test_joining_a_finished_event_is_refused(world: World) -> None:
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    event = await world.event(admin, starts_in=timedelta(hours=1), duration=timedelta(hours=2))
    world.clock.advance(timedelta(hours=3))

    for waitlist in (False, True):
        with pytest.raises(EventFinished):
            await world.afisha.participation.join(user, event.event.id, waitlist=waitlist)

    assert await participation(world, event.event.id, user) is None


async def test_joining_an_unknown_event_is_not_found(world: World) -> None:
    (user,) = await new_users(world, 1)
    with pytest.raises(NotFound):
        await world.afisha.participation.join(user, uuid.uuid4())


async def test_concurrent_joins_never_overbook(world: World) -> None:
    admin = await world.admin()
    users = await new_users(world, 30)
    event = await world.event(admin, capacity=5)

    results = await asyncio.gather(
        *(world.afisha.participation.join(u, event.event.id) for u in users),
        return_exceptions=True,
    )

    assert sum(isinstance(r, EventView) for r in results) == 5
    assert sum(isinstance(r, EventFull) for r in results) == 25
    assert all(isinstance(r, EventView | EventFull) for r in results)
    assert await count(world, event.event.id, P) == 5
    assert counts(await world.afisha.events.get(None, event.event.id)) == (5, 0, 0)


async def test_concurrent_joins_with_waitlist_wait_for_the_rest(world: World) -> None:
    admin = await world.admin()
    users = await new_users(world, 30)
    event = await world.event(admin, capacity=5)

    views = await asyncio.gather(
        *(world.afisha.participation.join(u, event.event.id, waitlist=True) for u in users)
    )

    assert sum(v.my_status is P for v in views) == 5
    assert sum(v.my_status is W for v in views) == 25
    assert await count(world, event.event.id, P) == 5
    assert await count(world, event.event.id, W) == 25
    for user, view in zip(users, views, strict=True):
        assert await status_of(world, event.event.id, user) is view.my_status


# --- leaving ---------------------------------------------------------------------------


async def test_leaving_gives_up_the_spot(world: World) -> None:
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    event = await world.event(admin, capacity=2)
    await world.afisha.participation.join(user, event.event.id)
    world.clock.advance(timedelta(minutes=1))

    view = await world.afisha.participation.leave(user, event.event.id)

    assert view.my_status is R
    assert counts(view) == (0, 0, 2)
    stored = await participation(world, event.event.id, user)
    assert stored is not None
    assert stored.status is R
    assert stored.status_changed_at == world.clock.now()


async def test_leaving_is_idempotent(world: World) -> None:
    admin = await world.admin()
    joined, never = await new_users(world, 2)
    event = await world.event(admin, capacity=2)
    await world.afisha.participation.join(joined, event.event.id)
    await world.afisha.participation.leave(joined, event.event.id)
    first = await participation(world, event.event.id, joined)
    world.clock.advance(timedelta(minutes=1))

    again = await world.afisha.participation.leave(joined, event.event.id)
    never_joined = await world.afisha.participation.leave(never, event.event.id)

    assert again.my_status is R
    assert await participation(world, event.event.id, joined) == first
    assert never_joined.my_status is R
    assert counts(never_joined) == (0, 0, 2)


async def test_leaving_promotes_the_longest_waiting_user(world: World) -> None:
    admin = await world.admin()
    a, b, early, late = await new_users(world, 4)
    event = await world.event(admin, capacity=2)
    await world.afisha.participation.join(a, event.event.id)
    await world.afisha.participation.join(b, event.event.id)
    await world.afisha.participation.join(early, event.event.id, waitlist=True)
    world.clock.advance(timedelta(minutes=1))
    await world.afisha.participation.join(late, event.event.id, waitlist=True)
    world.clock.advance(timedelta(minutes=1))

    view = await world.afisha.participation.leave(a, event.event.id)
    mails = await world.deliver()

    assert counts(view) == (2, 1, 0)
    assert await status_of(world, event.event.id, early) is P
    assert await status_of(world, event.event.id, late) is W
    promoted = await participation(world, event.event.id, early)
    assert promoted is not None
    assert promoted.status_changed_at == world.clock.now()
    notes = await notifications_of(world, early)
    assert len(notes) == 1
    assert event.event.name in notes[0].title
    assert notes[0].cta_url is not None
    assert str(event.event.id) in notes[0].cta_url
    (mail,) = mails_to(mails, early)
    assert event.event.name in mail.subject
    assert [m.to for m in mails] == [early.email]
    for user in (a, b, late):
        assert await notifications_of(world, user) == []


async def test_ties_in_the_same_instant_go_by_arrival_order(world: World) -> None:
    admin = await world.admin()
    holder, *waiting = await new_users(world, 5)
    # Arrive in the reverse order of the ids, so an id tie-break would pick the wrong one.
    waiting.sort(key=lambda u: u.id, reverse=True)
    event = await world.event(admin, capacity=1)
    await world.afisha.participation.join(holder, event.event.id)
    for user in waiting:
        await world.afisha.participation.join(user, event.event.id, waitlist=True)

    promoted = []
    leaver = holder
    for _ in waiting:
        await world.afisha.participation.leave(leaver, event.event.id)
        (now_in,) = [u for u in waiting if await status_of(world, event.event.id, u) is P]
        promoted.append(now_in)
        leaver = now_in

    assert promoted == waiting


async def test_leaving_the_waitlist_and_coming_back_goes_to_the_end(world: World) -> None:
    admin = await world.admin()
    holder, first, second = await new_users(world, 3)
    event = await world.event(admin, capacity=1)
    await world.afisha.participation.join(holder, event.event.id)
    await world.afisha.participation.join(first, event.event.id, waitlist=True)
    await world.afisha.participation.join(second, event.event.id, waitlist=True)
    left = await world.afisha.participation.leave(first, event.event.id)
    await world.afisha.participation.join(first, event.event.id, waitlist=True)

    await world.afisha.participation.leave(holder, event.event.id)

    assert counts(left) == (1, 1, 0)
    assert await status_of(world, event.event.id, second) is P
    assert await status_of(world, event.event.id, first) is W
    assert await notifications_of(world, first) == []


async def test_leaving_the_waitlist_promotes_nobody(world: World) -> None:
    admin = await world.admin()
    holder, first, second = await new_users(world, 3)
    event = await world.event(admin, capacity=1)
    await world.afisha.participation.join(holder, event.event.id)
    await world.afisha.participation.join(first, event.event.id, waitlist=True)
    await world.afisha.participation.join(second, event.event.id, waitlist=True)

    view = await world.afisha.participation.leave(first, event.event.id)

    assert counts(view) == (1, 1, 0)
    assert await status_of(world, event.event.id, second) is W
    assert await notifications_of(world, second) == []


async def test_rejoining_after_leaving_flips_back_while_there_is_room(world: World) -> None:
    admin = await world.admin()
    me, other = await new_users(world, 2)
    event = await world.event(admin, capacity=1)
    await world.afisha.participation.join(me, event.event.id)
    await world.afisha.participation.leave(me, event.event.id)

    view = await world.afisha.participation.join(me, event.event.id)
    assert view.my_status is P
    assert counts(view) == (1, 0, 0)

    await world.afisha.participation.leave(me, event.event.id)
    await world.afisha.participation.join(other, event.event.id)
    with pytest.raises(EventFull):
        await world.afisha.participation.join(me, event.event.id)
    assert await status_of(world, event.event.id, me) is R
    waiting = await world.afisha.participation.join(me, event.event.id, waitlist=True)
    assert waiting.my_status is W


async def test_leaving_a_finished_event_is_refused(world: World) -> None:
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    event = await world.event(admin, starts_in=timedelta(hours=1), duration=timedelta(hours=1))
    await world.afisha.participation.join(user, event.event.id)
    world.clock.advance(timedelta(hours=2))

    with pytest.raises(EventFinished):
        await world.afisha.participation.leave(user, event.event.id)

    assert await status_of(world, event.event.id, user) is P


async def test_leaving_an_unknown_event_is_not_found(world: World) -> None:
    (user,) = await new_users(world, 1)
    with pytest.raises(NotFound):
        await world.afisha.participation.leave(user, uuid.uuid4())


async def test_leaving_a_cancelled_event_one_never_joined_is_not_found(world: World) -> None:
    admin = await world.admin()
    joined, never = await new_users(world, 2)
    event = await world.event(admin)
    await world.afisha.participation.join(joined, event.event.id)
    await world.afisha.events.reject(admin, event.event.id)

    with pytest.raises(NotFound):
        await world.afisha.participation.leave(never, event.event.id)
    view = await world.afisha.participation.leave(joined, event.event.id)

    assert view.my_status is R
    assert await participation(world, event.event.id, never) is None


async def test_leaving_a_cancelled_event_promotes_nobody(world: World) -> None:
    admin = await world.admin()
    holder, waiting = await new_users(world, 2)
    event = await world.event(admin, capacity=1)
    await world.afisha.participation.join(holder, event.event.id)
    await world.afisha.participation.join(waiting, event.event.id, waitlist=True)
    await world.afisha.events.reject(admin, event.event.id)

    await world.afisha.participation.leave(holder, event.event.id)

    assert await status_of(world, event.event.id, waiting) is W


# --- deleted users -----------------------------------------------------------------------


async def test_deleting_a_user_frees_their_spot(world: World) -> None:
    admin = await world.admin()
    holder, waiting = await new_users(world, 2)
    event = await world.event(admin, capacity=1)
    await world.afisha.participation.join(holder, event.event.id)
    await world.afisha.participation.join(waiting, event.event.id, waitlist=True)

    await world.afisha.accounts.delete_user(admin, holder.id)
    mails = await world.deliver()

    assert await status_of(world, event.event.id, holder) is R
    assert await status_of(world, event.event.id, waiting) is P
    assert counts(await world.afisha.events.get(None, event.event.id)) == (1, 0, 0)
    assert len(await notifications_of(world, waiting)) == 1
    assert [m.to for m in mails] == [waiting.email]


async def test_deleting_ones_own_account_frees_the_spot(world: World) -> None:
    admin = await world.admin()
    login = await world.register()
    (other,) = await new_users(world, 1)
    event = await world.event(admin, capacity=1)
    await world.afisha.participation.join(login.user, event.event.id)

    await world.afisha.accounts.delete_me(await world.principal(login), PASSWORD)

    assert counts(await world.afisha.events.get(None, event.event.id)) == (0, 0, 1)
    view = await world.afisha.participation.join(other, event.event.id)
    assert view.my_status is P


async def test_leaving_an_event_never_joined_answers_rejected_and_stores_nothing(
    world: World,
) -> None:
    admin = await world.admin()
    event = await world.event(admin, capacity=3)
    user = (await world.register()).user
    view = await world.afisha.participation.leave(user, event.event.id)
    assert view.my_status is ParticipationStatus.REJECTED
    listed = await world.afisha.events.list_participants(admin, event.event.id)
    assert listed.items == []
    again = await world.afisha.events.get(user, event.event.id)
    assert again.my_status is None


async def test_a_cancelled_event_is_seen_by_those_who_left_before_but_not_left_again(
    world: World,
) -> None:
    # A cancelled event stays reachable by its id for anyone (the HTTP contract);
    # leaving it again is still not found for someone no longer in it.
    admin = await world.admin()
    event = await world.event(admin, capacity=3)
    stayed = (await world.register()).user
    left = (await world.register()).user
    for user in (stayed, left):
        await world.afisha.participation.join(user, event.event.id)
    await world.afisha.participation.leave(left, event.event.id)
    await world.afisha.events.reject(admin, event.event.id)
    assert (await world.afisha.events.get(stayed, event.event.id)).event.is_rejected
    seen = await world.afisha.events.get(left, event.event.id)
    assert seen.event.is_rejected
    assert seen.my_status is ParticipationStatus.REJECTED
    with pytest.raises(NotFound):
        await world.afisha.participation.leave(left, event.event.id)
