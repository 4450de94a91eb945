"""Fixtures for the whole suite."""

from __future__ import annotations

import pytest

from tests.support.world import World


@pytest.fixture
def world() -> World:
    """A fresh Afisha on in-memory adapters with a fake clock."""
    return World()
