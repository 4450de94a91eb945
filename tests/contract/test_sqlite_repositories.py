"""The repository contract suite against a fresh SQLite file, and the adapter's extras."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from afisha_core.errors import ServiceUnavailable
from afisha_core.ports import UnitOfWork, UnitOfWorkFactory
from afisha_core.testing.builders import make_user
from afisha_core.testing.contracts.repositories import UnitOfWorkContract
from afisha_sqlite import SqliteDatabase, SqliteUnitOfWork


@pytest_asyncio.fixture
async def database(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    async with SqliteDatabase(tmp_path / "data" / "afisha.db") as db:
        await db.migrate()
        yield db


class TestSqliteUnitOfWork(UnitOfWorkContract):
    @pytest_asyncio.fixture
    async def uow_factory(self, database: SqliteDatabase) -> UnitOfWorkFactory:
        return database


def test_the_database_is_a_unit_of_work_factory(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "afisha.db")
    factory: UnitOfWorkFactory = db  # checked by mypy
    uow: UnitOfWork = factory()  # checked by mypy
    assert isinstance(uow, SqliteUnitOfWork)
    assert db() is not db()


async def test_using_a_unit_of_work_outside_its_block_is_an_error(
    database: SqliteDatabase,
) -> None:
    uow = database()
    with pytest.raises(RuntimeError, match="not open"):
        await uow.users.get(make_user().id)
    with pytest.raises(RuntimeError, match="not open"):
        await uow.commit()
    async with uow:
        pass
    with pytest.raises(RuntimeError, match="not open"):
        await uow.rollback()


async def test_a_nested_unit_of_work_in_one_task_is_an_error_not_a_hang(
    database: SqliteDatabase,
) -> None:
    async with database():
        with pytest.raises(RuntimeError, match="wait forever"):
            async with asyncio.timeout(1):
                await database().__aenter__()
    async with database() as uow:  # the turn was given back
        assert await uow.users.get(make_user().id) is None


async def test_a_cancelled_unit_of_work_leaves_no_transaction_behind(
    database: SqliteDatabase,
) -> None:
    user = make_user()
    started = asyncio.Event()

    async def stuck() -> None:
        async with database() as uow:
            await uow.users.add(user)
            started.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(stuck())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with database() as uow:
        assert await uow.users.get(user.id) is None


async def test_a_closed_database_is_unavailable(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "afisha.db")
    await db.open()
    await db.migrate()
    await db.close()
    await db.close()  # closing twice does nothing
    with pytest.raises(ServiceUnavailable) as caught:
        async with db():
            pass
    assert caught.value.service == "database"


async def test_a_file_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(ServiceUnavailable):
        await SqliteDatabase(blocker / "afisha.db").open()


async def test_a_write_lock_held_too_long_by_another_connection_is_unavailable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "afisha.db"
    async with SqliteDatabase(path) as db:
        await db.migrate()
    async with (
        SqliteDatabase(path, busy_timeout=timedelta(milliseconds=50)) as a,
        SqliteDatabase(path) as b,
        b(),
    ):
        with pytest.raises(ServiceUnavailable):
            async with a():
                pass
