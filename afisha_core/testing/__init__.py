"""Test support shipped with the library, for the core's tests and for yours.

- In-memory adapters of every port: :class:`InMemoryDatabase` with its
  :class:`InMemoryUnitOfWork` (all the repositories), and the fakes of the other ports:
  :class:`FakeClock`, :class:`InMemoryRateLimiter`, :class:`InMemoryObjectStorage`,
  :class:`RecordingMailer`, :class:`FastPasswordHasher` and
  :class:`RecordingTokenGenerator`. They behave as the ports' docstrings say, and add
  handles for tests (move the clock, read the mail, make the mailer fail).
- Contract suites, in :mod:`afisha_core.testing.contracts`: one pytest class per port
  that an adapter's tests subclass, providing the adapter as a fixture. The in-memory
  adapters pass them too.
- Builders of valid objects with fresh ids (:mod:`afisha_core.testing.builders`) and
  Hypothesis strategies for every entity (:mod:`afisha_core.testing.strategies`).

Importing this package needs neither pytest nor hypothesis: only the contract suites
import pytest (and Hypothesis, for their round-trip properties), and only they and the
strategies import hypothesis (the ``testing`` extra installs both).
"""

from afisha_core.testing.fakes import (
    FakeClock,
    FastPasswordHasher,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
    RecordingMailer,
    RecordingTokenGenerator,
)
from afisha_core.testing.memory import InMemoryDatabase, InMemoryUnitOfWork

__all__ = [
    "FakeClock",
    "FastPasswordHasher",
    "InMemoryDatabase",
    "InMemoryObjectStorage",
    "InMemoryRateLimiter",
    "InMemoryUnitOfWork",
    "RecordingMailer",
    "RecordingTokenGenerator",
]
