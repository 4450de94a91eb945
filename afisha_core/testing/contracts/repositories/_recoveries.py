"""The recoveries repository: lookups by token hash, single use under races."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import uuid4

import attrs
from hypothesis import given

from afisha_core.domain import (
    IssuedLoginRecovery,
)
from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing import strategies as afs
from afisha_core.testing.builders import (
    T0,
    make_recovery,
    make_user,
)
from afisha_core.testing.contracts.repositories._support import (
    ROUND_TRIPS,
    fresh_token_hash,
    seed,
)


class RecoveryRepositoryContract:
    """The recoveries repository: lookups by token hash, single use under races.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

    @ROUND_TRIPS
    @given(drawn=afs.recoveries())
    async def test_recoveries_round_trip(
        self, uow_factory: UnitOfWorkFactory, drawn: IssuedLoginRecovery
    ) -> None:
        """Any recovery token comes back field for field by token hash."""
        user = make_user()
        recovery = attrs.evolve(drawn, id=uuid4(), user_id=user.id, token_hash=fresh_token_hash())
        await seed(uow_factory, users=[user], recoveries=[recovery])
        async with uow_factory() as uow:
            assert await uow.recoveries.get_by_token_hash(recovery.token_hash) == recovery
            assert await uow.recoveries.get_by_token_hash(fresh_token_hash()) is None

    @ROUND_TRIPS
    @given(before=afs.recoveries(), after=afs.recoveries())
    async def test_recovery_updates_round_trip(
        self,
        uow_factory: UnitOfWorkFactory,
        before: IssuedLoginRecovery,
        after: IssuedLoginRecovery,
    ) -> None:
        """A recovery update replaces every field."""
        user = make_user()
        recovery = attrs.evolve(before, id=uuid4(), user_id=user.id, token_hash=fresh_token_hash())
        changed = attrs.evolve(
            after, id=recovery.id, user_id=user.id, token_hash=fresh_token_hash()
        )
        await seed(uow_factory, users=[user], recoveries=[recovery])
        async with uow_factory() as uow:
            await uow.recoveries.update(changed)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.recoveries.get_by_token_hash(changed.token_hash) == changed
            assert await uow.recoveries.get_by_token_hash(recovery.token_hash) is None

    async def test_a_recovery_token_used_concurrently_is_accepted_once(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Lookups by token hash lock the recovery, so it is used once."""
        user = make_user()
        recovery = make_recovery(user.id)
        await seed(uow_factory, users=[user], recoveries=[recovery])

        async def use(at: datetime) -> bool:
            async with uow_factory() as uow:
                found = await uow.recoveries.get_by_token_hash(recovery.token_hash)
                assert found is not None
                if found.used_at is not None:
                    return False
                await asyncio.sleep(0)
                await uow.recoveries.update(attrs.evolve(found, used_at=at))
                await uow.commit()
                return True

        times = [T0 + timedelta(minutes=m) for m in range(1, 6)]
        accepted = await asyncio.gather(*(use(at) for at in times))
        assert accepted.count(True) == 1
        async with uow_factory() as uow:
            stored = await uow.recoveries.get_by_token_hash(recovery.token_hash)
            assert stored is not None
            assert stored.used_at == times[accepted.index(True)]
