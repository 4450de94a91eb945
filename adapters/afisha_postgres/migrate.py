"""Applying the SQL migrations to PostgreSQL, one process at a time."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from afisha_core.migrations import Migration, load_migrations, pending_migrations

__all__ = ["MIGRATIONS_DIR", "MIGRATIONS_TABLE", "applied_versions", "apply_migrations"]

logger = logging.getLogger(__name__)


def _migrations_dir() -> Path:
    packaged = Path(__file__).parent / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "migrations" / "postgres"


#: Where the numbered ``NNNN_name.sql`` files are (inside the wheel, or the repository).
MIGRATIONS_DIR = _migrations_dir()

#: Where applied versions are recorded. Not ``schema_migrations``: Rails, dbmate and
#: golang-migrate use that name, and a database shared with one of them must not clash.
MIGRATIONS_TABLE = "afisha_schema_migrations"

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS afisha_schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""

# The table older Afisha versions wrote, in the schema migrations go to: taken over
# (renamed) once, but only when it has exactly Afisha's columns; anybody else's
# ``schema_migrations`` (dbmate's has a text ``version`` alone) is left alone.
_OLD_TABLE_IS_OURS = """
SELECT array_agg(a.attname::text || ':' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attname)
FROM pg_attribute a
WHERE a.attrelid = to_regclass(quote_ident(current_schema()) || '.schema_migrations')
  AND a.attnum > 0 AND NOT a.attisdropped
"""
_OURS_EXISTS = (
    "SELECT to_regclass(quote_ident(current_schema()) || '.afisha_schema_migrations') IS NOT NULL"
)
_OURS = ["applied_at:timestamp with time zone", "name:text", "version:integer"]


async def _create_schema_of_search_path(conn: psycopg.AsyncConnection[Any]) -> None:
    """Create the first schema of ``search_path`` when it does not exist yet.

    A database URL with ``?options=-csearch_path%3Dafisha`` means "put Afisha in the
    schema ``afisha``": without this, the tables would land in the next one (``public``).
    """
    async with conn.cursor(row_factory=tuple_row) as cursor:
        await cursor.execute("SELECT current_setting('search_path'), current_schema()")
        row = await cursor.fetchone()
    if row is None:  # pragma: no cover - a SELECT without FROM returns one row
        return
    first = str(row[0]).split(",")[0].strip().strip('"')
    if first and first != "$user" and first != row[1]:
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(first)))


async def _take_over_old_table(conn: psycopg.AsyncConnection[Any]) -> None:
    async with conn.cursor(row_factory=tuple_row) as cursor:
        await cursor.execute(_OURS_EXISTS)
        row = await cursor.fetchone()
        if row is not None and row[0]:
            return
        await cursor.execute(_OLD_TABLE_IS_OURS)
        row = await cursor.fetchone()
    if row is not None and row[0] == _OURS:
        await conn.execute("ALTER TABLE schema_migrations RENAME TO afisha_schema_migrations")
        logger.info("took over the migration table schema_migrations as afisha_schema_migrations")


async def applied_versions(conn: psycopg.AsyncConnection[Any]) -> list[int]:
    """The versions recorded in ``afisha_schema_migrations`` (none when it does not exist)."""
    async with conn.cursor(row_factory=tuple_row) as cursor:
        await cursor.execute(_OURS_EXISTS)
        row = await cursor.fetchone()
        if row is None or not row[0]:
            return []
        await cursor.execute("SELECT version FROM afisha_schema_migrations")
        return [int(r[0]) for r in await cursor.fetchall()]


async def apply_migrations(
    conn: psycopg.AsyncConnection[Any],
    directory: Path | None = None,
    *,
    create_schema: str | None = None,
    dry_run: bool = False,
) -> list[Migration]:
    """Apply every migration the database lacks; return those applied.

    With ``dry_run``, apply nothing and return what would be applied.

    Holds a session-level advisory lock (keyed by the schema name) for the whole
    run, so two processes starting at once take turns and the second finds nothing
    to do. With ``create_schema``, that schema is created first (under the same lock)
    if missing. Each migration runs in its own transaction together with its record in
    ``afisha_schema_migrations`` (a ``schema_migrations`` table written by an older
    Afisha is renamed to it once). Raises
    :class:`~afisha_core.migrations.DatabaseNewerThanCode` when the database has a
    migration this code does not know.
    """
    available = load_migrations(directory or MIGRATIONS_DIR)
    await conn.set_autocommit(True)
    lock_key = "afisha-migrations:" + (create_schema or "")
    await conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock_key,))
    try:
        if dry_run:
            return pending_migrations(available, await applied_versions(conn))
        if create_schema:
            await conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(create_schema))
            )
        await _create_schema_of_search_path(conn)
        await _take_over_old_table(conn)
        await conn.execute(_CREATE_TABLE)
        todo = pending_migrations(available, await applied_versions(conn))
        for migration in todo:
            async with conn.transaction():
                await conn.execute(migration.sql.encode())
                await conn.execute(
                    "INSERT INTO afisha_schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
            logger.info("applied migration %04d_%s", migration.version, migration.name)
        return todo
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock_key,))
