"""The registrations repository: lookups by token hash, locked updates."""

from __future__ import annotations

import asyncio

import attrs

from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.builders import (
    make_registration,
)
from afisha_core.testing.contracts.repositories._support import (
    MICRO_1,
    MICRO_2,
    MICRO_3,
    seed,
)


class RegistrationRepositoryContract:
    """The registrations repository: lookups by token hash, locked updates.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

    async def test_registration_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """Registrations come back field for field by token hash."""
        plain = make_registration()
        doomed = make_registration(
            code_hash=None,
            full_name="Пётр Иванов",
            attempts=3,
            created_at=MICRO_1,
            expires_at=MICRO_2,
            confirmed_at=MICRO_3,
        )
        await seed(uow_factory, registrations=[plain, doomed])
        async with uow_factory() as uow:
            assert await uow.registrations.get_by_token_hash(plain.token_hash) == plain
            assert await uow.registrations.get_by_token_hash(doomed.token_hash) == doomed
            assert await uow.registrations.get_by_token_hash(make_registration().token_hash) is None

    async def test_registration_update_round_trip(self, uow_factory: UnitOfWorkFactory) -> None:
        """A registration update replaces every field."""
        registration = make_registration()
        await seed(uow_factory, registrations=[registration])
        changed = attrs.evolve(registration, attempts=5, confirmed_at=MICRO_1)
        async with uow_factory() as uow:
            await uow.registrations.update(changed)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.registrations.get_by_token_hash(registration.token_hash) == changed

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
