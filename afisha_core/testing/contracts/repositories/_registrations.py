"""The registrations repository: lookups by token hash, locked updates."""

from __future__ import annotations

import asyncio

import attrs
from hypothesis import given

from afisha_core.domain import (
    IssuedRegistration,
)
from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing import strategies as afs
from afisha_core.testing.builders import (
    make_registration,
)
from afisha_core.testing.contracts.repositories._support import (
    ROUND_TRIPS,
    fresh_registration,
    fresh_token_hash,
    seed,
)


class RegistrationRepositoryContract:
    """The registrations repository: lookups by token hash, locked updates.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

    @ROUND_TRIPS
    @given(drawn=afs.registrations())
    async def test_registrations_round_trip(
        self, uow_factory: UnitOfWorkFactory, drawn: IssuedRegistration
    ) -> None:
        """Any registration comes back field for field by token hash."""
        registration = fresh_registration(drawn)
        await seed(uow_factory, registrations=[registration])
        async with uow_factory() as uow:
            found = await uow.registrations.get_by_token_hash(registration.token_hash)
            assert found == registration
            assert await uow.registrations.get_by_token_hash(fresh_token_hash()) is None

    @ROUND_TRIPS
    @given(before=afs.registrations(), after=afs.registrations())
    async def test_registration_updates_round_trip(
        self, uow_factory: UnitOfWorkFactory, before: IssuedRegistration, after: IssuedRegistration
    ) -> None:
        """A registration update replaces every field."""
        registration = fresh_registration(before)
        changed = attrs.evolve(fresh_registration(after), id=registration.id)
        await seed(uow_factory, registrations=[registration])
        async with uow_factory() as uow:
            await uow.registrations.update(changed)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.registrations.get_by_token_hash(changed.token_hash) == changed
            assert await uow.registrations.get_by_token_hash(registration.token_hash) is None

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
