"""The concurrency contract against the in-memory database."""

from __future__ import annotations

import pytest

from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.contracts.concurrency import ConcurrencyContract
from afisha_core.testing.memory import InMemoryDatabase


class TestMemoryConcurrency(ConcurrencyContract):
    wait = 0.02  # units of work take turns: the second writer always waits for the first

    @pytest.fixture
    def uow_factory(self) -> UnitOfWorkFactory:
        return InMemoryDatabase()
