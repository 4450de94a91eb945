"""Values to PostgreSQL and back: the dialect's part of the shared table mapping.

psycopg adapts uuids, timestamptz, booleans and integers itself; enums are stored
by their value and JSON objects as their text. Which column holds which field is
:mod:`afisha_core.tables`' business, shared with the SQLite store.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

from afisha_core.domain import EventView, ParticipationStatus
from afisha_core.tables import EVENTS, Convert, Kind, dump_json, load_json

__all__ = ["CODEC", "PostgresCodec", "event_view", "named"]

T = TypeVar("T")
Row = dict[str, Any]


def _enum_value(value: Enum) -> Any:
    return value.value


class PostgresCodec:
    """How PostgreSQL (through psycopg) stores each kind of value."""

    def dumper(self, kind: Kind) -> Convert | None:
        """Python value -> query parameter (enums by value, JSON objects as text)."""
        return {Kind.ENUM: _enum_value, Kind.JSON: dump_json}.get(kind)

    def loader(self, kind: Kind, enum_class: type[Enum] | None) -> Convert | None:
        """Stored value -> Python value (enums by value, JSON objects from text)."""
        if kind is Kind.JSON:
            return load_json
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
