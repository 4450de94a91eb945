"""Turning :mod:`sqlite3`'s failures into the core's errors."""

from __future__ import annotations

import sqlite3

from afisha_core.errors import ServiceUnavailable

__all__ = ["DatabaseUnavailable", "translate_error"]

# Primary result codes that mean "the database file cannot be used right now".
_UNAVAILABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOTADB,
    }
)


class DatabaseUnavailable(ServiceUnavailable):
    """The SQLite file cannot be used (locked too long, unreadable, full, closed)."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__("database", detail)


def translate_error(exc: sqlite3.Error) -> Exception:
    """The error to raise for a :mod:`sqlite3` error that escaped a repository."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _UNAVAILABLE_CODES:
        return DatabaseUnavailable(f"The database is unavailable ({exc}).")
    if isinstance(exc, sqlite3.IntegrityError):
        return ValueError(f"the row breaks a database constraint: {exc}")
    return exc
