"""The participations repository: saves, counts, waitlists, listings, capacity under races."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import UUID

import attrs

from afisha_core.domain import (
    Participant,
    Participation,
    ParticipationStatus,
    User,
)
from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.builders import (
    T0,
    make_event,
    make_participation,
    make_user,
)
from afisha_core.testing.contracts.repositories._support import (
    MAX_PAGES,
    MICRO_1,
    MICRO_2,
    PARTICIPATING,
    REJECTED,
    WAITLISTED,
    get_participation,
    seed,
)


class ParticipationRepositoryContract:
    """The participations repository: saves, counts, waitlists, listings, capacity under races.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

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
