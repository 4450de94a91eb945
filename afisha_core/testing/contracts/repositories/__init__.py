"""The contract of the repositories and the unit of work, for every adapter to pass.

Subclass :class:`UnitOfWorkContract` in the adapter's tests and provide a fixture named
``uow_factory`` that returns a :class:`~afisha_core.ports.UnitOfWorkFactory` over an
**empty** store (each test starts from nothing: drop or truncate the tables in the
fixture)::

    class TestMemoryUnitOfWork(UnitOfWorkContract):
        @pytest.fixture
        def uow_factory(self) -> UnitOfWorkFactory:
            return InMemoryDatabase()

An adapter that needs a running loop to set up uses ``@pytest_asyncio.fixture`` instead.
The concurrency tests open up to 20 units of work at once; a pool smaller than that
makes them queue, which is fine.

The tests use fixed instants (never the wall clock) and never keep using a unit of work
after one of its repositories raised. Each repository's tests are a mixin in a module of
their own (``_users``, ``_events``, ...); :class:`UnitOfWorkContract` combines them all.
The round trips (store, read back, compare field for field; the same after an update)
are one Hypothesis property, parametrised by entity, over the strategies of
:mod:`afisha_core.testing.strategies` (``_round_trips``): a few examples each, on the one
store the fixture gives (each example gets fresh ids, emails, usernames and token hashes).
"""

from __future__ import annotations

import pytest

from afisha_core.testing.contracts.accounts import AccountSecurityContract, PersonalDataContract
from afisha_core.testing.contracts.calendar_feeds import CalendarFeedContract
from afisha_core.testing.contracts.repositories._events import EventRepositoryContract
from afisha_core.testing.contracts.repositories._notifications import NotificationRepositoryContract
from afisha_core.testing.contracts.repositories._outbox import OutboxRepositoryContract
from afisha_core.testing.contracts.repositories._participations import (
    ParticipationRepositoryContract,
)
from afisha_core.testing.contracts.repositories._recoveries import RecoveryRepositoryContract
from afisha_core.testing.contracts.repositories._registrations import RegistrationRepositoryContract
from afisha_core.testing.contracts.repositories._reminders import ReminderClaimContract
from afisha_core.testing.contracts.repositories._round_trips import RoundTripContract
from afisha_core.testing.contracts.repositories._sessions import SessionRepositoryContract
from afisha_core.testing.contracts.repositories._transactions import TransactionContract
from afisha_core.testing.contracts.repositories._users import UserRepositoryContract
from afisha_core.testing.contracts.webhooks import WebhookContract

__all__ = ["UnitOfWorkContract"]


class UnitOfWorkContract(
    RoundTripContract,
    TransactionContract,
    UserRepositoryContract,
    SessionRepositoryContract,
    RegistrationRepositoryContract,
    RecoveryRepositoryContract,
    EventRepositoryContract,
    ParticipationRepositoryContract,
    ReminderClaimContract,
    NotificationRepositoryContract,
    OutboxRepositoryContract,
    AccountSecurityContract,
    PersonalDataContract,
    CalendarFeedContract,
    WebhookContract,
):
    """Every repository method and every rule of :mod:`afisha_core.ports`.

    Subclasses provide the ``uow_factory`` fixture (see the module docstring).
    """

    pytestmark = pytest.mark.asyncio
