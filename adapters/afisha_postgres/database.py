"""The connection pool and the unit of work."""

from __future__ import annotations

import logging
import time
import weakref
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, LiteralString, Self

import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, dict_row, tuple_row

from afisha_core.migrations import Migration
from afisha_postgres.errors import translate_errors
from afisha_postgres.migrate import applied_versions, apply_migrations
from afisha_postgres.repositories import (
    Audit,
    CalendarFeeds,
    Events,
    Notifications,
    Outbox,
    Participations,
    PersonalData,
    Recoveries,
    Registrations,
    Sessions,
    Totp,
    Users,
    Webhooks,
)

__all__ = ["PostgresDatabase", "PostgresUnitOfWork"]

logger = logging.getLogger(__name__)

#: Seconds a pooled connection may sit unused before it is checked on checkout.
CHECK_AFTER_IDLE = 2.0


class PostgresDatabase:
    """A PostgreSQL database reached through a psycopg connection pool.

    It is the :class:`~afisha_core.ports.UnitOfWorkFactory`: calling it gives a new
    :class:`PostgresUnitOfWork`. Open it before use and close it on shutdown::

        db = PostgresDatabase("postgresql://afisha@db/afisha", max_size=10)
        await db.open()
        await db.migrate()
        ...
        await db.close()

    (or ``async with PostgresDatabase(...) as db:``). ``schema``, when given, is put
    first on every connection's ``search_path``, so several deployments or test runs
    can share one database. Broken connections are detected when taken from the pool
    and replaced, so the pool recovers by itself after a PostgreSQL restart.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
        schema: str | None = None,
        connect_timeout: int = 5,
    ) -> None:
        if schema is not None and not schema.replace("_", "").isalnum():
            raise ValueError("schema must be letters, digits and underscores")
        self.schema = schema
        kwargs: dict[str, Any] = {"row_factory": dict_row, "connect_timeout": connect_timeout}
        options = "-c timezone=UTC"
        if schema:
            options += f" -c search_path={schema},public"
        # The URL's own ``options`` (``?options=-csearch_path%3Dafisha``) come last, so
        # the operator's settings win over ours rather than being dropped.
        given = str(conninfo_to_dict(conninfo).get("options") or "").strip()
        kwargs["options"] = f"{options} {given}".strip()
        self._pool: psycopg_pool.AsyncConnectionPool[psycopg.AsyncConnection[DictRow]] = (
            psycopg_pool.AsyncConnectionPool(
                conninfo,
                min_size=min_size,
                max_size=max_size,
                timeout=timeout,
                kwargs=kwargs,
                open=False,
                check=self._check_if_idle,
                name="afisha",
            )
        )
        self._conninfo = conninfo
        self._kwargs = kwargs
        # When each pooled connection was last given back, to skip needless checks.
        self._returned_at: weakref.WeakKeyDictionary[psycopg.AsyncConnection[DictRow], float] = (
            weakref.WeakKeyDictionary()
        )

    async def _check_if_idle(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        """Check a connection taken from the pool, unless it was in use a moment ago.

        A check is a round trip; a connection given back within
        ``CHECK_AFTER_IDLE`` seconds is trusted (if the server died meanwhile the
        statement fails, the connection is discarded, and the caller gets a 503).
        """
        returned = self._returned_at.get(conn)
        if returned is not None and time.monotonic() - returned < CHECK_AFTER_IDLE:
            return
        await psycopg_pool.AsyncConnectionPool.check_connection(conn)

    async def open(self, *, wait: bool = False) -> None:
        """Open the pool (``wait``: until ``min_size`` connections are ready)."""
        await self._pool.open(wait=wait)

    async def close(self) -> None:
        """Close every connection of the pool."""
        await self._pool.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __call__(self, *, read_only: bool = False) -> PostgresUnitOfWork:
        """A new unit of work (one transaction on one pooled connection).

        A ``read_only`` one runs its statements in autocommit mode: no ``BEGIN`` and
        no ``ROLLBACK`` round trips, each statement on its own snapshot, and
        :meth:`PostgresUnitOfWork.commit` refused.
        """
        return PostgresUnitOfWork(self._pool, self._returned_at, read_only=read_only)

    async def migrate(
        self, directory: Path | None = None, *, dry_run: bool = False
    ) -> list[Migration]:
        """Apply the migrations this database lacks (creating ``schema`` if needed).

        Uses a dedicated connection outside the pool. Returns what was applied (with
        ``dry_run``: what would be, applying nothing).
        """
        with translate_errors():
            conn = await psycopg.AsyncConnection.connect(self._conninfo, **self._kwargs)
        async with conn:
            with translate_errors():
                return await apply_migrations(
                    conn, directory, create_schema=self.schema, dry_run=dry_run
                )

    async def applied_migrations(self) -> list[int]:
        """The migration versions this database has applied."""
        with translate_errors():
            conn = await psycopg.AsyncConnection.connect(self._conninfo, **self._kwargs)
        async with conn:
            with translate_errors():
                return await applied_versions(conn)

    async def backlog(self, now: datetime, reminder_lead: timedelta) -> dict[str, float]:
        """What waits for the worker, for monitoring (one read-only query).

        ``outbox_pending`` (mails not yet sent), ``outbox_oldest_pending_seconds`` (age
        of the oldest of them), ``reminder_lag_seconds`` (how long the most overdue
        reminder of an upcoming event has been due; 0 when none is), and the webhook
        failures: ``webhook_deliveries_retrying`` (failed at least once, to be tried
        again), ``webhook_deliveries_failed`` (given up) and ``webhooks_disabled``.
        """
        async with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            with translate_errors():
                await cur.execute(
                    "SELECT (SELECT count(*) FROM outbox WHERE status = 'PENDING'),"
                    " (SELECT min(created_at) FROM outbox WHERE status = 'PENDING'),"
                    " (SELECT min(e.starts_at) FROM participations p JOIN events e"
                    "  ON e.id = p.event_id WHERE p.status = 'PARTICIPATING'"
                    "  AND p.reminder_queued_at IS NULL AND e.rejected_at IS NULL"
                    "  AND e.starts_at > %(now)s AND e.starts_at <= %(due)s),"
                    " (SELECT count(*) FROM webhook_deliveries"
                    "  WHERE status = 'PENDING' AND attempts > 0),"
                    " (SELECT count(*) FROM webhook_deliveries WHERE status = 'FAILED'),"
                    " (SELECT count(*) FROM webhooks WHERE disabled_at IS NOT NULL)",
                    {"now": now, "due": now + reminder_lead},
                )
                row = await cur.fetchone()
        pending, oldest, first, retrying, failed, disabled = (
            row if row else (0, None, None, 0, 0, 0)
        )
        oldest_age = (now - oldest).total_seconds() if oldest else 0.0
        lag = (now - (first - reminder_lead)).total_seconds() if first else 0.0
        return {
            "outbox_pending": float(pending),
            "outbox_oldest_pending_seconds": max(oldest_age, 0.0),
            "reminder_lag_seconds": max(lag, 0.0),
            "webhook_deliveries_retrying": float(retrying),
            "webhook_deliveries_failed": float(failed),
            "webhooks_disabled": float(disabled),
        }

    async def ping(self) -> None:
        """Raise :class:`DatabaseUnavailable` unless a ``SELECT 1`` succeeds."""
        async with self(read_only=True) as uow:
            await uow.execute_scalar("SELECT 1")


class PostgresUnitOfWork:
    """One transaction: a pooled connection held from ``__aenter__`` to ``__aexit__``."""

    users: Users
    sessions: Sessions
    registrations: Registrations
    recoveries: Recoveries
    events: Events
    participations: Participations
    notifications: Notifications
    outbox: Outbox
    totp: Totp
    audit: Audit
    calendar_feeds: CalendarFeeds
    webhooks: Webhooks
    personal_data: PersonalData

    def __init__(
        self,
        pool: psycopg_pool.AsyncConnectionPool[psycopg.AsyncConnection[DictRow]],
        returned_at: weakref.WeakKeyDictionary[psycopg.AsyncConnection[DictRow], float]
        | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        self._pool = pool
        self._returned_at = returned_at
        self._read_only = read_only
        self._conn: psycopg.AsyncConnection[DictRow] | None = None

    async def __aenter__(self) -> Self:
        if self._conn is not None:
            raise RuntimeError("this unit of work is already in use")
        with translate_errors():
            conn = await self._pool.getconn()
        self._conn = conn
        if self._read_only:
            # Local to psycopg (nothing is sent); undone before the connection goes back.
            await conn.set_autocommit(True)
        # Otherwise psycopg opens the transaction on the first statement.
        self.users = Users(conn)
        self.sessions = Sessions(conn)
        self.registrations = Registrations(conn)
        self.recoveries = Recoveries(conn)
        self.events = Events(conn)
        self.participations = Participations(conn)
        self.notifications = Notifications(conn)
        self.outbox = Outbox(conn)
        self.totp = Totp(conn)
        self.audit = Audit(conn)
        self.calendar_feeds = CalendarFeeds(conn)
        self.webhooks = Webhooks(conn)
        self.personal_data = PersonalData(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            # After a commit nothing is open: skip the round trip of a rollback.
            idle = conn.info.transaction_status == TransactionStatus.IDLE
            if not conn.closed and not conn.broken and not idle:
                await conn.rollback()
            if self._read_only and not conn.closed and not conn.broken:
                await conn.set_autocommit(False)
        except psycopg.Error:
            logger.warning("rollback failed; the connection will be discarded", exc_info=True)
        finally:
            if self._returned_at is not None and not conn.broken:
                self._returned_at[conn] = time.monotonic()
            await self._pool.putconn(conn)

    async def commit(self) -> None:
        """Commit the transaction (a new one starts with the next statement).

        Raises :class:`RuntimeError` in a read-only unit of work.
        """
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        with translate_errors():
            await self._connection().commit()

    async def rollback(self) -> None:
        """Roll the transaction back."""
        with translate_errors():
            await self._connection().rollback()

    async def execute_scalar(self, query: LiteralString) -> Any:
        """Run ``query`` and return the first column of its first row (for health checks)."""
        with translate_errors():
            cursor = await self._connection().execute(query)
            row = await cursor.fetchone()
        return next(iter(row.values())) if row else None

    def _connection(self) -> psycopg.AsyncConnection[DictRow]:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside 'async with'")
        return self._conn
