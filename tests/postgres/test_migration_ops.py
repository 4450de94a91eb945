"""Migrations as an operator meets them: shared databases, URL options, honest output.

- The record table is ``afisha_schema_migrations``: a ``schema_migrations`` table of
  dbmate (or Rails, golang-migrate) beside it is left alone, and an older Afisha's
  ``schema_migrations`` is taken over once.
- ``?options=-csearch_path=...`` in the database URL is kept: the tables land there.
- ``afisha migrate`` prints a line per applied file, "up to date" when there is
  nothing to do; ``--dry-run`` and ``--list`` change nothing.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from afisha_core.migrations import load_migrations
from afisha_postgres import MIGRATIONS_DIR, PostgresDatabase
from tests.support.pg import fresh_schema
from tests.support.process import clean_env, run_afisha


def tables(url: str, schema: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return {str(r[0]) for r in rows}


async def test_a_dbmate_table_beside_afisha_is_left_alone() -> None:
    async with fresh_schema() as (url, schema):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {}.schema_migrations (version varchar(128) PRIMARY KEY)"
                ).format(sql.Identifier(schema))
            )
            conn.execute(
                sql.SQL("INSERT INTO {}.schema_migrations VALUES ('20240101000000')").format(
                    sql.Identifier(schema)
                )
            )
        db = PostgresDatabase(url, schema=schema)

        applied = await db.migrate()

        assert [m.version for m in applied] == [m.version for m in load_migrations(MIGRATIONS_DIR)]
        with psycopg.connect(url) as conn:
            dbmate = conn.execute(
                sql.SQL("SELECT version FROM {}.schema_migrations").format(sql.Identifier(schema))
            ).fetchall()
        assert dbmate == [("20240101000000",)]
        assert {"afisha_schema_migrations", "schema_migrations", "events"} <= tables(url, schema)


async def test_the_table_of_an_older_afisha_is_taken_over_once() -> None:
    async with fresh_schema() as (url, schema):
        db = PostgresDatabase(url, schema=schema)
        await db.migrate()
        with psycopg.connect(url, autocommit=True) as conn:  # as an older Afisha left it
            conn.execute(
                sql.SQL(
                    "ALTER TABLE {}.afisha_schema_migrations RENAME TO schema_migrations"
                ).format(sql.Identifier(schema))
            )

        again = await db.migrate()

        assert again == []
        found = tables(url, schema)
        assert "afisha_schema_migrations" in found
        assert "schema_migrations" not in found


async def test_the_search_path_of_the_url_options_is_kept() -> None:
    async with fresh_schema() as (url, schema):
        options = quote(f"-csearch_path={schema}")
        separator = "&" if "?" in url else "?"
        db = PostgresDatabase(f"{url}{separator}options={options}")

        await db.migrate()
        await db.open(wait=True)
        try:
            async with db() as uow:
                where = await uow.execute_scalar("SELECT current_schema()")
        finally:
            await db.close()

        assert where == schema
        assert {"events", "afisha_schema_migrations"} <= tables(url, schema)


def test_migrate_says_what_it_did_and_dry_run_and_list_change_nothing(tmp_path: Path) -> None:
    env = clean_env(AFISHA_DATABASE_URL=f"sqlite:///{tmp_path}/afisha.db")

    dry = run_afisha(tmp_path, env, "migrate", "--dry-run")
    listed_before = run_afisha(tmp_path, env, "migrate", "--list")
    first = run_afisha(tmp_path, env, "migrate")
    second = run_afisha(tmp_path, env, "migrate")
    listed_after = run_afisha(tmp_path, env, "migrate", "--list")

    for result in (dry, listed_before, first, second, listed_after):
        assert result.returncode == 0, result.stderr
    assert "would apply 0001_initial" in dry.stdout
    assert "0001_initial  pending" in listed_before.stdout
    assert "applied 0001_initial" in first.stdout
    assert "applied 0002_event_span_index" in first.stdout
    assert "up to date" in second.stdout
    assert "applied" not in second.stdout
    assert "0001_initial  applied" in listed_after.stdout
