"""Events through the use cases: publishing, editing, cancelling, seeing, listing, pictures."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from afisha_core.domain import (
    Email,
    Event,
    EventView,
    InstantNotification,
    OutboxMessage,
    Participant,
    Participation,
    ParticipationStatus,
    User,
)
from afisha_core.errors import (
    CapacityTooLow,
    EventRejected,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from afisha_core.settings import Settings
from afisha_core.usecases import EventDraft, EventPatch
from tests.support.world import World

P = ParticipationStatus.PARTICIPATING
W = ParticipationStatus.WAITLISTED
R = ParticipationStatus.REJECTED

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(20)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20)
URL_RE = re.compile(r"https?://[^\s\"'<>]+")


# --- helpers ---------------------------------------------------------------------------


async def new_users(world: World, n: int) -> list[User]:
    """``n`` freshly registered users (their registration mail is already delivered)."""
    return [(await world.register()).user for _ in range(n)]


async def stored_participation(world: World, event_id: uuid.UUID, user: User) -> Participation:
    async with world.db() as uow:
        participation = await uow.participations.get(event_id, user.id)
    assert participation is not None
    return participation


async def status_of(world: World, event_id: uuid.UUID, user: User) -> ParticipationStatus | None:
    async with world.db() as uow:
        participation = await uow.participations.get(event_id, user.id)
    return None if participation is None else participation.status


async def stored_event(world: World, event_id: uuid.UUID) -> Event:
    async with world.db() as uow:
        event = await uow.events.get(event_id)
    assert event is not None
    return event


async def notifications_of(world: World, user: User) -> list[InstantNotification]:
    page = await world.afisha.notifications.list_notifications(user, limit=100)
    return list(page.items)


async def pending_outbox(world: World) -> list[OutboxMessage]:
    """Every PENDING outbox message, read without changing anything (never committed)."""
    far = world.clock.now() + timedelta(days=3650)
    async with world.db() as uow:
        return list(await uow.outbox.claim_due(far, far, 10_000))


def mails_to(mails: list[Email], user: User) -> list[Email]:
    return [m for m in mails if m.to == user.email]


def draft(world: World, **fields: object) -> EventDraft:
    starts_at = world.clock.now() + timedelta(days=2)
    values: dict[str, object] = {
        "name": "Open mic",
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=2),
    }
    values.update(fields)
    return EventDraft(**values)  # type: ignore[arg-type]


def error_fields(exc: ValidationFailed) -> set[str]:
    return {e.field for e in exc.errors}


async def all_events(world: World, admin: User) -> list[EventView]:
    page = await world.afisha.events.list_events(
        admin, include_rejected=True, starts_from=datetime(2000, 1, 1, tzinfo=UTC), limit=100
    )
    return list(page.items)


# --- create ------------------------------------------------------------------------------


async def test_an_admin_creates_an_event(world: World) -> None:
    admin = await world.admin()
    d = draft(
        world,
        name="Jazz night",
        timezone="Europe/Moscow",
        location="Club",
        max_participants_count=10,
    )

    view = await world.afisha.events.create(admin, d)

    assert view.event.name == "Jazz night"
    assert view.event.starts_at == d.starts_at
    assert view.event.timezone == "Europe/Moscow"
    assert view.event.max_participants_count == 10
    assert view.event.created_by == admin.id
    assert view.event.created_at == world.clock.now()
    assert view.event.rejected_at is None
    assert (view.participants_count, view.waitlist_count, view.spots_left) == (0, 0, 10)
    assert (await world.afisha.events.get(None, view.event.id)).event == view.event


async def test_a_user_cannot_create_an_event(world: World) -> None:
    admin = await world.admin()
    user = (await world.register()).user

    with pytest.raises(Forbidden):
        await world.afisha.events.create(user, draft(world))

    assert await all_events(world, admin) == []


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"name": "   "}, "name"),
        ({"name": ""}, "name"),
        ({"max_participants_count": 0}, "max_participants_count"),
        ({"max_participants_count": -3}, "max_participants_count"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        ({"starts_at": datetime(2030, 2, 1, 18, 0)}, "starts_at"),  # noqa: DTZ001
        ({"ends_at": datetime(2030, 2, 1, 18, 0)}, "ends_at"),  # noqa: DTZ001
    ],
)
async def test_create_names_the_bad_field(
    world: World, fields: dict[str, object], bad_field: str
) -> None:
    admin = await world.admin()

    with pytest.raises(ValidationFailed) as info:
        await world.afisha.events.create(admin, draft(world, **fields))

    assert bad_field in error_fields(info.value)
    assert await all_events(world, admin) == []


@pytest.mark.parametrize("length", [timedelta(0), timedelta(hours=-1)])
async def test_an_event_must_end_after_it_starts(world: World, length: timedelta) -> None:
    admin = await world.admin()
    starts_at = world.clock.now() + timedelta(days=1)

    with pytest.raises(ValidationFailed) as info:
        await world.afisha.events.create(
            admin, draft(world, starts_at=starts_at, ends_at=starts_at + length)
        )

    assert error_fields(info.value) == {"ends_at"}


async def test_create_reports_every_bad_field_at_once(world: World) -> None:
    admin = await world.admin()

    with pytest.raises(ValidationFailed) as info:
        await world.afisha.events.create(
            admin, draft(world, name=" ", max_participants_count=0, timezone="Nowhere/City")
        )

    assert error_fields(info.value) == {"name", "max_participants_count", "timezone"}


# --- update ------------------------------------------------------------------------------


async def test_a_user_cannot_update_an_event(world: World) -> None:
    admin = await world.admin()
    user = (await world.register()).user
    view = await world.event(admin, name="Before")

    with pytest.raises(Forbidden):
        await world.afisha.events.update(user, view.event.id, EventPatch(name="After"))

    assert (await stored_event(world, view.event.id)).name == "Before"


async def test_updating_an_unknown_event_is_not_found(world: World) -> None:
    admin = await world.admin()
    with pytest.raises(NotFound):
        await world.afisha.events.update(admin, uuid.uuid4(), EventPatch(name="x"))


async def test_an_admin_updates_the_given_fields_only(world: World) -> None:
    admin = await world.admin()
    view = await world.event(admin, name="Before", location="Hall A", capacity=5)
    world.clock.advance(timedelta(minutes=5))

    updated = await world.afisha.events.update(
        admin, view.event.id, EventPatch(name="After", payment_info="Free")
    )

    assert updated.event.name == "After"
    assert updated.event.payment_info == "Free"
    assert updated.event.location == "Hall A"
    assert updated.event.max_participants_count == 5
    assert updated.event.starts_at == view.event.starts_at
    assert updated.event.updated_at == world.clock.now()
    assert await stored_event(world, view.event.id) == updated.event


async def test_update_validates_the_result(world: World) -> None:
    admin = await world.admin()
    view = await world.event(admin)

    with pytest.raises(ValidationFailed) as info:
        await world.afisha.events.update(
            admin, view.event.id, EventPatch(ends_at=view.event.starts_at - timedelta(hours=1))
        )

    assert error_fields(info.value) == {"ends_at"}
    assert await stored_event(world, view.event.id) == view.event


async def test_a_cancelled_event_cannot_be_edited(world: World) -> None:
    admin = await world.admin()
    view = await world.event(admin, name="Before")
    await world.afisha.events.reject(admin, view.event.id)

    with pytest.raises(EventRejected):
        await world.afisha.events.update(admin, view.event.id, EventPatch(name="After"))

    assert (await stored_event(world, view.event.id)).name == "Before"


async def test_capacity_cannot_go_below_the_participants(world: World) -> None:
    admin = await world.admin()
    users = await new_users(world, 3)
    view = await world.event(admin, capacity=5)
    for user in users:
        await world.afisha.participation.join(user, view.event.id)

    with pytest.raises(CapacityTooLow):
        await world.afisha.events.update(admin, view.event.id, EventPatch(max_participants_count=2))
    assert (await stored_event(world, view.event.id)).max_participants_count == 5

    exact = await world.afisha.events.update(
        admin, view.event.id, EventPatch(max_participants_count=3)
    )
    assert exact.event.max_participants_count == 3
    assert exact.spots_left == 0


async def test_raising_capacity_promotes_the_waitlist_in_order(world: World) -> None:
    admin = await world.admin()
    first, w1, w2, w3 = await new_users(world, 4)
    view = await world.event(admin, capacity=1)
    await world.afisha.participation.join(first, view.event.id)
    for user in (w1, w2, w3):
        world.clock.advance(timedelta(minutes=1))
        await world.afisha.participation.join(user, view.event.id, waitlist=True)

    updated = await world.afisha.events.update(
        admin, view.event.id, EventPatch(max_participants_count=3)
    )
    mails = await world.deliver()

    assert (updated.participants_count, updated.waitlist_count, updated.spots_left) == (3, 1, 0)
    assert [await status_of(world, view.event.id, u) for u in (first, w1, w2, w3)] == [P, P, P, W]
    for promoted in (w1, w2):
        notes = await notifications_of(world, promoted)
        assert len(notes) == 1
        assert view.event.name in notes[0].title
        assert len(mails_to(mails, promoted)) == 1
    assert await notifications_of(world, w3) == []
    assert await notifications_of(world, first) == []
    assert {m.to for m in mails} == {w1.email, w2.email}


async def test_making_the_event_unlimited_promotes_everybody_waiting(world: World) -> None:
    admin = await world.admin()
    first, w1, w2 = await new_users(world, 3)
    view = await world.event(admin, capacity=1)
    await world.afisha.participation.join(first, view.event.id)
    for user in (w1, w2):
        await world.afisha.participation.join(user, view.event.id, waitlist=True)

    updated = await world.afisha.events.update(
        admin, view.event.id, EventPatch(max_participants_count=None)
    )

    assert (updated.participants_count, updated.waitlist_count, updated.spots_left) == (
        3,
        0,
        None,
    )


async def test_moving_the_start_notifies_participants_and_waitlisted(world: World) -> None:
    admin = await world.admin()
    participant, waiting, left, outsider = await new_users(world, 4)
    view = await world.event(admin, capacity=1)
    await world.afisha.participation.join(left, view.event.id)
    await world.afisha.participation.leave(left, view.event.id)
    await world.afisha.participation.join(participant, view.event.id)
    await world.afisha.participation.join(waiting, view.event.id, waitlist=True)
    await world.deliver()

    new_start = view.event.starts_at + timedelta(days=1)
    sent_before = len(world.mailer.sent)
    await world.afisha.events.update(
        admin,
        view.event.id,
        EventPatch(starts_at=new_start, ends_at=new_start + timedelta(hours=2)),
    )
    assert len(world.mailer.sent) == sent_before  # the use case only writes the outbox
    mails = await world.deliver()

    for user in (participant, waiting):
        notes = await notifications_of(world, user)
        assert len(notes) == 1
        assert view.event.name in notes[0].title
        assert notes[0].cta_url is not None
        assert str(view.event.id) in notes[0].cta_url
        assert len(mails_to(mails, user)) == 1
    for user in (left, outsider, admin):
        assert await notifications_of(world, user) == []
    assert {m.to for m in mails} == {participant.email, waiting.email}


async def test_changing_the_location_notifies_participants(world: World) -> None:
    admin = await world.admin()
    (participant,) = await new_users(world, 1)
    view = await world.event(admin, location="Hall A")
    await world.afisha.participation.join(participant, view.event.id)

    await world.afisha.events.update(admin, view.event.id, EventPatch(location="Hall B"))
    mails = await world.deliver()

    notes = await notifications_of(world, participant)
    assert len(notes) == 1
    assert "Hall B" in notes[0].content
    assert [m.to for m in mails] == [participant.email]


async def test_changing_only_the_description_notifies_nobody(world: World) -> None:
    admin = await world.admin()
    participant, waiting = await new_users(world, 2)
    view = await world.event(admin, capacity=1)
    await world.afisha.participation.join(participant, view.event.id)
    await world.afisha.participation.join(waiting, view.event.id, waitlist=True)

    updated = await world.afisha.events.update(
        admin,
        view.event.id,
        EventPatch(description="Now with more details", short_description="Details"),
    )

    assert updated.event.description == "Now with more details"
    assert await pending_outbox(world) == []
    assert await world.deliver() == []
    for user in (participant, waiting):
        assert await notifications_of(world, user) == []


async def test_moving_the_start_rearms_the_reminder(world: World) -> None:
    admin = await world.admin()
    (participant,) = await new_users(world, 1)
    view = await world.event(admin, starts_in=timedelta(days=3))
    await world.afisha.participation.join(participant, view.event.id)
    world.clock.advance(timedelta(days=2, hours=1))  # 23 h before the start
    assert await world.afisha.reminders.send_due() == 1
    assert (await stored_participation(world, view.event.id, participant)).reminder_queued_at

    new_start = view.event.starts_at + timedelta(days=2)
    await world.afisha.events.update(
        admin,
        view.event.id,
        EventPatch(starts_at=new_start, ends_at=new_start + timedelta(hours=2)),
    )

    stored = await stored_participation(world, view.event.id, participant)
    assert stored.reminder_queued_at is None
    assert await world.afisha.reminders.send_due() == 0  # not yet due for the new time
    world.clock.set(new_start - world.settings.reminder_lead)
    assert await world.afisha.reminders.send_due() == 1
    assert await world.afisha.reminders.send_due() == 0
    reminders = [n for n in await notifications_of(world, participant) if "Reminder" in n.title]
    assert len(reminders) == 2


async def test_changing_other_fields_keeps_the_reminder_claim(world: World) -> None:
    admin = await world.admin()
    (participant,) = await new_users(world, 1)
    view = await world.event(admin, starts_in=timedelta(hours=20))
    await world.afisha.participation.join(participant, view.event.id)
    assert await world.afisha.reminders.send_due() == 1

    await world.afisha.events.update(admin, view.event.id, EventPatch(name="Renamed"))

    assert await world.afisha.reminders.send_due() == 0


# --- reject ------------------------------------------------------------------------------


async def test_a_user_cannot_cancel_an_event(world: World) -> None:
    admin = await world.admin()
    user = (await world.register()).user
    view = await world.event(admin)

    with pytest.raises(Forbidden):
        await world.afisha.events.reject(user, view.event.id)

    assert (await stored_event(world, view.event.id)).rejected_at is None


async def test_cancelling_an_unknown_event_is_not_found(world: World) -> None:
    admin = await world.admin()
    with pytest.raises(NotFound):
        await world.afisha.events.reject(admin, uuid.uuid4())


async def test_cancelling_sets_rejected_at_and_the_reason(world: World) -> None:
    admin = await world.admin()
    view = await world.event(admin)
    world.clock.advance(timedelta(hours=1))

    rejected = await world.afisha.events.reject(admin, view.event.id, "  The band is ill  ")

    assert rejected.event.rejected_at == world.clock.now()
    assert rejected.event.rejection_reason == "The band is ill"
    assert await stored_event(world, view.event.id) == rejected.event


async def test_cancelling_tells_participants_and_waitlisted_only(world: World) -> None:
    admin = await world.admin()
    p1, p2, waiting, left, outsider = await new_users(world, 5)
    view = await world.event(admin, capacity=2)
    await world.afisha.participation.join(left, view.event.id)
    await world.afisha.participation.leave(left, view.event.id)
    for user in (p1, p2):
        await world.afisha.participation.join(user, view.event.id)
    await world.afisha.participation.join(waiting, view.event.id, waitlist=True)
    await world.deliver()

    await world.afisha.events.reject(admin, view.event.id, "Storm warning")
    mails = await world.deliver()

    for user in (p1, p2, waiting):
        notes = await notifications_of(world, user)
        assert len(notes) == 1
        assert view.event.name in notes[0].title
        assert "Storm warning" in notes[0].content
        (mail,) = mails_to(mails, user)
        assert "Storm warning" in mail.text
    for user in (left, outsider, admin):
        assert await notifications_of(world, user) == []
    assert len(mails) == 3


async def test_cancelling_twice_sends_nothing_more(world: World) -> None:
    admin = await world.admin()
    (participant,) = await new_users(world, 1)
    view = await world.event(admin)
    await world.afisha.participation.join(participant, view.event.id)
    first = await world.afisha.events.reject(admin, view.event.id, "First")
    assert len(await world.deliver()) == 1
    world.clock.advance(timedelta(hours=1))

    second = await world.afisha.events.reject(admin, view.event.id, "Second")

    assert second.event.rejected_at == first.event.rejected_at
    assert second.event.rejection_reason == "First"
    assert await pending_outbox(world) == []
    assert await world.deliver() == []
    assert len(await notifications_of(world, participant)) == 1


# --- visibility --------------------------------------------------------------------------


async def test_an_event_is_visible_to_everybody(world: World) -> None:
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    view = await world.event(admin)

    anonymous = await world.afisha.events.get(None, view.event.id)
    as_user = await world.afisha.events.get(user, view.event.id)

    assert anonymous.event == view.event
    assert anonymous.my_status is None
    assert as_user.event == view.event
    assert as_user.my_status is None


async def test_getting_an_unknown_event_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await world.afisha.events.get(None, uuid.uuid4())


async def test_a_cancelled_event_stays_reachable_by_its_id_for_anyone(world: World) -> None:
    # Links in mails and calendar subscriptions show the cancellation, not a 404.
    admin, other_admin = await world.admin(), await world.admin()
    participant, waiting, outsider = await new_users(world, 3)
    view = await world.event(admin, capacity=1)
    await world.afisha.participation.join(participant, view.event.id)
    await world.afisha.participation.join(waiting, view.event.id, waitlist=True)
    await world.afisha.events.reject(admin, view.event.id)

    assert (await world.afisha.events.get(None, view.event.id)).event.rejected_at
    seen = await world.afisha.events.get(outsider, view.event.id)
    assert seen.event.rejected_at
    assert seen.my_status is None
    assert (await world.afisha.events.get(other_admin, view.event.id)).event.rejected_at
    assert (await world.afisha.events.get(participant, view.event.id)).my_status is P
    assert (await world.afisha.events.get(waiting, view.event.id)).my_status is W


# --- listing -----------------------------------------------------------------------------


async def test_listing_leaves_out_cancelled_and_ended_events(world: World) -> None:
    admin = await world.admin()
    ended = await world.event(admin, starts_in=timedelta(hours=-3), duration=timedelta(hours=1))
    running = await world.event(admin, starts_in=timedelta(hours=-1))
    upcoming = await world.event(admin, starts_in=timedelta(days=1))
    cancelled = await world.event(admin, starts_in=timedelta(days=2))
    await world.afisha.events.reject(admin, cancelled.event.id)

    page = await world.afisha.events.list_events(None)

    assert [v.event.id for v in page.items] == [running.event.id, upcoming.event.id]
    assert page.next_cursor is None
    with_cancelled = await world.afisha.events.list_events(admin, include_rejected=True)
    assert [v.event.id for v in with_cancelled.items] == [
        running.event.id,
        upcoming.event.id,
        cancelled.event.id,
    ]
    assert ended.event.id not in {v.event.id for v in with_cancelled.items}


async def test_listing_pages_through_every_event_once_in_order(world: World) -> None:
    admin = await world.admin()
    created = [
        await world.event(admin, starts_in=timedelta(days=1 + i // 3)) for i in range(25)
    ]  # groups of three share their start, so the id breaks the ties
    expected = sorted((v.event.starts_at, v.event.id) for v in created)

    pages = []
    cursor: str | None = None
    while True:
        page = await world.afisha.events.list_events(None, limit=10, cursor=cursor)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            break
        assert len(pages) < 10, "pagination does not end"

    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert [(v.event.starts_at, v.event.id) for p in pages for v in p.items] == expected


async def test_a_full_last_page_has_no_cursor(world: World) -> None:
    admin = await world.admin()
    for i in range(4):
        await world.event(admin, starts_in=timedelta(days=1 + i))

    first = await world.afisha.events.list_events(None, limit=2)
    assert first.next_cursor is not None
    second = await world.afisha.events.list_events(None, limit=2, cursor=first.next_cursor)

    assert len(second.items) == 2
    assert second.next_cursor is None


async def test_listing_by_time_range_returns_overlapping_events(world: World) -> None:
    admin = await world.admin()
    day = world.clock.now().replace(hour=0) + timedelta(days=10)

    async def at(start_hour: int, end_hour: int) -> uuid.UUID:
        view = await world.afisha.events.create(
            admin,
            draft(
                world,
                starts_at=day + timedelta(hours=start_hour),
                ends_at=day + timedelta(hours=end_hour),
            ),
        )
        return view.event.id

    ends_at_from = await at(8, 10)
    overlaps_start = await at(9, 11)
    inside = await at(11, 12)
    overlaps_end = await at(13, 15)
    around = await at(7, 16)
    starts_at_to = await at(14, 16)
    later = await at(20, 22)

    page = await world.afisha.events.list_events(
        None, starts_from=day + timedelta(hours=10), starts_before=day + timedelta(hours=14)
    )

    ids = [v.event.id for v in page.items]
    assert set(ids) == {overlaps_start, inside, overlaps_end, around}
    assert ends_at_from not in ids
    assert starts_at_to not in ids
    assert later not in ids
    assert [v.event.starts_at for v in page.items] == sorted(v.event.starts_at for v in page.items)


async def test_listing_with_only_an_upper_bound(world: World) -> None:
    admin = await world.admin()
    soon = await world.event(admin, starts_in=timedelta(days=1))
    await world.event(admin, starts_in=timedelta(days=5))

    page = await world.afisha.events.list_events(
        None, starts_before=world.clock.now() + timedelta(days=2)
    )

    assert [v.event.id for v in page.items] == [soon.event.id]


@pytest.mark.parametrize("gap", [timedelta(0), timedelta(hours=-1)])
async def test_to_must_be_after_from(world: World, gap: timedelta) -> None:
    start = world.clock.now() + timedelta(days=1)
    with pytest.raises(ValidationFailed) as info:
        await world.afisha.events.list_events(None, starts_from=start, starts_before=start + gap)
    assert error_fields(info.value) == {"to"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("КОНЦЕРТ", {"concert"}),
        ("концерт", {"concert"}),
        ("Ёлка", {"tree"}),
        ("jazz", {"jazz"}),
        ("  JAZZ  ", {"jazz"}),
        ("basement", {"jazz"}),
        ("пароход", set()),
    ],
)
async def test_listing_filters_by_text_ignoring_case(
    world: World, query: str, expected: set[str]
) -> None:
    admin = await world.admin()
    ids = {
        "concert": (await world.event(admin, name="Большой Концерт")).event.id,
        "tree": (await world.event(admin, name="Новогодняя ёлка")).event.id,
        "jazz": (
            await world.event(admin, name="Evening", description="Live Jazz", location="Basement")
        ).event.id,
    }

    page = await world.afisha.events.list_events(None, text=query)

    assert {v.event.id for v in page.items} == {ids[k] for k in expected}


async def test_only_admins_may_include_cancelled_events(world: World) -> None:
    (user,) = await new_users(world, 1)
    with pytest.raises(Forbidden):
        await world.afisha.events.list_events(None, include_rejected=True)
    with pytest.raises(Forbidden):
        await world.afisha.events.list_events(user, include_rejected=True)


@pytest.mark.parametrize("cursor", ["garbage!", "bm90IGpzb24", "W10", "x" * 500])
async def test_a_bad_cursor_is_a_validation_error(world: World, cursor: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        await world.afisha.events.list_events(None, cursor=cursor)
    assert error_fields(info.value) == {"cursor"}


@pytest.mark.parametrize("limit", [0, -1, 101])
async def test_a_bad_limit_is_a_validation_error(world: World, limit: int) -> None:
    with pytest.raises(ValidationFailed) as info:
        await world.afisha.events.list_events(None, limit=limit)
    assert error_fields(info.value) == {"limit"}


@pytest.mark.parametrize("limit", [1, 100])
async def test_limits_at_the_bounds_are_fine(world: World, limit: int) -> None:
    admin = await world.admin()
    await world.event(admin)
    await world.event(admin)
    page = await world.afisha.events.list_events(None, limit=limit)
    assert len(page.items) == min(limit, 2)


# --- the caller's own events ----------------------------------------------------------------


async def test_my_events_by_status_including_cancelled(world: World) -> None:
    admin = await world.admin()
    me, other = await new_users(world, 2)
    joined = await world.event(admin, starts_in=timedelta(days=2))
    await world.afisha.participation.join(me, joined.event.id)
    full = await world.event(admin, capacity=1, starts_in=timedelta(days=3))
    await world.afisha.participation.join(other, full.event.id)
    await world.afisha.participation.join(me, full.event.id, waitlist=True)
    left = await world.event(admin, starts_in=timedelta(days=4))
    await world.afisha.participation.join(me, left.event.id)
    await world.afisha.participation.leave(me, left.event.id)
    cancelled = await world.event(admin, starts_in=timedelta(days=5))
    await world.afisha.participation.join(me, cancelled.event.id)
    await world.afisha.events.reject(admin, cancelled.event.id)
    await world.event(admin)  # never joined

    async def ids(user: User, status: ParticipationStatus | None = None) -> list[uuid.UUID]:
        page = await world.afisha.events.list_my_events(user, status=status)
        return [v.event.id for v in page.items]

    assert await ids(me) == [joined.event.id, full.event.id, cancelled.event.id]
    assert await ids(me, P) == [joined.event.id, cancelled.event.id]
    assert await ids(me, W) == [full.event.id]
    assert await ids(me, R) == [left.event.id]
    assert await ids(other) == [full.event.id]
    mine = await world.afisha.events.list_my_events(me)
    assert [v.my_status for v in mine.items] == [P, W, P]


async def test_my_events_include_finished_events(world: World) -> None:
    admin = await world.admin()
    (me,) = await new_users(world, 1)
    finished = await world.event(admin, starts_in=timedelta(hours=1), duration=timedelta(hours=1))
    await world.afisha.participation.join(me, finished.event.id)
    upcoming = await world.event(admin, starts_in=timedelta(days=2))
    await world.afisha.participation.join(me, upcoming.event.id)
    world.clock.advance(timedelta(hours=3))

    page = await world.afisha.events.list_my_events(me)
    participating = await world.afisha.events.list_my_events(me, status=P)

    assert [v.event.id for v in page.items] == [finished.event.id, upcoming.event.id]
    assert [v.event.id for v in participating.items] == [finished.event.id, upcoming.event.id]


async def test_my_events_paginate(world: World) -> None:
    admin = await world.admin()
    (me,) = await new_users(world, 1)
    joined = []
    for i in range(5):
        view = await world.event(admin, starts_in=timedelta(days=1 + i))
        await world.afisha.participation.join(me, view.event.id)
        joined.append(view.event.id)

    first = await world.afisha.events.list_my_events(me, limit=3)
    assert first.next_cursor is not None
    second = await world.afisha.events.list_my_events(me, limit=3, cursor=first.next_cursor)

    assert [v.event.id for v in [*first.items, *second.items]] == joined
    assert second.next_cursor is None


# --- participants (admin view) ----------------------------------------------------------------


async def test_only_admins_list_participants(world: World) -> None:
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    view = await world.event(admin)
    await world.afisha.participation.join(user, view.event.id)

    with pytest.raises(Forbidden):
        await world.afisha.events.list_participants(user, view.event.id)
    with pytest.raises(NotFound):
        await world.afisha.events.list_participants(admin, uuid.uuid4())


async def test_participants_in_sign_up_order_filtered_and_paginated(world: World) -> None:
    admin = await world.admin()
    users = await new_users(world, 7)
    view = await world.event(admin, capacity=5)
    for user in users:
        world.clock.advance(timedelta(seconds=10))
        await world.afisha.participation.join(user, view.event.id, waitlist=True)
    await world.afisha.participation.leave(users[0], view.event.id)  # users[5] moves up

    seen: list[Participant] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await world.afisha.events.list_participants(
            admin, view.event.id, limit=3, cursor=cursor
        )
        pages += 1
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert [p.user.id for p in seen] == [u.id for u in users]
    assert [p.participation.status for p in seen] == [R, P, P, P, P, P, W]
    assert seen[0].user.email == users[0].email

    participating = await world.afisha.events.list_participants(admin, view.event.id, status=P)
    assert [p.user.id for p in participating.items] == [u.id for u in users[1:6]]
    waiting = await world.afisha.events.list_participants(admin, view.event.id, status=W)
    assert [p.user.id for p in waiting.items] == [users[6].id]
    left = await world.afisha.events.list_participants(admin, view.event.id, status=R)
    assert [p.user.id for p in left.items] == [users[0].id]


# --- counts ---------------------------------------------------------------------------------


async def test_views_carry_live_counts(world: World) -> None:
    admin = await world.admin()
    a, b, c = await new_users(world, 3)
    limited = await world.event(admin, capacity=2, starts_in=timedelta(days=1))
    unlimited = await world.event(admin, starts_in=timedelta(days=2))
    roomy = await world.event(admin, capacity=5, starts_in=timedelta(days=3))
    for user in (a, b):
        await world.afisha.participation.join(user, limited.event.id)
    await world.afisha.participation.join(c, limited.event.id, waitlist=True)
    for user in (a, b, c):
        await world.afisha.participation.join(user, unlimited.event.id)
    await world.afisha.participation.join(a, roomy.event.id)
    await world.afisha.participation.join(b, roomy.event.id)
    await world.afisha.participation.leave(b, roomy.event.id)

    views = {v.event.id: v for v in (await world.afisha.events.list_events(c)).items}

    def counts(view: EventView) -> tuple[int, int, int | None]:
        return view.participants_count, view.waitlist_count, view.spots_left

    assert counts(views[limited.event.id]) == (2, 1, 0)
    assert counts(views[unlimited.event.id]) == (3, 0, None)
    assert counts(views[roomy.event.id]) == (1, 0, 4)
    assert views[limited.event.id].my_status is W
    assert views[unlimited.event.id].my_status is P
    assert views[roomy.event.id].my_status is None
    for event_id, view in views.items():
        assert await world.afisha.events.get(c, event_id) == view


# --- pictures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "extension"),
    [
        (PNG, "image/png", "png"),
        (JPEG, "image/jpeg", "jpg"),
        (WEBP, "image/webp", "webp"),
    ],
)
async def test_a_picture_is_stored_with_its_sniffed_type(
    world: World, data: bytes, content_type: str, extension: str
) -> None:
    admin = await world.admin()
    view = await world.event(admin)

    for declared in (None, content_type):
        updated = await world.afisha.events.set_image(admin, view.event.id, data, declared)

        key = updated.event.image_key
        assert key is not None
        assert key.endswith(f".{extension}")
        assert world.storage.keys == {key}
        stored = await world.storage.get(key)
        assert stored is not None
        assert stored.data == data
        assert stored.content_type == content_type
        assert (await stored_event(world, view.event.id)).image_key == key


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (PNG, "image/jpeg"),
        (JPEG, "image/png"),
        (WEBP, "image/png"),
        (PNG, "image/gif"),
        (b"GIF89a" + bytes(20), None),
        (b"GIF89a" + bytes(20), "image/gif"),
        (b"just some text, not a picture", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png"),
        (b"", None),
    ],
)
async def test_anything_but_a_matching_picture_is_refused(
    world: World, data: bytes, declared: str | None
) -> None:
    admin = await world.admin()
    view = await world.event(admin)

    with pytest.raises(UnsupportedMediaType):
        await world.afisha.events.set_image(admin, view.event.id, data, declared)

    assert world.storage.keys == frozenset()
    assert (await stored_event(world, view.event.id)).image_key is None


async def test_a_picture_over_the_size_cap_is_refused() -> None:
    world = World(settings=Settings(max_image_bytes=100))
    admin = await world.admin()
    view = await world.event(admin)
    at_cap = PNG + bytes(100 - len(PNG))

    with pytest.raises(PayloadTooLarge):
        await world.afisha.events.set_image(admin, view.event.id, at_cap + b"\x00", "image/png")
    assert world.storage.keys == frozenset()
    assert (await stored_event(world, view.event.id)).image_key is None

    updated = await world.afisha.events.set_image(admin, view.event.id, at_cap, "image/png")
    assert updated.event.image_key in world.storage.keys


async def test_a_new_picture_replaces_the_old_one(world: World) -> None:
    admin = await world.admin()
    view = await world.event(admin)
    other = await world.event(admin)
    other_key = (await world.afisha.events.set_image(admin, other.event.id, PNG)).event.image_key
    old_key = (await world.afisha.events.set_image(admin, view.event.id, PNG)).event.image_key

    new_key = (await world.afisha.events.set_image(admin, view.event.id, JPEG)).event.image_key

    assert new_key not in (None, old_key)
    assert world.storage.keys == {new_key, other_key}


async def test_a_picture_for_an_unknown_event_is_not_stored(world: World) -> None:
    admin = await world.admin()
    with pytest.raises(NotFound):
        await world.afisha.events.set_image(admin, uuid.uuid4(), PNG, "image/png")
    assert world.storage.keys == frozenset()


async def test_a_user_cannot_set_a_picture(world: World) -> None:
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    view = await world.event(admin)
    with pytest.raises(Forbidden):
        await world.afisha.events.set_image(user, view.event.id, PNG, "image/png")
    assert world.storage.keys == frozenset()


# --- what the emails say --------------------------------------------------------------------


async def test_emails_show_times_in_the_events_timezone_and_link_to_public_url() -> None:
    world = World(settings=Settings(public_url="https://afisha.example.org/"))
    admin = await world.admin()
    (user,) = await new_users(world, 1)
    starts_at = datetime(2030, 1, 5, 15, 0, tzinfo=UTC)
    view = await world.afisha.events.create(
        admin,
        EventDraft(
            name="Moscow evening",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            timezone="Europe/Moscow",
        ),
    )
    await world.afisha.participation.join(user, view.event.id)
    world.clock.set(starts_at - timedelta(hours=20))
    assert await world.afisha.reminders.send_due() == 1
    await world.afisha.events.reject(admin, view.event.id, "Snow")

    mails = mails_to(await world.deliver(), user)

    assert len(mails) == 2
    for mail in mails:
        # English CLDR times: a 12-hour clock, the zone shown by its city.
        assert "6:00\u202fPM–8:00\u202fPM (Moscow)" in mail.text
        assert "3:00" not in mail.text
        urls = URL_RE.findall(mail.text) + URL_RE.findall(mail.html or "")
        assert urls
        assert all(u.startswith("https://afisha.example.org/") for u in urls)
        assert any(str(view.event.id) in u for u in urls)
    for note in await notifications_of(world, user):
        assert "6:00\u202fPM" in note.content
        assert note.cta_url is not None
        assert note.cta_url.startswith("https://afisha.example.org/")


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "posix/Europe/Moscow", "Factory"])
async def test_names_that_are_not_iana_zones_are_refused(world: World, zone: str) -> None:
    admin = await world.admin()
    with pytest.raises(ValidationFailed) as caught:
        await world.event(admin, timezone=zone)
    assert [e.field for e in caught.value.errors] == ["timezone"]
