"""The schema fuzzer is installed wherever the fuzz tests must run."""

from __future__ import annotations

import importlib.util

import pytest

from tests.support.services import in_ci


def test_schemathesis_is_installed() -> None:
    if importlib.util.find_spec("schemathesis") is not None:
        return
    message = "schemathesis is not installed (pip install -e '.[dev]'): no fuzzing ran"
    if in_ci():
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)
