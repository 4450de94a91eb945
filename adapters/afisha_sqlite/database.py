"""The SQLite database: one file, one connection, one worker thread, units of work.

:class:`SqliteDatabase` owns a single :mod:`sqlite3` connection that lives on a
dedicated worker thread, so no SQLite call ever runs on the event loop. Calling the
database opens a :class:`SqliteUnitOfWork` (it is the
:class:`~afisha_core.ports.UnitOfWorkFactory`):

- Units of work of one process take turns (an :class:`asyncio.Lock`): they queue in
  the event loop instead of meeting ``SQLITE_BUSY``.
- Each transaction starts with ``BEGIN IMMEDIATE``, SQLite's write lock, so whatever a
  unit of work reads stays as it is until it ends: the capacity check and the insert of
  a join are one atomic step, and ``get_for_update`` needs nothing more.
- Read-only units of work (``db(read_only=True)``) skip both: they run on a second,
  ``query_only`` connection with a worker thread of its own, statement by statement
  (each one sees the last commit, thanks to the write-ahead log), so a listing never
  waits for a write to finish. An in-memory database (``":memory:"``) has no second
  connection to the same data; there, read-only units of work take turns like the rest.
- The file is in WAL mode with foreign keys on and a busy timeout, so several
  processes on one file take turns too (a writer waits for another up to the timeout).
- ``sqlite3`` errors that mean the file cannot be used (locked for too long, cannot be
  opened, I/O errors, disk full) become
  :class:`~afisha_sqlite.errors.DatabaseUnavailable` (``service="database"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from afisha_core._turns import TurnTaking
from afisha_core.migrations import Migration
from afisha_core.ports import (
    AuditRepository,
    CalendarFeedRepository,
    EventRepository,
    NotificationRepository,
    OutboxRepository,
    ParticipationRepository,
    PersonalDataRepository,
    RecoveryRepository,
    RegistrationRepository,
    SessionRepository,
    TotpRepository,
    UserRepository,
    WebhookRepository,
)
from afisha_sqlite import repositories as repos
from afisha_sqlite.errors import DatabaseUnavailable, translate_error
from afisha_sqlite.migrate import applied_versions, apply_migrations
from afisha_sqlite.values import casefold

__all__ = ["SqliteDatabase", "SqliteUnitOfWork"]

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], T]

_MIGRATION_BUSY_TIMEOUT = timedelta(minutes=2)


class SqliteDatabase:
    """An Afisha database in one SQLite file; call it to open a unit of work.

    ``path`` is the database file (its parent directories are created on
    :meth:`open`). ``busy_timeout`` is how long a write waits for another process
    holding the file's write lock before :class:`~afisha_sqlite.errors.DatabaseUnavailable`.
    ``migrations_dir`` overrides where :meth:`migrate` finds its SQL files.

    >>> async with SqliteDatabase("afisha-data/afisha.db") as db:   # doctest: +SKIP
    ...     await db.migrate()
    ...     async with db() as uow:
    ...         ...
    ...         await uow.commit()
    """

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        busy_timeout: timedelta = timedelta(seconds=5),
        migrations_dir: Path | None = None,
    ) -> None:
        self._path = Path(path)
        self._busy_timeout = busy_timeout
        self._migrations_dir = migrations_dir
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        # The reading side: None for ":memory:" (see the module docstring).
        self._read_executor: ThreadPoolExecutor | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._turns = TurnTaking("SqliteDatabase")

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` was called and :meth:`close` was not since."""
        return self._conn is not None

    # --- lifecycle ------------------------------------------------------------------

    async def open(self) -> None:
        """Start the worker thread and open the file (creating it and its directory).

        Opening an open database does nothing. Raises
        :class:`~afisha_sqlite.errors.DatabaseUnavailable` when the file cannot be opened.
        """
        if self._conn is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="afisha-sqlite")
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(executor, self._connect)
        except (sqlite3.Error, OSError) as exc:
            executor.shutdown(wait=False)
            raise DatabaseUnavailable(
                f"The database file {self._path} cannot be opened ({exc})."
            ) from exc
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._executor, self._conn = executor, conn
        if str(self._path) == ":memory:":
            return
        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="afisha-sqlite-read")
        try:
            read_conn = await loop.run_in_executor(reader, self._connect, True)
        except BaseException as exc:
            reader.shutdown(wait=False)
            await self.close()
            if isinstance(exc, sqlite3.Error | OSError):
                raise DatabaseUnavailable(
                    f"The database file {self._path} cannot be opened ({exc})."
                ) from exc
            raise
        self._read_executor, self._read_conn = reader, read_conn

    async def close(self) -> None:
        """Close the connection and stop the worker thread; closing twice does nothing.

        Whatever a unit of work left uncommitted is rolled back.
        """
        loop = asyncio.get_running_loop()
        reader, read_conn = self._read_executor, self._read_conn
        self._read_executor, self._read_conn = None, None
        if reader is not None and read_conn is not None:
            try:
                await loop.run_in_executor(reader, read_conn.close)
            finally:
                reader.shutdown(wait=False)
        executor, conn = self._executor, self._conn
        if executor is None or conn is None:
            return
        self._executor, self._conn = None, None
        try:
            await loop.run_in_executor(executor, _close_connection, conn)
        finally:
            executor.shutdown(wait=False)

    async def __aenter__(self) -> Self:
        """Open the database (see :meth:`open`)."""
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the database (see :meth:`close`)."""
        await self.close()

    async def migrate(self, *, dry_run: bool = False) -> list[Migration]:
        """Apply the pending migrations; return those applied (none when up to date).

        Safe when several processes start at once: they take turns on the file's
        write lock and each file is applied once. Raises
        :class:`~afisha_core.migrations.DatabaseNewerThanCode` for a database that has
        migrations this code does not know. With ``dry_run``, nothing is applied and
        the list is what would be. See :mod:`afisha_sqlite.migrate`.
        """
        wait_ms = int(max(self._busy_timeout, _MIGRATION_BUSY_TIMEOUT).total_seconds() * 1000)
        normal_ms = self._busy_timeout_ms()
        directory = self._migrations_dir

        def job(conn: sqlite3.Connection) -> list[Migration]:
            conn.execute(f"PRAGMA busy_timeout = {wait_ms:d}")
            try:
                return apply_migrations(conn, directory, dry_run=dry_run)
            finally:
                conn.execute(f"PRAGMA busy_timeout = {normal_ms:d}")

        await self._turns.acquire()
        try:
            return await self._call(job)
        finally:
            self._turns.release()

    async def applied_migrations(self) -> list[int]:
        """The migration versions this database has applied."""
        await self._turns.acquire()
        try:
            return await self._call(applied_versions)
        finally:
            self._turns.release()

    async def backup(self, target: str | PathLike[str]) -> Path:
        """Write a consistent copy of the database to ``target`` while it is in use.

        Uses SQLite's online backup API, so writers are not stopped and the copy is one
        self-contained file (no write-ahead log). The copy appears atomically (written
        next to ``target``, then renamed). Returns the path written.
        """
        path = Path(target)

        def job(conn: sqlite3.Connection) -> None:
            _backup_to(conn, path)

        await self._turns.acquire()
        try:
            await self._call(job)
        finally:
            self._turns.release()
        return path

    async def backlog(self, now: datetime, reminder_lead: timedelta) -> dict[str, float]:
        """What waits for the worker, for monitoring (read-only, one short read).

        ``outbox_pending`` (mails not yet sent), ``outbox_oldest_pending_seconds`` (age
        of the oldest of them), ``reminder_lag_seconds`` (how long the most overdue
        reminder of an upcoming event has been due; 0 when none is), and the webhook
        failures: ``webhook_deliveries_retrying`` (failed at least once, to be tried
        again), ``webhook_deliveries_failed`` (given up) and ``webhooks_disabled``.
        """
        stamp = _ts(now)
        due = _ts(now + reminder_lead)

        webhooks: dict[str, float] = {}

        def job(conn: sqlite3.Connection) -> tuple[int, str | None, str | None]:
            pending, oldest = conn.execute(
                "SELECT count(*), min(created_at) FROM outbox WHERE status = 'PENDING'"
            ).fetchone()
            webhooks.update(_webhook_failures(conn))
            (first,) = conn.execute(
                "SELECT min(e.starts_at) FROM participations p JOIN events e"
                " ON e.id = p.event_id WHERE p.status = 'PARTICIPATING'"
                " AND p.reminder_queued_at IS NULL AND e.rejected_at IS NULL"
                " AND e.starts_at > ? AND e.starts_at <= ?",
                (stamp, due),
            ).fetchone()
            return int(pending), oldest, first

        await self._turns.acquire()
        try:
            pending, oldest, first = await self._call(job)
        finally:
            self._turns.release()
        return {**_backlog(now, reminder_lead, pending, oldest, first), **webhooks}

    # --- units of work --------------------------------------------------------------

    def unit_of_work(self, *, read_only: bool = False) -> SqliteUnitOfWork:
        """A new, not yet entered, unit of work over this database.

        A ``read_only`` one reads on the reading connection without waiting for the
        write lock or for other units of work, and cannot write or commit.
        """
        return SqliteUnitOfWork(self, read_only=read_only)

    def __call__(self, *, read_only: bool = False) -> SqliteUnitOfWork:
        """A new, not yet entered, unit of work over this database."""
        return self.unit_of_work(read_only=read_only)

    # --- internals ------------------------------------------------------------------

    def _busy_timeout_ms(self) -> int:
        return int(self._busy_timeout.total_seconds() * 1000)

    def _connect(self, query_only: bool = False) -> sqlite3.Connection:
        """Open and configure a connection (on its worker thread).

        ``query_only``: the reading connection, which SQLite itself keeps from writing.
        """
        if str(self._path) != ":memory:":
            self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout.total_seconds(),
            isolation_level=None,  # we issue BEGIN / COMMIT / ROLLBACK ourselves
            check_same_thread=False,  # only ever used by the one worker thread
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms():d}")
            conn.execute("PRAGMA foreign_keys = ON")
            if query_only:
                conn.execute("PRAGMA query_only = ON")
            else:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
            conn.create_function("casefold", 1, casefold, deterministic=True)
        except BaseException:
            conn.close()
            raise
        return conn

    def _submit(self, job: Job[object]) -> None:
        """Queue ``job`` on the worker thread without waiting for it (cleanup paths)."""
        executor, conn = self._executor, self._conn
        if executor is not None and conn is not None:
            executor.submit(job, conn)

    @property
    def _has_reader(self) -> bool:
        return self._read_conn is not None

    async def _call(self, job: Job[T], *, read: bool = False) -> T:
        """Run ``job`` on a worker thread with its connection; translate its errors.

        ``read``: on the reading connection (the writing one when there is none).
        """
        executor, conn = self._executor, self._conn
        if read and self._read_executor is not None and self._read_conn is not None:
            executor, conn = self._read_executor, self._read_conn
        if executor is None or conn is None:
            raise DatabaseUnavailable("The SQLite database is not open.")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, job, conn)
        except sqlite3.Error as exc:
            raise translate_error(exc) from exc


def _close_connection(conn: sqlite3.Connection) -> None:
    """Roll back whatever is left, checkpoint, and close (on the worker thread).

    The checkpoint moves everything in the write-ahead log into the database file and
    empties the log, so after a clean stop the ``.db`` file alone holds all the data
    (a backup that copies only it loses nothing). Another process still writing keeps
    its part of the log; that is fine, and only then can the checkpoint be partial.
    """
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        with contextlib.suppress(sqlite3.Error):
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        conn.close()


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _backlog(
    now: datetime, lead: timedelta, pending: int, oldest: str | None, first: str | None
) -> dict[str, float]:
    oldest_age = (now - datetime.fromisoformat(oldest)).total_seconds() if oldest else 0.0
    lag = (now - (datetime.fromisoformat(first) - lead)).total_seconds() if first else 0.0
    return {
        "outbox_pending": float(pending),
        "outbox_oldest_pending_seconds": max(oldest_age, 0.0),
        "reminder_lag_seconds": max(lag, 0.0),
    }


def _backup_to(conn: sqlite3.Connection, target: Path) -> None:
    """Copy the database into ``target`` with SQLite's online backup (on the worker thread)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(partial)) as copy:
        conn.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE").fetchall()
    partial.replace(target)


def _begin(conn: sqlite3.Connection) -> None:
    """Start a write transaction, dropping one a cancelled unit of work left behind."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.execute("BEGIN IMMEDIATE")


def _commit(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("COMMIT")


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _rollback_quietly(conn: sqlite3.Connection) -> None:
    # On failure the next _begin rolls back again before it starts.
    with contextlib.suppress(sqlite3.Error):
        _rollback(conn)


class SqliteUnitOfWork:
    """One SQLite transaction over every repository.

    Use it as ``async with``: entering waits for this process's other units of work to
    end and begins a write transaction (``BEGIN IMMEDIATE``); :meth:`commit` makes the
    changes durable, and the next change begins a new transaction; leaving the block
    rolls back whatever was not committed. Using it outside the block raises
    :class:`RuntimeError`, and so does opening a second unit of work in a task that
    has one open (it would wait for itself).
    """

    users: UserRepository
    sessions: SessionRepository
    registrations: RegistrationRepository
    recoveries: RecoveryRepository
    events: EventRepository
    participations: ParticipationRepository
    notifications: NotificationRepository
    outbox: OutboxRepository
    totp: TotpRepository
    audit: AuditRepository
    calendar_feeds: CalendarFeedRepository
    webhooks: WebhookRepository
    personal_data: PersonalDataRepository

    def __init__(self, database: SqliteDatabase, *, read_only: bool = False) -> None:
        self._database = database
        self._open = False
        self._read_only = read_only
        # Set on entering: whether this one reads on the reading connection, turn-free.
        self._reads_apart = False
        self.users = repos.Users(self._run)
        self.sessions = repos.Sessions(self._run)
        self.registrations = repos.Registrations(self._run)
        self.recoveries = repos.Recoveries(self._run)
        self.events = repos.Events(self._run)
        self.participations = repos.Participations(self._run)
        self.notifications = repos.Notifications(self._run)
        self.outbox = repos.Outbox(self._run)
        self.totp = repos.Totp(self._run)
        self.audit = repos.Audit(self._run)
        self.calendar_feeds = repos.CalendarFeeds(self._run)
        self.webhooks = repos.Webhooks(self._run)
        self.personal_data = repos.PersonalData(self._run)

    async def __aenter__(self) -> Self:
        """Wait for the turn of this unit of work and begin its transaction."""
        if self._open:
            raise RuntimeError("this unit of work is already open")
        db = self._database
        if self._read_only and db._has_reader:
            self._reads_apart = True
            self._open = True
            return self
        await db._turns.acquire()
        try:
            await db._call(_begin)
        except BaseException:
            # Cancelled or failed: make sure no transaction outlives the turn (the
            # worker runs jobs in order, so this runs after the BEGIN).
            db._submit(_rollback_quietly)
            db._turns.release()
            raise
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed and give the turn to the next one."""
        if not self._open:
            return
        self._open = False
        db = self._database
        if self._reads_apart:
            self._reads_apart = False
            return
        try:
            await db._call(_rollback)
        except Exception:
            if exc is None:
                raise
            # Keep the block's own exception; the next _begin rolls back anyway.
        finally:
            db._turns.release()

    async def commit(self) -> None:
        """Make every change since the last commit durable and visible, at once.

        Raises :class:`RuntimeError` in a read-only unit of work.
        """
        self._check_open()
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        await self._database._call(_commit)

    async def rollback(self) -> None:
        """Discard every change since the last commit; the unit of work stays usable."""
        self._check_open()
        if self._reads_apart:
            return
        await self._database._call(_rollback)

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError(
                "the unit of work is not open: use it inside `async with factory() as uow:`"
            )

    async def _run(self, job: Job[T]) -> T:
        """Run a repository's ``job`` inside this unit of work's transaction."""
        self._check_open()
        if self._reads_apart:
            return await self._database._call(job, read=True)

        def in_transaction(conn: sqlite3.Connection) -> T:
            if not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
            return job(conn)

        return await self._database._call(in_transaction)


def _webhook_failures(conn: sqlite3.Connection) -> dict[str, float]:
    """The webhook failure counts of :meth:`SqliteDatabase.backlog`."""
    retrying, failed = conn.execute(
        "SELECT coalesce(sum(status = 'PENDING' AND attempts > 0), 0),"
        " coalesce(sum(status = 'FAILED'), 0) FROM webhook_deliveries"
    ).fetchone()
    (disabled,) = conn.execute(
        "SELECT count(*) FROM webhooks WHERE disabled_at IS NOT NULL"
    ).fetchone()
    return {
        "webhook_deliveries_retrying": float(retrying),
        "webhook_deliveries_failed": float(failed),
        "webhooks_disabled": float(disabled),
    }
