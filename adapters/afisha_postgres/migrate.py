"""Applying the SQL migrations to PostgreSQL, one process at a time."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from afisha_core.migrations import Migration, load_migrations, pending_migrations

__all__ = ["MIGRATIONS_DIR", "apply_migrations"]

logger = logging.getLogger(__name__)


def _migrations_dir() -> Path:
    packaged = Path(__file__).parent / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "migrations" / "postgres"


#: Where the numbered ``NNNN_name.sql`` files are (inside the wheel, or the repository).
MIGRATIONS_DIR = _migrations_dir()

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def apply_migrations(
    conn: psycopg.AsyncConnection[Any],
    directory: Path | None = None,
    *,
    create_schema: str | None = None,
) -> list[Migration]:
    """Apply every migration the database lacks; return those applied.

    Holds a session-level advisory lock (keyed by the schema name) for the whole
    run, so two processes starting at once take turns and the second finds nothing
    to do. With ``create_schema``, that schema is created first (under the same lock)
    if missing. Each migration runs in its own transaction together with its record in
    ``schema_migrations``. Raises
    :class:`~afisha_core.migrations.DatabaseNewerThanCode` when the database has a
    migration this code does not know.
    """
    available = load_migrations(directory or MIGRATIONS_DIR)
    await conn.set_autocommit(True)
    lock_key = "afisha-migrations:" + (create_schema or "")
    await conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock_key,))
    try:
        if create_schema:
            await conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(create_schema))
            )
        await conn.execute(_CREATE_TABLE)
        async with conn.cursor(row_factory=tuple_row) as cursor:
            await cursor.execute("SELECT version FROM schema_migrations")
            applied = [int(row[0]) for row in await cursor.fetchall()]
        todo = pending_migrations(available, applied)
        for migration in todo:
            async with conn.transaction():
                await conn.execute(migration.sql.encode())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
            logger.info("applied migration %04d_%s", migration.version, migration.name)
        return todo
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock_key,))
