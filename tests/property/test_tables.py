"""The shared table mapping: every entity survives both dialects' value codecs, and the
columns it names are exactly the columns the migrations create."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afisha_core.tables import (
    AUDIT_LOG,
    CALENDAR_FEEDS,
    EVENTS,
    NOTIFICATIONS,
    OUTBOX,
    PARTICIPATIONS,
    RECOVERIES,
    REGISTRATIONS,
    SESSIONS,
    TABLES,
    TOTP_CREDENTIALS,
    TOTP_RECOVERY_CODES,
    USERS,
    WEBHOOK_DELIVERIES,
    WEBHOOKS,
    Table,
    ValueCodec,
)
from afisha_core.testing import strategies as s
from afisha_postgres import values as postgres_values
from afisha_sqlite import apply_migrations
from afisha_sqlite import values as sqlite_values
from tests.support.pg import migrated_database
from tests.support.services import require_postgres

STRATEGIES: list[tuple[Table[Any], st.SearchStrategy[Any]]] = [
    (USERS, s.users()),
    (SESSIONS, s.login_sessions()),
    (REGISTRATIONS, s.registrations()),
    (RECOVERIES, s.recoveries()),
    (EVENTS, s.events()),
    (PARTICIPATIONS, s.participations()),
    (NOTIFICATIONS, s.notifications()),
    (OUTBOX, s.outbox_messages()),
    (TOTP_CREDENTIALS, s.totp_credentials()),
    (TOTP_RECOVERY_CODES, s.totp_recovery_codes()),
    (AUDIT_LOG, s.audit_entries()),
    (CALENDAR_FEEDS, s.calendar_feeds()),
    (WEBHOOKS, s.webhooks()),
    (WEBHOOK_DELIVERIES, s.webhook_deliveries()),
]
CODECS: dict[str, ValueCodec] = {
    "sqlite": sqlite_values.CODEC,
    "postgres": postgres_values.CODEC,
}
# Columns a store keeps for itself (the order of waitlist ties), not fields of an entity.
STORE_COLUMNS = {"participations": {"write_seq"}}


def test_every_table_has_a_strategy() -> None:
    assert {table.name for table, _ in STRATEGIES} == {table.name for table in TABLES}


@pytest.mark.parametrize("codec", sorted(CODECS))
@pytest.mark.parametrize(("table", "entities"), STRATEGIES, ids=lambda x: getattr(x, "name", ""))
@settings(max_examples=60)
@given(data=st.data())
def test_an_entity_survives_the_codec(
    codec: str, table: Table[Any], entities: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    entity = data.draw(entities)
    row = table.dump(entity, CODECS[codec])

    assert set(row) == set(table.names)
    assert table.load(row, CODECS[codec]) == entity
    prefixed = {f"x_{name}": value for name, value in row.items()}
    assert table.load(prefixed, CODECS[codec], "x_") == entity


@settings(max_examples=30)
@given(entity=s.events())
def test_sqlite_parameters_are_text_and_integers(entity: Any) -> None:
    row = EVENTS.dump(entity, sqlite_values.CODEC)
    assert all(isinstance(v, (str, int)) or v is None for v in row.values())


def test_the_sqlite_tables_have_exactly_the_mapped_columns(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "afisha.db", isolation_level=None)
    try:
        apply_migrations(conn)
        for table in TABLES:
            stored = {row[1] for row in conn.execute(f"PRAGMA table_info({table.name})")}
            assert stored - STORE_COLUMNS.get(table.name, set()) == set(table.names), table
    finally:
        conn.close()


async def test_the_postgres_tables_have_exactly_the_mapped_columns() -> None:
    async with (
        migrated_database() as db,
        await psycopg.AsyncConnection.connect(require_postgres()) as conn,
    ):
        for table in TABLES:
            cursor = await conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s",
                (db.schema, table.name),
            )
            stored = {row[0] for row in await cursor.fetchall()}
            assert stored - STORE_COLUMNS.get(table.name, set()) == set(table.names), table
