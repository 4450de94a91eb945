"""A fresh PostgreSQL schema per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import sql

from afisha_postgres import PostgresDatabase
from tests.support.services import require_postgres


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[tuple[str, str]]:
    """Yield ``(url, schema)`` for a new, empty schema; drop it afterwards."""
    url = require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        yield url, schema
    finally:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


@asynccontextmanager
async def migrated_database(**pool: int) -> AsyncIterator[PostgresDatabase]:
    """An open, migrated :class:`PostgresDatabase` in a fresh schema."""
    async with fresh_schema() as (url, schema):
        db = PostgresDatabase(url, schema=schema, **pool)
        await db.migrate()
        await db.open(wait=True)
        try:
            yield db
        finally:
            await db.close()
