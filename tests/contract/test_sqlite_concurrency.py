"""The concurrency contract against a fresh SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.contracts.concurrency import ConcurrencyContract
from afisha_sqlite import SqliteDatabase


class TestSqliteConcurrency(ConcurrencyContract):
    wait = 0.05  # write transactions take turns: the second writer waits for the first

    @pytest_asyncio.fixture
    async def uow_factory(self, tmp_path: Path) -> AsyncIterator[UnitOfWorkFactory]:
        async with SqliteDatabase(tmp_path / "afisha.db") as db:
            await db.migrate()
            yield db
