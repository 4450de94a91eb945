"""The webhook failure gauges of /metrics count what the stores hold, in both SQL stores."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from afisha_core.domain import DeliveryStatus, Webhook, WebhookDelivery
from afisha_sqlite import SqliteDatabase
from tests.support.pg import migrated_database

NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "sqlite":
        async with SqliteDatabase(tmp_path / "afisha.db") as db:
            await db.migrate()
            yield db
    else:
        async with migrated_database() as db:
            yield db


def _delivery(webhook: Webhook, status: DeliveryStatus, attempts: int) -> WebhookDelivery:
    return WebhookDelivery(
        id=uuid.uuid4(),
        webhook_id=webhook.id,
        event_type="event.created",
        payload={"id": "x"},
        status=status,
        attempts=attempts,
        next_attempt_at=NOW if status is DeliveryStatus.PENDING else None,
        created_at=NOW - timedelta(hours=1),
    )


async def test_failing_deliveries_and_disabled_webhooks_are_counted(database: Any) -> None:
    created = NOW - timedelta(days=2)
    types = ("event.created",)
    active = Webhook(id=uuid.uuid4(), url="https://a.example/hook", event_types=types,
                     secret="whsec_" + "00" * 24, created_at=created)  # fmt: skip
    disabled = Webhook(id=uuid.uuid4(), url="https://b.example/hook", event_types=types,
                       secret="whsec_" + "11" * 24, created_at=created,
                       failing_since=NOW - timedelta(days=1), disabled_at=NOW)  # fmt: skip
    assert (await database.backlog(NOW, timedelta(hours=24)))["webhook_deliveries_failed"] == 0.0
    async with database() as uow:
        await uow.webhooks.add(active)
        await uow.webhooks.add(disabled)
        await uow.webhooks.add_deliveries(
            [
                _delivery(active, DeliveryStatus.PENDING, 0),
                _delivery(active, DeliveryStatus.PENDING, 2),
                _delivery(active, DeliveryStatus.FAILED, 8),
                _delivery(disabled, DeliveryStatus.FAILED, 8),
                _delivery(disabled, DeliveryStatus.DELIVERED, 1),
            ]
        )
        await uow.commit()

    figures = await database.backlog(NOW, timedelta(hours=24))

    assert figures["webhook_deliveries_retrying"] == 1.0
    assert figures["webhook_deliveries_failed"] == 2.0
    assert figures["webhooks_disabled"] == 1.0
