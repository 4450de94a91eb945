"""Values to SQLite and back: the dialect's part of the shared table mapping.

Datetimes are stored as fixed-width UTC text (``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``)
so that text order is time order; uuids as canonical lower-case text, whose order is
the order of :class:`uuid.UUID`; booleans as 0 and 1. Which column holds which field
is :mod:`afisha_core.tables`' business, shared with the PostgreSQL store.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

from afisha_core.tables import Convert, Kind, dump_json, load_json

T = TypeVar("T")


Row = sqlite3.Row
"""A result row, read by column name."""


def ts(value: datetime) -> str:
    """The stored form of an aware datetime: fixed-width UTC text."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got {value!r}")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def ts_or_none(value: datetime | None) -> str | None:
    """:func:`ts`, passing ``None`` through."""
    return None if value is None else ts(value)


def dt(value: str) -> datetime:
    """The aware UTC datetime of a stored timestamp."""
    return datetime.fromisoformat(value).astimezone(UTC)


def dt_or_none(value: str | None) -> datetime | None:
    """:func:`dt`, passing ``None`` through."""
    return None if value is None else dt(value)


def uid(value: UUID) -> str:
    """The stored form of a uuid: canonical lower-case text."""
    return str(value)


def uid_or_none(value: UUID | None) -> str | None:
    """:func:`uid`, passing ``None`` through."""
    return None if value is None else str(value)


def to_uuid(value: str) -> UUID:
    """The uuid of a stored id."""
    return UUID(value)


def to_uuid_or_none(value: str | None) -> UUID | None:
    """:func:`to_uuid`, passing ``None`` through."""
    return None if value is None else UUID(value)


def casefold(value: object) -> str | None:
    """Python's ``str.casefold`` for SQL (SQLite's own folding covers ASCII only)."""
    return value.casefold() if isinstance(value, str) else None


# --- the codec of the shared table mapping ------------------------------------------


class SqliteCodec:
    """How SQLite stores each kind of value (see the module docstring)."""

    def dumper(self, kind: Kind) -> Convert | None:
        """Python value -> SQLite parameter."""
        return _DUMPERS.get(kind)

    def loader(self, kind: Kind, enum_class: type[Enum] | None) -> Convert | None:
        """SQLite value -> Python value."""
        if kind is Kind.ENUM and enum_class is not None:
            return enum_class
        return _LOADERS.get(kind)


def _enum_value(value: Enum) -> Any:
    return value.value


_DUMPERS: dict[Kind, Convert] = {
    Kind.TIMESTAMP: ts,
    Kind.UUID: uid,
    Kind.BOOLEAN: int,
    Kind.ENUM: _enum_value,
    Kind.JSON: dump_json,
}
_LOADERS: dict[Kind, Convert] = {
    Kind.TIMESTAMP: dt,
    Kind.UUID: to_uuid,
    Kind.BOOLEAN: bool,
    Kind.INTEGER: int,
    Kind.JSON: load_json,
}

CODEC = SqliteCodec()


def named(name: str) -> str:
    """SQLite's named placeholder for a parameter."""
    return f":{name}"
