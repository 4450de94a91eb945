"""Afisha's embedded store: every repository and the unit of work in one SQLite file.

Only the standard library's :mod:`sqlite3` is used, on a worker thread of its own, so
the event loop never waits for the disk::

    from afisha_sqlite import SqliteDatabase

    async with SqliteDatabase("afisha-data/afisha.db") as db:
        await db.migrate()
        afisha = Afisha(uow=db, ...)

:class:`SqliteDatabase` is the :class:`~afisha_core.ports.UnitOfWorkFactory`; the schema
lives in ``migrations/sqlite`` and is applied by :meth:`SqliteDatabase.migrate` (or
:func:`apply_migrations` on a connection of your own). A file that cannot be used
raises :class:`DatabaseUnavailable` (a :class:`~afisha_core.errors.ServiceUnavailable`),
which the HTTP layer answers with 503.
"""

from afisha_sqlite.database import SqliteDatabase, SqliteUnitOfWork
from afisha_sqlite.errors import DatabaseUnavailable
from afisha_sqlite.migrate import apply_migrations, default_migrations_dir

__all__ = [
    "DatabaseUnavailable",
    "SqliteDatabase",
    "SqliteUnitOfWork",
    "apply_migrations",
    "default_migrations_dir",
]
