"""Applying Afisha's PostgreSQL migrations from a host application's own tooling.

A team that runs Alembic or Django migrations applies Afisha's schema from there:

- :func:`migrate` applies whatever is missing, with Afisha's own runner (its lock and
  its bookkeeping), from synchronous code such as an Alembic revision's ``upgrade()`` or
  a Django ``RunPython`` operation. Give a ``schema`` to keep Afisha's tables (``users``,
  ``events``, ...) apart from the host's.
- :func:`migrations` gives the SQL itself, shipped inside this package, for tooling
  that wants to run statements on its own connection.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from afisha_core.migrations import Migration, load_migrations
from afisha_postgres.database import PostgresDatabase
from afisha_postgres.migrate import MIGRATIONS_DIR

__all__ = ["migrate", "migrations", "split_schema"]


def migrations() -> list[Migration]:
    """Every PostgreSQL migration of this release, in order (the SQL files as resources)."""
    return load_migrations(MIGRATIONS_DIR)


def split_schema(url: str) -> tuple[str, str | None]:
    """``url`` without its ``schema`` query parameter, and that parameter's value.

    ``postgresql://host/app?schema=afisha`` keeps Afisha's tables in the schema
    ``afisha``; psycopg itself knows no such parameter, so it is taken out here.
    Raises ``ValueError`` when the schema is not letters, digits and underscores.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    if not schemas:
        return url, None
    schema = schemas[-1]
    if not schema or not schema.replace("_", "").isalnum():
        raise ValueError(f"schema={schema!r}: use letters, digits and underscores")
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def migrate(url: str, *, schema: str | None = None) -> list[Migration]:
    """Apply the migrations the database lacks, from synchronous code; return those applied.

    ``url`` may carry ``?schema=name`` instead of the ``schema`` argument. Creates the
    schema if needed. Must not be called from a running event loop (await
    :meth:`PostgresDatabase.migrate` there instead).
    """
    conninfo, from_url = split_schema(url)

    async def run() -> list[Migration]:
        return await PostgresDatabase(conninfo, schema=schema or from_url).migrate()

    return asyncio.run(run())
