"""Reading the deployment files of the repository: the compose file, .env.example, config.py."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import in_ci

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
CONFIG_SOURCE = ROOT / "adapters" / "afisha_server" / "config.py"

AFISHA_VARIABLE = re.compile(r"AFISHA_[A-Z_]+")
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def variables_read_by_the_app() -> set[str]:
    """Every ``AFISHA_*`` name in the server's configuration code."""
    return set(AFISHA_VARIABLE.findall(CONFIG_SOURCE.read_text(encoding="utf-8")))


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """The ``NAME=value`` lines of a Compose ``.env`` file, quotes removed.

    Single-quoted values are literal, as Compose reads them; this parser refuses
    anything else it does not understand rather than guess.
    """
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        match = _ASSIGNMENT.match(text)
        if match is None:
            raise AssertionError(f"{path.name}:{number}: not NAME=value: {raw!r}")
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif any(char in value for char in " '\"#&<>;"):
            raise AssertionError(f"{path.name}:{number}: quote the value of {name}")
        if name in values:
            raise AssertionError(f"{path.name}:{number}: {name} is set twice")
        values[name] = value
    return values


def yaml_module() -> Any:
    """PyYAML (installed with moto's server, in the test-servers extra).

    Imported by name, so mypy needs no stubs for it.
    """
    try:
        return importlib.import_module("yaml")
    except ImportError:
        if in_ci():
            pytest.fail("CI=true and PyYAML is not installed")
        pytest.skip("PyYAML is not installed")


def compose() -> dict[str, Any]:
    """The compose file, parsed (anchors and ``<<`` merge keys resolved)."""
    document: dict[str, Any] = yaml_module().safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return document
