"""Values to PostgreSQL and back: the dialect's part of the shared table mapping.

psycopg adapts uuids, timestamptz, booleans and integers itself; only enums are
stored by their value. Which column holds which field is :mod:`afisha_core.tables`'
business, shared with the SQLite store.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

from afisha_core.domain import EventView, ParticipationStatus
from afisha_core.tables import EVENTS, Convert, Kind

__all__ = ["CODEC", "PostgresCodec", "event_view", "named"]

T = TypeVar("T")
Row = dict[str, Any]


def _enum_value(value: Enum) -> Any:
    return value.value


class PostgresCodec:
    """How PostgreSQL (through psycopg) stores each kind of value."""

    def dumper(self, kind: Kind) -> Convert | None:
        """Python value -> query parameter (only enums need converting)."""
        return _enum_value if kind is Kind.ENUM else None

    def loader(self, kind: Kind, enum_class: type[Enum] | None) -> Convert | None:
        """Stored value -> Python value (only enums need converting)."""
        return enum_class if kind is Kind.ENUM else None


CODEC = PostgresCodec()


def named(name: str) -> str:
    """Psycopg's named placeholder for a parameter."""
    return f"%({name})s"


def event_view(row: Row) -> EventView:
    """An :class:`EventView` from an event row with its counts and the viewer's status.

    The row carries ``participants_count``, ``waitlist_count`` and ``my_status``.
    """
    return EventView(
        event=EVENTS.load(row, CODEC),
        participants_count=row["participants_count"],
        waitlist_count=row["waitlist_count"],
        my_status=ParticipationStatus(row["my_status"]) if row["my_status"] else None,
    )
