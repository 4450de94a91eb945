"""Afisha on PostgreSQL: repositories and a unit of work over psycopg 3 and psycopg-pool.

Usage::

    from afisha_postgres import PostgresDatabase

    db = PostgresDatabase("postgresql://afisha:pw@db:5432/afisha")
    await db.open()
    await db.migrate()
    afisha = Afisha(uow=db, ...)

Capacity checks lock the event row (``SELECT ... FOR UPDATE``); reminder and outbox
claims use ``FOR UPDATE SKIP LOCKED`` so concurrent workers never claim a row twice.
``?schema=name`` in the URL (see :func:`split_schema`) keeps Afisha's tables in a schema
of their own; :func:`migrate` and :func:`migrations` apply them from a host
application's migration tooling (Alembic, Django). A lost connection raises
:class:`DatabaseUnavailable` (a
:class:`~afisha_core.errors.ServiceUnavailable`), which the HTTP layer answers with 503.
"""

from afisha_postgres.database import PostgresDatabase, PostgresUnitOfWork
from afisha_postgres.errors import DatabaseUnavailable
from afisha_postgres.host import migrate, migrations, split_schema
from afisha_postgres.migrate import MIGRATIONS_DIR, apply_migrations

__all__ = [
    "MIGRATIONS_DIR",
    "DatabaseUnavailable",
    "PostgresDatabase",
    "PostgresUnitOfWork",
    "apply_migrations",
    "migrate",
    "migrations",
    "split_schema",
]
