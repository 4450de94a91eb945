"""Finding the outside tools the client tests run: Node packages and Chromium.

A missing tool skips the test with how to install it, except under ``CI=true``, where
it fails the run (``.ci/run`` installs every one of them).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.services import in_ci

__all__ = ["CLIENTS_DIR", "chromium", "node_tool", "require"]

CLIENTS_DIR = Path(__file__).parent
NODE_MODULES = CLIENTS_DIR / "node_modules"


def require(found: str | None, what: str, how: str) -> str:
    """``found`` when it is there; otherwise skip (or under CI fail) saying ``how``."""
    if found:
        return found
    message = f"{what} is not installed; install it with: {how}"
    if in_ci():
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


def node_tool(package: str) -> Path:
    """The folder of an npm package of ``tests/clients/package.json``, with node on PATH."""
    require(shutil.which("node"), "node", "apt-get install -y nodejs")
    folder = NODE_MODULES / package
    require(
        str(folder) if folder.is_dir() else None,
        f"the npm package {package}",
        f"npm ci --prefix {CLIENTS_DIR}",
    )
    return folder


def chromium() -> str:
    """The Chromium (or Chrome) executable."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return require(None, "Chromium", "apt-get install -y chromium")
