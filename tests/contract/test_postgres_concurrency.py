"""The concurrency contract against PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.contracts.concurrency import ConcurrencyContract
from tests.support.pg import migrated_database


class TestPostgresConcurrency(ConcurrencyContract):
    hammer_rounds = 20

    @pytest_asyncio.fixture
    async def uow_factory(self) -> AsyncIterator[UnitOfWorkFactory]:
        async with migrated_database(max_size=6) as db:
            yield db
