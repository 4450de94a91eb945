"""Reaching the real PostgreSQL and Redis servers the tests use.

When a server is not reachable the test is skipped with a reason that says how to
start it, except under ``CI=true``, where a missing service fails the run.
"""

from __future__ import annotations

import os
import socket

import pytest

POSTGRES_URL = os.environ.get(
    "AFISHA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("AFISHA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

_HOW_TO_START = {
    "PostgreSQL": (
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start "
        "(or set AFISHA_TEST_POSTGRES_URL)"
    ),
    "Redis": (
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" '
        "(or set AFISHA_TEST_REDIS_URL)"
    ),
}


def in_ci() -> bool:
    """Whether this is a CI run, where every service must be there."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or under CI fail) the calling test unless ``host:port`` accepts connections."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}; start it with: {_HOW_TO_START[name]}"
    if in_ci():
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


def require_postgres() -> str:
    """The PostgreSQL URL the tests use, once the server is known to be up."""
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415 - only for PostgreSQL tests

    params = conninfo_to_dict(POSTGRES_URL)
    host = str(params.get("host") or "127.0.0.1")
    require_service("PostgreSQL", host, int(str(params.get("port") or 5432)))
    return POSTGRES_URL


def require_redis() -> str:
    """The Redis URL the tests use, once the server is known to be up."""
    from urllib.parse import urlsplit  # noqa: PLC0415

    parts = urlsplit(REDIS_URL)
    require_service("Redis", parts.hostname or "127.0.0.1", parts.port or 6379)
    return REDIS_URL
