"""The repository contract suite against the in-memory database, and its own extras."""

from __future__ import annotations

import asyncio

import pytest

from afisha_core.ports import UnitOfWork, UnitOfWorkFactory
from afisha_core.testing.builders import make_user
from afisha_core.testing.contracts.repositories import UnitOfWorkContract
from afisha_core.testing.memory import InMemoryDatabase, InMemoryUnitOfWork


class TestMemoryUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    def uow_factory(self) -> UnitOfWorkFactory:
        return InMemoryDatabase()


def test_the_database_is_a_unit_of_work_factory() -> None:
    db = InMemoryDatabase()
    factory: UnitOfWorkFactory = db  # checked by mypy
    uow: UnitOfWork = factory()  # checked by mypy
    assert isinstance(uow, InMemoryUnitOfWork)
    assert isinstance(db.unit_of_work(), InMemoryUnitOfWork)
    assert db() is not db()


@pytest.mark.asyncio
async def test_using_a_unit_of_work_outside_its_block_is_an_error() -> None:
    uow = InMemoryDatabase().unit_of_work()
    with pytest.raises(RuntimeError, match="not open"):
        await uow.users.get(make_user().id)
    with pytest.raises(RuntimeError, match="not open"):
        await uow.commit()
    async with uow:
        pass
    with pytest.raises(RuntimeError, match="not open"):
        await uow.users.add(make_user())
    with pytest.raises(RuntimeError, match="not open"):
        await uow.rollback()


@pytest.mark.asyncio
async def test_entering_an_open_unit_of_work_again_is_an_error() -> None:
    uow = InMemoryDatabase().unit_of_work()
    async with uow:
        with pytest.raises(RuntimeError, match="already open"):
            await uow.__aenter__()


@pytest.mark.asyncio
async def test_a_nested_unit_of_work_in_one_task_is_an_error_not_a_hang() -> None:
    db = InMemoryDatabase()
    async with db():
        with pytest.raises(RuntimeError, match="wait forever"):
            async with asyncio.timeout(1):  # a hang fails the test instead
                await db().__aenter__()
    async with db() as uow:  # the turn was given back
        assert await uow.users.get(make_user().id) is None


@pytest.mark.asyncio
async def test_a_unit_of_work_can_be_used_again_after_it_ended() -> None:
    db = InMemoryDatabase()
    user = make_user()
    uow = db()
    async with uow:
        await uow.users.add(user)
        await uow.commit()
    async with uow:
        assert await uow.users.get(user.id) == user


def test_the_database_works_across_event_loops() -> None:
    db = InMemoryDatabase()  # no loop is running here
    user = make_user()

    async def add() -> None:
        async with db() as uow:
            await uow.users.add(user)
            await uow.commit()

    async def contend() -> None:
        async def read() -> None:
            async with db() as uow:
                assert await uow.users.get(user.id) == user
                await asyncio.sleep(0)

        await asyncio.gather(read(), read(), read())

    asyncio.run(add())
    asyncio.run(contend())
    asyncio.run(contend())
