"""A stateful test of participation: joins, leaves, capacity changes, cancellations, time.

The machine drives a whole Afisha on in-memory adapters through its use cases and keeps
a small model of who should hold which status. After every step it checks, by reading
through a unit of work, that capacity is never exceeded, that nobody waits while a spot
is free, that the views' counts are the counted rows, and that the store agrees with
the model (which gives a freed spot to the longest-waiting user first).

Each rule also checks the use case's answer against the model: which expected error
(EventFull, EventRejected, EventFinished, CapacityTooLow, NotFound) it must raise, or
which status it must return.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from afisha_core.domain import EventView, ParticipationStatus, User
from afisha_core.errors import (
    AfishaError,
    CapacityTooLow,
    EventFinished,
    EventFull,
    EventRejected,
    NotFound,
)
from afisha_core.usecases import EventPatch
from tests.support.world import World

T = TypeVar("T")

P = ParticipationStatus.PARTICIPATING
W = ParticipationStatus.WAITLISTED
R = ParticipationStatus.REJECTED

USERS = 6
STEPS = 30
Expected = ParticipationStatus | type[AfishaError] | None

users = st.integers(0, USERS - 1)
events = st.integers(0, 1)  # taken modulo the number of events
# Small capacities and few unlimited events, so that events fill up and people wait.
capacities = st.sampled_from([1, 2, 3, None])


@attrs.define
class ModelEvent:
    """What the machine expects of one event."""

    id: uuid.UUID
    ends_at: datetime
    capacity: int | None
    cancelled: bool = False
    statuses: dict[int, ParticipationStatus] = attrs.Factory(dict)
    queue: list[int] = attrs.Factory(list)  # waiting users, longest-waiting first

    def participants(self) -> int:
        return sum(s is P for s in self.statuses.values())

    def present(self) -> list[int]:
        """The users participating or waiting, by user number."""
        return sorted(u for u, s in self.statuses.items() if s is not R)

    def has_room(self) -> bool:
        return self.capacity is None or self.participants() < self.capacity

    def fill(self, now: datetime) -> None:
        if self.cancelled or now >= self.ends_at:
            return
        while self.queue and self.has_room():
            self.statuses[self.queue.pop(0)] = P


@settings(stateful_step_count=STEPS, deadline=None)
class ParticipationMachine(RuleBasedStateMachine):
    """Users join, wait, leave; an admin changes capacity and cancels; time passes."""

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.world = World()
        self.admin: User = self.run(self.world.admin())
        self.users: list[User] = [self.run(self.world.register()).user for _ in range(USERS)]
        self.events: list[ModelEvent] = []
        self.steps = 0

    def teardown(self) -> None:
        self.runner.close()

    # --- plumbing ---------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def attempt(self, coro: Coroutine[Any, Any, T]) -> T | AfishaError:
        """Run a use case; return the domain error it raised instead of raising it."""
        try:
            return self.run(coro)
        except AfishaError as exc:
            return exc

    def now(self) -> datetime:
        return self.world.clock.now()

    def pick(self, index: int) -> ModelEvent:
        return self.events[index % len(self.events)]

    def finished(self, model: ModelEvent) -> bool:
        return self.now() >= model.ends_at

    # --- setup ------------------------------------------------------------------------

    @initialize(
        setup=st.lists(
            st.tuples(capacities, st.integers(min_value=3, max_value=12)),
            min_size=1,
            max_size=2,
        )
    )
    def create_events(self, setup: list[tuple[int | None, int]]) -> None:
        for capacity, starts_in_hours in setup:
            view = self.run(
                self.world.event(
                    self.admin,
                    capacity=capacity,
                    starts_in=timedelta(hours=starts_in_hours),
                    duration=timedelta(hours=2),
                )
            )
            self.events.append(
                ModelEvent(id=view.event.id, ends_at=view.event.ends_at, capacity=capacity)
            )

    # --- what the users do ------------------------------------------------------------

    def do_join(self, model: ModelEvent, user: int, waitlist: bool) -> None:
        current = model.statuses.get(user)
        expected: Expected
        if current is P:
            expected = P
        elif model.cancelled:
            expected = EventRejected
        elif self.finished(model):
            expected = EventFinished
        elif current is W:
            expected = W if waitlist else EventFull
        elif model.has_room():
            expected = P
        elif waitlist:
            expected = W
        else:
            expected = EventFull

        view = self.attempt(
            self.world.afisha.participation.join(self.users[user], model.id, waitlist=waitlist)
        )
        if isinstance(view, AfishaError):
            assert type(view) is expected, f"join raised {view!r}, expected {expected}"
            return
        assert view.my_status is expected, f"join gave {view.my_status}, expected {expected}"
        if current is not expected:
            model.statuses[user] = view.my_status
            if view.my_status is W:
                model.queue.append(user)

    def do_leave(self, model: ModelEvent, user: int) -> None:
        current = model.statuses.get(user)
        expected: Expected
        if model.cancelled and current in (None, R):
            expected = NotFound  # a cancelled event is visible only to its people
        elif self.finished(model):
            expected = EventFinished
        else:
            expected = R

        view = self.attempt(self.world.afisha.participation.leave(self.users[user], model.id))
        if isinstance(view, AfishaError):
            assert type(view) is expected, f"leave raised {view!r}, expected {expected}"
            return
        assert view.my_status is expected, f"leave gave {view.my_status}, expected {expected}"
        if current is None:
            return  # nothing to leave: nothing is stored
        model.statuses[user] = R
        if current is W:
            model.queue.remove(user)
        if current is P:
            model.fill(self.now())

    @rule(user=users, event=events, waitlist=st.booleans())
    def join(self, user: int, event: int, waitlist: bool) -> None:
        """Anybody joins (or asks to wait)."""
        self.do_join(self.pick(event), user, waitlist)

    @rule(user=users, event=events)
    def wait(self, user: int, event: int) -> None:
        """Anybody joins asking to wait when full (its own rule, so events fill up)."""
        self.do_join(self.pick(event), user, waitlist=True)

    @rule(user=users, event=events)
    def leave(self, user: int, event: int) -> None:
        """Anybody leaves, whether they joined or not."""
        self.do_leave(self.pick(event), user)

    @rule(event=events, nth=st.integers(0, USERS - 1), again=st.sampled_from([None, False, True]))
    def someone_present_acts(self, event: int, nth: int, again: bool | None) -> None:
        """One who participates or waits leaves (None) or joins again (with ``again``)."""
        model = self.pick(event)
        present = model.present()
        if not present:
            return
        user = present[nth % len(present)]
        if again is None:
            self.do_leave(model, user)
        else:
            self.do_join(model, user, waitlist=again)

    # --- what the administrator does --------------------------------------------------

    @rule(event=events, capacity=st.sampled_from([1, 2, 3, 4, None]))
    def change_capacity(self, event: int, capacity: int | None) -> None:
        """Set a new capacity; lower than the participants is refused."""
        model = self.pick(event)
        expected: Expected = None
        if model.cancelled:
            expected = EventRejected
        elif capacity is not None and capacity < model.participants():
            expected = CapacityTooLow

        view = self.attempt(
            self.world.afisha.events.update(
                self.admin, model.id, EventPatch(max_participants_count=capacity)
            )
        )
        if isinstance(view, AfishaError):
            assert type(view) is expected, f"update raised {view!r}, expected {expected}"
            return
        assert expected is None, f"update passed, expected {expected}"
        assert view.event.max_participants_count == capacity
        model.capacity = capacity
        model.fill(self.now())

    @rule(event=events, really=st.booleans())
    def cancel(self, event: int, really: bool) -> None:
        """Cancel an event, only in the second half of a run (a cancelled one is inert)."""
        if not really or self.steps < STEPS // 2:
            return
        model = self.pick(event)
        view = self.run(self.world.afisha.events.reject(self.admin, model.id))
        assert view.event.rejected_at is not None
        model.cancelled = True

    @rule(minutes=st.integers(min_value=1, max_value=60))
    def advance_clock(self, minutes: int) -> None:
        """Time passes; events start and, now and then, end."""
        self.world.clock.advance(timedelta(minutes=minutes))

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def the_store_keeps_every_rule(self) -> None:
        self.steps += 1
        for model in self.events:
            stored, view = self.run(self._read(model.id))
            participating = sum(s is P for s in stored.values())
            waiting = sum(s is W for s in stored.values())
            capacity = view.event.max_participants_count

            assert capacity == model.capacity
            assert capacity is None or participating <= capacity, "overbooked"
            if waiting and not (view.event.is_rejected or self.finished(model)):
                assert capacity is not None, "someone waits for an unlimited event"
                assert participating == capacity, "someone waits while a spot is free"
            assert view.participants_count == participating
            assert view.waitlist_count == waiting
            expected = {self.users[i].id: s for i, s in model.statuses.items()}
            assert stored == expected, "the store disagrees with the model"

    async def _read(
        self, event_id: uuid.UUID
    ) -> tuple[dict[uuid.UUID, ParticipationStatus], EventView]:
        statuses: dict[uuid.UUID, ParticipationStatus] = {}
        async with self.world.db() as uow:
            for user in self.users:
                found = await uow.participations.get(event_id, user.id)
                if found is not None:
                    statuses[user.id] = found.status
            view = await uow.events.get_view(event_id, None)
        assert view is not None
        return statuses, view


TestParticipationMachine = ParticipationMachine.TestCase
