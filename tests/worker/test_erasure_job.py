"""The worker's erasure job: a real APScheduler run erases accounts past the retention."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from afisha_apscheduler import Worker
from afisha_server.bootstrap import settings_of
from afisha_server.config import ConfigError, ServerConfig
from tests.support.world import PASSWORD, World

INTERVAL = timedelta(seconds=0.2)
LOGGER = "afisha_apscheduler"


async def test_the_worker_erases_accounts_deleted_longer_ago_than_the_retention(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    due, recent = await world.register(), await world.register()
    await world.afisha.accounts.delete_me(await world.principal(due), PASSWORD)
    world.clock.advance(timedelta(days=20))
    await world.afisha.accounts.delete_me(await world.principal(recent), PASSWORD)
    world.clock.advance(timedelta(days=10, seconds=1))  # due: 30 days; recent: 10 days

    async with Worker(world.afisha, INTERVAL):
        for _ in range(100):
            async with world.db() as uow:
                stored = await uow.users.get(due.user.id)
            if stored is not None and stored.erased_at is not None:
                break
            await asyncio.sleep(0.05)

    async with world.db() as uow:
        erased = await uow.users.get(due.user.id)
        kept = await uow.users.get(recent.user.id)
    assert erased is not None
    assert erased.erased_at is not None
    assert erased.email != due.user.email
    assert kept is not None
    assert kept.erased_at is None
    assert kept.email == recent.user.email
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert any(line.startswith("erasure: erased 1 ") for line in lines), lines


def test_the_retention_and_the_admin_totp_rule_come_from_the_environment() -> None:
    config = ServerConfig.from_env(
        {"AFISHA_DELETED_RETENTION": "7d", "AFISHA_REQUIRE_ADMIN_TOTP": "true"}
    )
    settings = settings_of(config)
    assert settings.deleted_retention == timedelta(days=7)
    assert settings.require_admin_totp is True
    defaults = settings_of(ServerConfig.from_env({}))
    assert defaults.deleted_retention == timedelta(days=30)
    assert defaults.require_admin_totp is False


@pytest.mark.parametrize(
    "env",
    [{"AFISHA_REQUIRE_ADMIN_TOTP": "maybe"}, {"AFISHA_DELETED_RETENTION": "a month"}],
)
def test_bad_values_are_refused_naming_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=next(iter(env))):
        ServerConfig.from_env(env)
