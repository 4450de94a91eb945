"""The outbox: lookups, updates and leased claims that never share a message."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

import attrs

from afisha_core.domain import (
    OutboxStatus,
)
from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.builders import (
    T0,
    make_notification,
    make_outbox_message,
    make_user,
)
from afisha_core.testing.contracts.repositories._support import (
    MICRO_1,
    US,
    seed,
)


class OutboxRepositoryContract:
    """The outbox: lookups, updates and leased claims that never share a message.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

    async def test_add_many_stores_every_notification_and_message(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """``add_many`` stores each item as ``add`` would, and an empty batch is fine."""
        user = make_user()
        await seed(uow_factory, users=[user])
        notifications = [
            make_notification(user.id, title=f"Напоминание {i}", created_at=MICRO_1)
            for i in range(3)
        ]
        messages = [make_outbox_message(created_at=MICRO_1) for _ in range(3)]
        async with uow_factory() as uow:
            await uow.notifications.add_many([])
            await uow.outbox.add_many([])
            await uow.notifications.add_many(notifications)
            await uow.outbox.add_many(messages)
            await uow.commit()
        async with uow_factory() as uow:
            for notification in notifications:
                assert await uow.notifications.get(notification.id) == notification
            for message in messages:
                assert await uow.outbox.get(message.id) == message
            claimed = await uow.outbox.claim_due(T0 + timedelta(days=1), T0 + timedelta(days=2), 10)
            assert {m.id for m in claimed} == {m.id for m in messages}

    async def test_outbox_claim_due_takes_pending_due_messages_oldest_first(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Only PENDING messages due by ``now`` are claimed, oldest first, and leased."""
        now = T0 + timedelta(days=1)
        lease = now + timedelta(minutes=5)
        hour = timedelta(hours=1)
        due_now = make_outbox_message(next_attempt_at=now)
        oldest = make_outbox_message(next_attempt_at=now - 2 * hour, attempts=3, last_error="x")
        older = make_outbox_message(next_attempt_at=now - hour)
        future = make_outbox_message(next_attempt_at=now + hour)
        just_after = make_outbox_message(next_attempt_at=now + US)
        sent = make_outbox_message(
            status=OutboxStatus.SENT, next_attempt_at=now - 3 * hour, sent_at=now - 3 * hour
        )
        failed = make_outbox_message(status=OutboxStatus.FAILED, next_attempt_at=now - 3 * hour)
        await seed(uow_factory, outbox=[due_now, oldest, older, future, just_after, sent, failed])
        async with uow_factory() as uow:
            claimed = list(await uow.outbox.claim_due(now, lease, 10))
            await uow.commit()
        expected = [attrs.evolve(m, next_attempt_at=lease) for m in (oldest, older, due_now)]
        assert claimed == expected
        async with uow_factory() as uow:
            for message in expected:
                assert await uow.outbox.get(message.id) == message
            for untouched in (future, just_after, sent, failed):
                assert await uow.outbox.get(untouched.id) == untouched

    async def test_outbox_claim_due_honours_the_limit(self, uow_factory: UnitOfWorkFactory) -> None:
        """At most ``limit`` messages per claim, the oldest."""
        now = T0 + timedelta(days=1)
        lease = now + timedelta(minutes=5)
        messages = [
            make_outbox_message(next_attempt_at=now - timedelta(minutes=m)) for m in (1, 3, 2)
        ]
        await seed(uow_factory, outbox=messages)
        async with uow_factory() as uow:
            first = list(await uow.outbox.claim_due(now, lease, 2))
            await uow.commit()
        assert [m.id for m in first] == [messages[1].id, messages[2].id]
        async with uow_factory() as uow:
            second = list(await uow.outbox.claim_due(now, lease, 2))
            await uow.commit()
        assert [m.id for m in second] == [messages[0].id]

    async def test_outbox_claimed_messages_come_back_when_the_lease_ends(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A claimed message is claimable again only once its lease ends."""
        now = T0 + timedelta(days=1)
        lease = now + timedelta(minutes=5)
        messages = [make_outbox_message(next_attempt_at=now) for _ in range(2)]
        await seed(uow_factory, outbox=messages)
        async with uow_factory() as uow:
            assert len(await uow.outbox.claim_due(now, lease, 10)) == 2
            await uow.commit()
        async with uow_factory() as uow:
            assert list(await uow.outbox.claim_due(now, lease, 10)) == []
            assert (
                list(await uow.outbox.claim_due(lease - US, lease + timedelta(minutes=5), 10)) == []
            )
        new_lease = lease + timedelta(minutes=5)
        async with uow_factory() as uow:
            again = await uow.outbox.claim_due(lease, new_lease, 10)
            await uow.commit()
        assert sorted(m.id for m in again) == sorted(m.id for m in messages)
        assert all(m.next_attempt_at == new_lease for m in again)

    async def test_a_rolled_back_outbox_claim_can_be_claimed_again(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A claim that was not committed is undone."""
        now = T0 + timedelta(days=1)
        message = make_outbox_message(next_attempt_at=now)
        await seed(uow_factory, outbox=[message])
        async with uow_factory() as uow:
            assert len(await uow.outbox.claim_due(now, now + timedelta(minutes=5), 10)) == 1
        async with uow_factory() as uow:
            assert await uow.outbox.get(message.id) == message
            assert len(await uow.outbox.claim_due(now, now + timedelta(minutes=5), 10)) == 1

    async def test_concurrent_outbox_claims_never_share_a_message(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Two racing claimers never get the same message, and miss none."""
        now = T0 + timedelta(days=1)
        lease = now + timedelta(minutes=5)
        messages = [make_outbox_message(next_attempt_at=now) for _ in range(5)]
        await seed(uow_factory, outbox=messages)

        async def worker() -> list[UUID]:
            async with uow_factory() as uow:
                claimed = await uow.outbox.claim_due(now, lease, 3)
                await asyncio.sleep(0)
                await uow.commit()
                return [m.id for m in claimed]

        first, second = await asyncio.gather(worker(), worker())
        assert not set(first) & set(second)
        assert sorted(first + second) == sorted(m.id for m in messages)
