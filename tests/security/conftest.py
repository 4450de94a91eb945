"""Fixtures of the attack suites: the app over a SQLite file, driven through HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.security._stack import Stack, open_sqlite_stack


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's SQLite database lives."""
    return tmp_path / "afisha.db"


@pytest.fixture
async def stack(db_path: Path) -> AsyncIterator[Stack]:
    """The app on a fresh SQLite file, fakes for everything else, an httpx client on it."""
    async with open_sqlite_stack(db_path) as opened:
        yield opened
