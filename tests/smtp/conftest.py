"""Fixtures: an aiosmtpd server on a free port, TLS material, a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from afisha_core.testing import FakeClock
from tests.support.smtp_server import SmtpTestServer, TlsPair, make_tls

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def tls() -> TlsPair:
    """A throwaway CA's server certificate for 127.0.0.1, and a client trusting it."""
    return make_tls()


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A plain aiosmtpd server recording what it accepts."""
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    """A clock standing at 2030-01-01 12:00 UTC."""
    return FakeClock(START)
