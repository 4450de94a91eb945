"""The events repository: lookups, live counts and listings with every filter."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import pytest

from afisha_core.domain import (
    EventView,
    ParticipationStatus,
)
from afisha_core.ports import EventQuery, UnitOfWorkFactory
from afisha_core.testing.builders import (
    T0,
    make_event,
    make_participation,
    make_user,
    unique,
)
from afisha_core.testing.contracts.repositories._support import (
    MAX_PAGES,
    PARTICIPATING,
    REJECTED,
    US,
    WAITLISTED,
    list_views,
    listed_ids,
    seed,
    sort_events,
)


class EventRepositoryContract:
    """The events repository: lookups, live counts and listings with every filter.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

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
