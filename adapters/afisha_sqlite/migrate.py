"""The SQLite migration runner: applies ``migrations/sqlite/NNNN_name.sql`` in order.

The core decides what is pending (:mod:`afisha_core.migrations`); this module runs it:

- each applied version is recorded in ``afisha_schema_migrations(version, name, applied_at)``;
- each file runs in a transaction of its own, so a failing file leaves nothing of
  itself behind (SQLite's DDL is transactional);
- every step starts with ``BEGIN IMMEDIATE``, SQLite's write lock, so runners started
  at once (threads or processes) take turns: the later one waits, then finds nothing
  left to do;
- a database that applied a version this code does not know is refused with
  :class:`~afisha_core.migrations.DatabaseNewerThanCode`.

The functions here are synchronous and take a :class:`sqlite3.Connection` opened with
``isolation_level=None`` (so that the runner, not the driver, decides where
transactions begin and end); :meth:`afisha_sqlite.SqliteDatabase.migrate` calls them
off the event loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from afisha_core.migrations import Migration, load_migrations, pending_migrations

__all__ = ["applied_versions", "apply_migrations", "default_migrations_dir", "split_statements"]

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS afisha_schema_migrations (
    version    INTEGER PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


def default_migrations_dir() -> Path:
    """Where this adapter's SQL files are.

    Inside an installed wheel they sit next to this module (``afisha_sqlite/migrations``,
    force-included by ``adapters/pyproject.toml``); in a source checkout they are the
    repository's ``migrations/sqlite``.
    """
    packaged = Path(__file__).resolve().parent / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "migrations" / "sqlite"


def split_statements(sql: str) -> Iterator[str]:
    """The statements of a migration file, one by one, without their ``;``.

    ``sqlite3.complete_statement`` decides where a statement ends, so semicolons in
    string literals, comments and trigger bodies do not split it. Chunks that hold
    nothing but whitespace and comments are skipped.
    """
    buffer = ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if _has_code(buffer):
                yield buffer.strip()
            buffer = ""
    if _has_code(buffer.removesuffix(";")):
        # The last statement had no terminating semicolon.
        yield buffer.removesuffix(";").strip()


def _has_code(chunk: str) -> bool:
    """Whether ``chunk`` holds more than whitespace, ``;`` and ``--`` comments."""
    for line in chunk.splitlines():
        code = line.split("--", 1)[0].strip().strip(";").strip()
        if code:
            return True
    return False


def _take_over_old_table(conn: sqlite3.Connection) -> None:
    """Rename an older Afisha's ``schema_migrations`` (only if its columns are Afisha's).

    Rails, dbmate and golang-migrate use that name too; their table is left alone.
    """
    tables = {
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name IN ('schema_migrations', 'afisha_schema_migrations')"
        )
    }
    if tables != {"schema_migrations"}:
        return
    info = conn.execute("PRAGMA table_info(schema_migrations)")
    columns = sorted((row[1], str(row[2]).upper()) for row in info)
    if columns == [("applied_at", "TEXT"), ("name", "TEXT"), ("version", "INTEGER")]:
        conn.execute("ALTER TABLE schema_migrations RENAME TO afisha_schema_migrations")


def applied_versions(conn: sqlite3.Connection) -> list[int]:
    """The versions recorded in ``afisha_schema_migrations`` (none when it does not exist)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'afisha_schema_migrations'"
    ).fetchone()
    if exists is None:
        return []
    return [int(row[0]) for row in conn.execute("SELECT version FROM afisha_schema_migrations")]


def apply_migrations(
    conn: sqlite3.Connection, directory: Path | None = None, *, dry_run: bool = False
) -> list[Migration]:
    """Apply every pending migration of ``directory``; return those applied, in order.

    With ``dry_run``, apply nothing and return what would be applied.

    ``directory`` defaults to :func:`default_migrations_dir`. Each file runs in its own
    ``BEGIN IMMEDIATE`` transaction together with its ``afisha_schema_migrations`` row; the
    pending list is read again under the lock before every file, so concurrent runners
    never apply a file twice. Raises
    :class:`~afisha_core.migrations.DatabaseNewerThanCode` when the database has a
    version ``directory`` lacks, and re-raises the :class:`sqlite3.Error` of a failing
    statement (with a note naming the file) after rolling that file back.
    """
    if conn.isolation_level is not None:
        raise ValueError("apply_migrations needs a connection with isolation_level=None")
    available = load_migrations(directory if directory is not None else default_migrations_dir())
    if dry_run:
        return pending_migrations(available, applied_versions(conn))
    applied: list[Migration] = []
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            _take_over_old_table(conn)
            conn.execute(_CREATE_TABLE)
            pending = pending_migrations(available, applied_versions(conn))
            if not pending:
                conn.execute("COMMIT")
                return applied
            migration = pending[0]
            try:
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
            except sqlite3.Error as exc:
                exc.add_note(f"while applying migration {migration.version:04d}_{migration.name}")
                raise
            conn.execute(
                "INSERT INTO afisha_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (
                    migration.version,
                    migration.name,
                    datetime.now(UTC).isoformat(timespec="microseconds"),
                ),
            )
            conn.execute("COMMIT")
            applied.append(migration)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
