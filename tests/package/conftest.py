"""The ``package`` marker: tests that build the distribution and install it (a minute or two).

CI runs them with everything else; deselect them locally with ``pytest -m "not package"``.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "package: builds the wheel and installs it into a fresh virtual environment "
        '(slow; deselect with -m "not package")',
    )
