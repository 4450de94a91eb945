"""The registrations repository: lookups by token hash, locked updates."""

from __future__ import annotations

import asyncio

import attrs

from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.builders import (
    make_registration,
)
from afisha_core.testing.contracts.repositories._support import (
    seed,
)


class RegistrationRepositoryContract:
    """The registrations repository: lookups by token hash, locked updates.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

    async def test_concurrent_wrong_codes_are_all_counted(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Lookups by token hash lock the registration, so no wrong code is lost."""
        registration = make_registration()
        await seed(uow_factory, registrations=[registration])

        async def wrong_code() -> None:
            async with uow_factory() as uow:
                found = await uow.registrations.get_by_token_hash(registration.token_hash)
                assert found is not None
                await asyncio.sleep(0)
                await uow.registrations.update(attrs.evolve(found, attempts=found.attempts + 1))
                await uow.commit()

        await asyncio.gather(*(wrong_code() for _ in range(4)))
        async with uow_factory() as uow:
            stored = await uow.registrations.get_by_token_hash(registration.token_hash)
            assert stored is not None
            assert stored.attempts == 4
