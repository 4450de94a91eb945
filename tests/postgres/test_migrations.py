"""The PostgreSQL migration runner."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from afisha_core.migrations import DatabaseNewerThanCode, load_migrations
from afisha_postgres import MIGRATIONS_DIR, PostgresDatabase
from tests.support.pg import fresh_schema

EXPECTED_TABLES = {
    "users",
    "login_sessions",
    "registrations",
    "login_recoveries",
    "events",
    "participations",
    "notifications",
    "outbox",
    "afisha_schema_migrations",
}


async def _tables(url: str, schema: str) -> set[str]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
        return {row[0] for row in await cur.fetchall()}


async def _applied(url: str, schema: str) -> list[int]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            sql.SQL("SELECT version FROM {}.afisha_schema_migrations ORDER BY version").format(
                sql.Identifier(schema)
            )
        )
        return [row[0] for row in await cur.fetchall()]


async def test_applies_on_an_empty_database_and_rerunning_is_a_no_op() -> None:
    async with fresh_schema() as (url, schema):
        db = PostgresDatabase(url, schema=schema)
        applied = await db.migrate()
        assert [m.version for m in applied] == [m.version for m in load_migrations(MIGRATIONS_DIR)]
        assert await _tables(url, schema) >= EXPECTED_TABLES
        assert await db.migrate() == []
        assert await _applied(url, schema) == [m.version for m in applied]


async def test_two_runners_at_once_do_not_collide() -> None:
    async with fresh_schema() as (url, schema):
        first, second = await asyncio.gather(
            PostgresDatabase(url, schema=schema).migrate(),
            PostgresDatabase(url, schema=schema).migrate(),
        )
        assert sorted([len(first), len(second)]) == [0, len(load_migrations(MIGRATIONS_DIR))]
        assert await _applied(url, schema) == [m.version for m in load_migrations(MIGRATIONS_DIR)]


async def test_refuses_a_database_newer_than_the_code() -> None:
    async with fresh_schema() as (url, schema):
        db = PostgresDatabase(url, schema=schema)
        await db.migrate()
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {}.afisha_schema_migrations (version, name) VALUES (99, 'x')"
                ).format(sql.Identifier(schema))
            )
        with pytest.raises(DatabaseNewerThanCode, match="99"):
            await db.migrate()


async def test_a_failing_migration_leaves_nothing_of_itself(tmp_path: Path) -> None:
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE good (id int);", encoding="utf-8")
    (tmp_path / "0002_bad.sql").write_text(
        "CREATE TABLE half (id int); SELECT no_such_function();", encoding="utf-8"
    )
    async with fresh_schema() as (url, schema):
        db = PostgresDatabase(url, schema=schema)
        with pytest.raises(psycopg.errors.UndefinedFunction):
            await db.migrate(tmp_path)
        assert await _applied(url, schema) == [1]
        tables = await _tables(url, schema)
        assert "good" in tables
        assert "half" not in tables
