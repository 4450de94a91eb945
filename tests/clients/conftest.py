"""Fixtures of the client tests: the app over an in-memory World."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.http import Api, open_api
from tests.support.world import World


@pytest.fixture
async def api(world: World) -> AsyncIterator[Api]:
    """An httpx client on the ASGI app over the test's world."""
    async with open_api(world) as opened:
        yield opened
