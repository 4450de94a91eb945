"""The recoveries repository: lookups by token hash, single use under races."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import attrs

from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.builders import (
    T0,
    make_recovery,
    make_user,
)
from afisha_core.testing.contracts.repositories._support import (
    seed,
)


class RecoveryRepositoryContract:
    """The recoveries repository: lookups by token hash, single use under races.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

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
