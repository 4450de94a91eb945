"""The repository contract suite against PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.contracts.repositories import UnitOfWorkContract
from tests.support.pg import migrated_database


class TestPostgresUnitOfWork(UnitOfWorkContract):
    @pytest_asyncio.fixture
    async def uow_factory(self) -> AsyncIterator[UnitOfWorkFactory]:
        async with migrated_database(max_size=20) as db:
            yield db
