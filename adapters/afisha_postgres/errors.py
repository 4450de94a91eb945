"""Turning psycopg's failures into the core's errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import psycopg_pool

from afisha_core.errors import EmailTaken, ServiceUnavailable, UsernameTaken

__all__ = ["DatabaseUnavailable", "translate_errors"]

_UNIQUE_CONSTRAINTS: dict[str, type[Exception]] = {
    "users_email_live_key": EmailTaken,
    "users_username_live_key": UsernameTaken,
}


class DatabaseUnavailable(ServiceUnavailable):
    """PostgreSQL cannot be reached (down, restarting, or the pool is exhausted)."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__("database", detail)


@contextmanager
def translate_errors() -> Iterator[None]:
    """Translate psycopg's errors into the core's.

    Connection failures become :class:`DatabaseUnavailable`; live-user uniqueness
    violations become :class:`EmailTaken` / :class:`UsernameTaken`.
    """
    try:
        yield
    except psycopg.errors.UniqueViolation as exc:
        error = _UNIQUE_CONSTRAINTS.get(exc.diag.constraint_name or "")
        if error is None:
            raise
        raise error from exc
    except (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout) as exc:
        raise DatabaseUnavailable(f"The database is unavailable: {exc}") from exc
