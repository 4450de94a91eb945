"""Races on PostgreSQL: capacity, the waitlist and reminder claims under concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID

import attrs
import pytest_asyncio

from afisha_core.app import Afisha
from afisha_core.clock import SystemClock
from afisha_core.domain import ParticipationStatus, User
from afisha_core.errors import EventFull
from afisha_core.testing import (
    FakeClock,
    FastPasswordHasher,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
    RecordingMailer,
)
from afisha_core.testing.builders import make_event, make_participation, make_user
from afisha_core.usecases import EventDraft
from afisha_postgres import PostgresDatabase
from tests.support.pg import migrated_database

P = ParticipationStatus


@attrs.define
class Deployment:
    db: PostgresDatabase
    clock: FakeClock
    afisha: Afisha

    async def users(self, n: int) -> list[User]:
        made = [make_user() for _ in range(n)]
        async with self.db() as uow:
            for user in made:
                await uow.users.add(user)
            await uow.commit()
        return made

    async def statuses(self, event_id: UUID) -> dict[P, int]:
        async with self.db() as uow:
            view = await uow.events.get_view(event_id, None)
        assert view is not None
        return {P.PARTICIPATING: view.participants_count, P.WAITLISTED: view.waitlist_count}


@pytest_asyncio.fixture
async def deployment() -> AsyncIterator[Deployment]:
    async with migrated_database(max_size=20) as db:
        clock = FakeClock()
        afisha = Afisha(
            uow=db,
            hasher=FastPasswordHasher(),
            limiter=InMemoryRateLimiter(clock),
            storage=InMemoryObjectStorage(),
            mailer=RecordingMailer(),
            clock=clock,
        )
        yield Deployment(db=db, clock=clock, afisha=afisha)


async def _event(d: Deployment, capacity: int) -> UUID:
    admin = await d.afisha.accounts.create_administrator(
        f"admin{id(d)}@example.org", "admin", "a long passphrase"
    )
    start = d.clock.now() + timedelta(days=2)
    view = await d.afisha.events.create(
        admin,
        EventDraft(
            name="Race",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            max_participants_count=capacity,
        ),
    )
    return view.event.id


async def test_fifty_concurrent_joins_on_capacity_five_give_exactly_five(
    deployment: Deployment,
) -> None:
    d = deployment
    event_id = await _event(d, capacity=5)
    users = await d.users(50)

    async def join(user: User) -> str:
        try:
            await d.afisha.participation.join(user, event_id)
        except EventFull:
            return "full"
        return "joined"

    outcomes = await asyncio.gather(*(join(u) for u in users))
    assert outcomes.count("joined") == 5
    assert outcomes.count("full") == 45
    assert await d.statuses(event_id) == {P.PARTICIPATING: 5, P.WAITLISTED: 0}
    print(f"\nrace: 50 concurrent joins on capacity 5 -> {outcomes.count('joined')} won")


async def test_with_waitlist_the_rest_wait_and_are_promoted_in_arrival_order(
    deployment: Deployment,
) -> None:
    d = deployment
    # A real clock, so arrival times differ and the queue order is observable.
    afisha = attrs.evolve(d.afisha, clock=SystemClock())
    event_id = await _event(d, capacity=5)
    users = await d.users(50)
    results = await asyncio.gather(
        *(afisha.participation.join(u, event_id, waitlist=True) for u in users)
    )
    assert sum(r.my_status is P.PARTICIPATING for r in results) == 5
    assert sum(r.my_status is P.WAITLISTED for r in results) == 45
    async with d.db() as uow:
        waiting = await uow.participations.list_participants(
            event_id,
            status=P.WAITLISTED,
            after=None,
            limit=100,
        )
    queue = [p.user.id for p in sorted(waiting, key=lambda p: p.participation.status_changed_at)]
    by_id = {u.id: u for u in users}
    holders = [u for u, r in zip(users, results, strict=True) if r.my_status is P.PARTICIPATING]
    for turn, leaving in enumerate(holders):
        await afisha.participation.leave(leaving, event_id)
        view = await afisha.events.get(by_id[queue[turn]], event_id)
        assert view.my_status is P.PARTICIPATING, f"turn {turn}: the queue order was not kept"
        assert view.participants_count == 5
        assert view.waitlist_count == 45 - turn - 1


async def test_concurrent_leave_and_join_pairs_never_leave_a_free_spot_with_someone_waiting(
    deployment: Deployment,
) -> None:
    d = deployment
    event_id = await _event(d, capacity=5)
    users = await d.users(45)
    for user in users[:25]:
        await d.afisha.participation.join(user, event_id, waitlist=True)
    leavers = users[:20]  # 5 participants and 15 waiting
    joiners = users[25:45]

    async def pair(leaver: User, joiner: User) -> None:
        await asyncio.gather(
            d.afisha.participation.leave(leaver, event_id),
            d.afisha.participation.join(joiner, event_id, waitlist=True),
        )

    await asyncio.gather(*(pair(a, b) for a, b in zip(leavers, joiners, strict=True)))
    counts = await d.statuses(event_id)
    assert counts[P.PARTICIPATING] == 5
    assert counts[P.WAITLISTED] == 25 - 20 + 20 - 5


async def test_two_claimers_over_a_thousand_due_rows_claim_each_exactly_once(
    deployment: Deployment,
) -> None:
    d = deployment
    users = [make_user() for _ in range(1000)]
    events = [make_event(starts_at=d.clock.now() + timedelta(hours=1 + i % 5)) for i in range(10)]
    async with d.db() as uow:
        for event in events:
            await uow.events.add(event)
        for i, user in enumerate(users):
            await uow.users.add(user)
            await uow.participations.save(
                make_participation(event_id=events[i % 10].id, user_id=user.id)
            )
        await uow.commit()
    now = d.clock.now()

    async def claimer() -> list[tuple[UUID, UUID]]:
        claimed: list[tuple[UUID, UUID]] = []
        while True:
            async with d.db() as uow:
                batch = await uow.participations.claim_due_reminders(
                    now, now + timedelta(hours=24), 37
                )
                await uow.commit()
            if not batch:
                return claimed
            claimed.extend((r.event_id, r.user_id) for r in batch)

    first, second = await asyncio.gather(claimer(), claimer())
    assert len(first) + len(second) == 1000
    assert len(set(first) | set(second)) == 1000
    assert not set(first) & set(second)
    assert first, "both workers should have taken part"
    assert second, "both workers should have taken part"
    print(f"\nclaims: worker A {len(first)}, worker B {len(second)}, overlap 0")
