"""The worker's webhooks job: a real APScheduler run delivers to a real receiver."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from afisha_apscheduler import Worker
from afisha_core.app import Afisha
from afisha_core.testing import FakeClock
from afisha_httpx import HttpxWebhookSender
from afisha_server.config import ConfigError, ServerConfig
from tests.support.webhook_receiver import webhook_receiver
from tests.support.world import World

INTERVAL = timedelta(seconds=0.2)
LOGGER = "afisha_apscheduler"


async def test_the_worker_delivers_queued_webhooks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    sender = HttpxWebhookSender(allow_private=True)
    world = World(clock=FakeClock(datetime.now(UTC).replace(microsecond=0)))
    world.afisha = Afisha(
        uow=world.db,
        hasher=world.hasher,
        limiter=world.limiter,
        storage=world.storage,
        mailer=world.mailer,
        clock=world.clock,
        tokens=world.tokens,
        settings=world.settings,
        webhook_sender=sender,
    )
    try:
        async with webhook_receiver() as receiver:
            admin = await world.admin()
            webhook = await world.afisha.webhooks.create(admin, receiver.url, ["event.created"])
            receiver.secret = webhook.secret
            await world.event(admin)
            async with Worker(world.afisha, INTERVAL):
                for _ in range(100):
                    if receiver.received:
                        break
                    await asyncio.sleep(0.05)
    finally:
        await sender.aclose()

    assert [r.error for r in receiver.received] == [None]
    assert receiver.received[0].verified["type"] == "event.created"
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert any(line.startswith("webhooks: delivered 1,") for line in lines), lines


def test_allow_private_comes_from_the_environment() -> None:
    assert ServerConfig.from_env({}).webhooks_allow_private is False
    env = {"AFISHA_WEBHOOKS_ALLOW_PRIVATE": "true"}
    assert ServerConfig.from_env(env).webhooks_allow_private is True
    with pytest.raises(ConfigError, match="AFISHA_WEBHOOKS_ALLOW_PRIVATE"):
        ServerConfig.from_env({"AFISHA_WEBHOOKS_ALLOW_PRIVATE": "perhaps"})
