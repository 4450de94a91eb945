"""The contract of the webhook repository, for every store to pass.

:class:`WebhookContract` is a mixin of
:class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract` (it needs the
same ``uow_factory`` fixture over an empty store).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import attrs
import pytest

from afisha_core.domain import DeliveryStatus, Webhook, WebhookDelivery
from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.builders import T0

__all__ = ["WebhookContract"]


def _webhook(**overrides: Any) -> Webhook:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "url": "https://receiver.example/hook",
        "event_types": ("event.created", "user.registered"),
        "description": "test",
        "secret": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
        "created_at": T0,
    }
    fields.update(overrides)
    return Webhook(**fields)


def _delivery(webhook: Webhook, n: int = 0, **overrides: Any) -> WebhookDelivery:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "webhook_id": webhook.id,
        "event_type": "event.created",
        "payload": {"id": str(n), "name": "Концерт", "n": n, "ok": True, "none": None},
        "next_attempt_at": T0 + timedelta(seconds=n),
        "created_at": T0 + timedelta(seconds=n),
    }
    fields.update(overrides)
    return WebhookDelivery(**fields)


class WebhookContract:
    """Webhooks and their deliveries: storage, listing, leased claims, failure tracking."""

    pytestmark = pytest.mark.asyncio

    async def _stored(
        self, uow_factory: UnitOfWorkFactory, webhook: Webhook, *deliveries: WebhookDelivery
    ) -> None:
        async with uow_factory() as uow:
            await uow.webhooks.add(webhook)
            await uow.webhooks.add_deliveries(list(deliveries))
            await uow.commit()

    async def test_webhooks_and_deliveries_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """What is stored is read back field for field, newest delivery first."""
        webhook = _webhook()
        first, second = _delivery(webhook, 1), _delivery(webhook, 2)
        await self._stored(uow_factory, webhook, first, second)
        async with uow_factory() as uow:
            assert await uow.webhooks.get(webhook.id) == webhook
            assert await uow.webhooks.get(uuid.uuid4()) is None
            listed = await uow.webhooks.list_deliveries(webhook.id, before=None, limit=10)
            assert list(listed) == [second, first]
            page = await uow.webhooks.list_deliveries(
                webhook.id, before=(second.created_at, second.id), limit=10
            )
            assert list(page) == [first]

    async def test_webhooks_are_listed_in_creation_order_by_pages(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """``list`` pages through ``(created_at, id)`` order."""
        hooks = [_webhook(created_at=T0 + timedelta(minutes=i)) for i in range(3)]
        for hook in reversed(hooks):
            await self._stored(uow_factory, hook)
        async with uow_factory() as uow:
            first = await uow.webhooks.list(after=None, limit=2)
            rest = await uow.webhooks.list(after=(first[-1].created_at, first[-1].id), limit=2)
        assert [w.id for w in [*first, *rest]] == [w.id for w in hooks]

    async def test_subscribers_are_the_enabled_webhooks_of_the_type(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """``list_subscribed`` leaves out other types and disabled webhooks."""
        wanted = _webhook()
        other = _webhook(event_types=("event.updated",))
        disabled = _webhook(failing_since=T0, disabled_at=T0 + timedelta(days=1))
        for hook in (wanted, other, disabled):
            await self._stored(uow_factory, hook)
        async with uow_factory() as uow:
            found = await uow.webhooks.list_subscribed("event.created")
        assert [w.id for w in found] == [wanted.id]

    async def test_delete_removes_the_webhook_and_its_deliveries(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """After ``delete`` nothing of the webhook is listed or claimed."""
        webhook = _webhook()
        await self._stored(uow_factory, webhook, _delivery(webhook))
        async with uow_factory() as uow:
            assert await uow.webhooks.delete(webhook.id)
            assert not await uow.webhooks.delete(webhook.id)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.webhooks.get(webhook.id) is None
            assert await uow.webhooks.list_deliveries(webhook.id, before=None, limit=10) == []
            assert await uow.webhooks.claim_due(T0 + timedelta(days=1), T0, 10) == []

    async def test_a_claim_leases_due_deliveries_once(self, uow_factory: UnitOfWorkFactory) -> None:
        """Due PENDING deliveries are claimed oldest first; a claimed one is not claimed again."""
        webhook = _webhook()
        due = [_delivery(webhook, n) for n in range(3)]
        later = _delivery(webhook, 100)
        done = _delivery(webhook, 1, status=DeliveryStatus.DELIVERED, next_attempt_at=None)
        await self._stored(uow_factory, webhook, *due, later, done)
        now, lease = T0 + timedelta(seconds=10), T0 + timedelta(minutes=5)
        async with uow_factory() as uow:
            claimed = await uow.webhooks.claim_due(now, lease, 2)
            await uow.commit()
        assert [c.delivery.id for c in claimed] == [d.id for d in due[:2]]
        assert {c.delivery.next_attempt_at for c in claimed} == {lease}
        assert {c.webhook for c in claimed} == {webhook}
        async with uow_factory() as uow:
            again = await uow.webhooks.claim_due(now, lease, 10)
            await uow.commit()
        assert [c.delivery.id for c in again] == [due[2].id]
        async with uow_factory() as uow:
            assert await uow.webhooks.claim_due(now, lease, 10) == []
            # When the lease runs out, the claims come back.
            back = await uow.webhooks.claim_due(lease, lease + timedelta(minutes=5), 10)
        assert {c.delivery.id for c in back} == {d.id for d in [*due, later]}

    async def test_two_claims_at_once_take_disjoint_deliveries(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Concurrent claims never hand one delivery to two workers."""
        webhook = _webhook()
        deliveries = [_delivery(webhook, n) for n in range(10)]
        await self._stored(uow_factory, webhook, *deliveries)
        now, lease = T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)

        async def claim() -> list[uuid.UUID]:
            async with uow_factory() as uow:
                got = await uow.webhooks.claim_due(now, lease, 4)
                await uow.commit()
            return [c.delivery.id for c in got]

        batches = await asyncio.gather(*(claim() for _ in range(4)))
        every = [i for batch in batches for i in batch]
        assert len(every) == len(set(every)) == 10

    async def test_finish_attempt_needs_the_claim(self, uow_factory: UnitOfWorkFactory) -> None:
        """An outcome is written only while this worker's lease holds."""
        webhook = _webhook()
        delivery = _delivery(webhook)
        await self._stored(uow_factory, webhook, delivery)
        lease = T0 + timedelta(minutes=5)
        async with uow_factory() as uow:
            (claimed,) = await uow.webhooks.claim_due(T0, lease, 1)
            await uow.commit()
        outcome = attrs.evolve(
            claimed.delivery,
            status=DeliveryStatus.DELIVERED,
            attempts=1,
            next_attempt_at=None,
            last_status_code=204,
            delivered_at=T0 + timedelta(seconds=1),
        )
        async with uow_factory() as uow:
            assert not await uow.webhooks.finish_attempt(outcome, lease + timedelta(seconds=1))
            assert await uow.webhooks.finish_attempt(outcome, lease)
            assert not await uow.webhooks.finish_attempt(outcome, lease)
            await uow.commit()
        async with uow_factory() as uow:
            (stored,) = await uow.webhooks.list_deliveries(webhook.id, before=None, limit=1)
        assert stored == outcome

    async def test_failures_disable_a_webhook_after_the_limit(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """``mark_failure`` keeps the first failure time and disables once; success resets."""
        webhook = _webhook()
        await self._stored(uow_factory, webhook)
        day = timedelta(hours=24)
        async with uow_factory() as uow:
            assert not await uow.webhooks.mark_failure(webhook.id, T0, T0 - day)
            assert not await uow.webhooks.mark_failure(webhook.id, T0 + day / 2, T0 - day / 2)
            await uow.commit()
        async with uow_factory() as uow:
            stored = await uow.webhooks.get(webhook.id)
            assert stored is not None
            assert (stored.failing_since, stored.disabled_at) == (T0, None)
            await uow.webhooks.mark_success(webhook.id)
            await uow.commit()
        async with uow_factory() as uow:
            healed = await uow.webhooks.get(webhook.id)
            assert healed is not None
            assert healed.failing_since is None
            later = T0 + day
            assert not await uow.webhooks.mark_failure(webhook.id, later, later - day)
            end = later + day
            assert await uow.webhooks.mark_failure(webhook.id, end, end - day)
            assert not await uow.webhooks.mark_failure(webhook.id, end, end - day)
            await uow.commit()
        async with uow_factory() as uow:
            disabled = await uow.webhooks.get(webhook.id)
        assert disabled is not None
        assert disabled.disabled_at == T0 + 2 * day
