"""Reminder claims: each due participation is claimed once, however many workers race."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

import attrs
import pytest

from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.builders import (
    T0,
    make_event,
    make_participation,
    make_user,
)
from afisha_core.testing.contracts.repositories._support import (
    REJECTED,
    US,
    WAITLISTED,
    get_participation,
    seed,
)


class ReminderClaimContract:
    """Reminder claims: each due participation is claimed once, however many workers race.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

    async def test_claim_due_reminders_claims_each_due_row_once(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Due rows are claimed with ``reminder_queued_at = now``, and only once."""
        now = T0 + timedelta(days=1)
        horizon = now + timedelta(hours=24)
        soon = make_event(starts_at=now + US)
        at_horizon = make_event(starts_at=horizon)
        a, b, c = make_user(), make_user(), make_user()
        rows = [
            make_participation(soon.id, a.id),
            make_participation(soon.id, b.id),
            make_participation(at_horizon.id, c.id),
        ]
        await seed(uow_factory, users=[a, b, c], events=[soon, at_horizon], participations=rows)
        async with uow_factory() as uow:
            claimed = await uow.participations.claim_due_reminders(now, horizon, 100)
            await uow.commit()
        users = {u.id: u for u in (a, b, c)}
        events = {e.id: e for e in (soon, at_horizon)}
        assert len(claimed) == 3
        assert [(d.event_id, d.user_id) for d in claimed] == sorted(
            ((p.event_id, p.user_id) for p in rows),
            key=lambda key: (events[key[0]].starts_at, key[0], key[1]),
        )
        assert dict(claimed.events) == events
        for due in claimed:
            user = users[due.user_id]
            assert (due.email, due.locale) == (user.email, user.locale)
            original = next(p for p in rows if p.user_id == due.user_id)
            stored = await get_participation(uow_factory, original.event_id, original.user_id)
            assert stored == attrs.evolve(original, reminder_queued_at=now)
        async with uow_factory() as uow:
            assert list(await uow.participations.claim_due_reminders(now, horizon, 100)) == []
            later = now + timedelta(hours=1)
            assert list(await uow.participations.claim_due_reminders(later, horizon, 100)) == []

    @pytest.mark.parametrize(
        "case",
        [
            "waitlisted",
            "rejected_participation",
            "already_queued",
            "rejected_event",
            "event_starts_now",
            "event_started",
            "beyond_horizon",
            "deleted_user",
        ],
    )
    async def test_claim_due_reminders_skips_rows_that_are_not_due(
        self, uow_factory: UnitOfWorkFactory, case: str
    ) -> None:
        """Rows that are not due are neither claimed nor changed."""
        now = T0 + timedelta(days=1)
        horizon = now + timedelta(hours=24)
        event_fields: dict[str, Any] = {"starts_at": now + timedelta(hours=2)}
        user_fields: dict[str, Any] = {}
        row_fields: dict[str, Any] = {}
        match case:
            case "waitlisted":
                row_fields["status"] = WAITLISTED
            case "rejected_participation":
                row_fields["status"] = REJECTED
            case "already_queued":
                row_fields["reminder_queued_at"] = now - timedelta(hours=1)
            case "rejected_event":
                event_fields["rejected_at"] = T0
            case "event_starts_now":
                event_fields["starts_at"] = now
            case "event_started":
                event_fields["starts_at"] = now - timedelta(minutes=30)
            case "beyond_horizon":
                event_fields["starts_at"] = horizon + US
            case "deleted_user":
                user_fields["deleted_at"] = T0
        event = make_event(**event_fields)
        user = make_user(**user_fields)
        row = make_participation(event.id, user.id, **row_fields)
        # A due row next to it shows the claim works at all.
        due_user = make_user()
        due_event = make_event(starts_at=now + timedelta(hours=2))
        due_row = make_participation(due_event.id, due_user.id)
        await seed(
            uow_factory,
            users=[user, due_user],
            events=[event, due_event],
            participations=[row, due_row],
        )
        async with uow_factory() as uow:
            claimed = await uow.participations.claim_due_reminders(now, horizon, 100)
            await uow.commit()
        assert [d.user_id for d in claimed] == [due_user.id]
        assert set(claimed.events) == {due_event.id}
        assert await get_participation(uow_factory, event.id, user.id) == row

    async def test_claim_due_reminders_honours_the_limit(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """At most ``limit`` claims per call, until none is left."""
        now = T0 + timedelta(days=1)
        horizon = now + timedelta(days=1)
        event = make_event(starts_at=now + timedelta(hours=3))
        users = [make_user() for _ in range(5)]
        await seed(
            uow_factory,
            users=users,
            events=[event],
            participations=[make_participation(event.id, u.id) for u in users],
        )
        sizes: list[int] = []
        seen: list[UUID] = []
        for _ in range(4):
            async with uow_factory() as uow:
                claimed = await uow.participations.claim_due_reminders(now, horizon, 2)
                await uow.commit()
            sizes.append(len(claimed))
            seen.extend(d.user_id for d in claimed)
        assert sizes == [2, 2, 1, 0]
        assert sorted(seen) == sorted(u.id for u in users)

    async def test_a_rolled_back_claim_can_be_claimed_again(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A claim that was not committed is undone."""
        now = T0 + timedelta(days=1)
        horizon = now + timedelta(days=1)
        event, user = make_event(starts_at=now + timedelta(hours=3)), make_user()
        row = make_participation(event.id, user.id)
        await seed(uow_factory, users=[user], events=[event], participations=[row])
        async with uow_factory() as uow:
            assert len(await uow.participations.claim_due_reminders(now, horizon, 10)) == 1
        assert await get_participation(uow_factory, event.id, user.id) == row
        async with uow_factory() as uow:
            assert len(await uow.participations.claim_due_reminders(now, horizon, 10)) == 1

    async def test_concurrent_reminder_claims_never_share_a_row(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Two racing claimers never get the same row, and miss none."""
        now = T0 + timedelta(days=1)
        horizon = now + timedelta(days=1)
        event = make_event(starts_at=now + timedelta(hours=3))
        users = [make_user() for _ in range(5)]
        await seed(
            uow_factory,
            users=users,
            events=[event],
            participations=[make_participation(event.id, u.id) for u in users],
        )

        async def worker() -> list[UUID]:
            async with uow_factory() as uow:
                claimed = await uow.participations.claim_due_reminders(now, horizon, 3)
                await asyncio.sleep(0)
                await uow.commit()
                return [d.user_id for d in claimed]

        first, second = await asyncio.gather(worker(), worker())
        assert not set(first) & set(second)
        assert sorted(first + second) == sorted(u.id for u in users)
