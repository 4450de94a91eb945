"""The repositories of :mod:`afisha_core.ports`, in SQL for SQLite.

Each method builds a job (a function of the connection) and hands it to its unit of
work, which runs it on the worker thread inside the transaction. Everything a unit of
work reads is already under SQLite's write lock (``BEGIN IMMEDIATE``), so the "locked"
reads of the ports (``get_for_update``, ``get_by_token_hash``) and the claims need no
extra locking, and two claimers can never take the same row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar
from uuid import UUID

import attrs

from afisha_core.domain import (
    Event,
    EventView,
    InstantNotification,
    IssuedLoginRecovery,
    IssuedRegistration,
    LoginSession,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Participation,
    ParticipationStatus,
    User,
)
from afisha_core.errors import EmailTaken, UsernameTaken
from afisha_core.ports import DueReminder, EventQuery, UserQuery
from afisha_sqlite import _convert as c

T = TypeVar("T")
Connection = sqlite3.Connection
Row = sqlite3.Row

_PARTICIPATING = ParticipationStatus.PARTICIPATING.value
_WAITLISTED = ParticipationStatus.WAITLISTED.value


class Runner(Protocol):
    """Runs a job with the connection inside a unit of work's transaction."""

    def __call__(self, job: Callable[[Connection], T], /) -> Awaitable[T]:
        """The job's result, once the worker thread ran it."""
        ...


def _names(columns: str) -> list[str]:
    return [name.strip() for name in columns.split(",")]


def _insert(table: str, columns: str) -> str:
    names = _names(columns)
    placeholders = ", ".join(f":{n}" for n in names)
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({placeholders})"  # noqa: S608 - constant names


def _update(table: str, columns: str, key: str) -> str:
    sets = ", ".join(f"{n} = :{n}" for n in _names(columns) if n != key)
    return f"UPDATE {table} SET {sets} WHERE {key} = :{key}"  # noqa: S608 - constant names


def _aliased(alias: str, columns: str) -> str:
    """``alias.col AS alias_col, ...``: columns of a joined table, kept apart by prefix."""
    return ", ".join(f"{alias}.{n} AS {alias}_{n}" for n in _names(columns))


def _placeholders(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def _contains_any(columns: Iterable[str], param: str) -> str:
    """SQL: the casefolded ``:param`` is a substring of one of ``columns`` (casefolded)."""
    return "(" + " OR ".join(f"instr(casefold({col}), :{param}) > 0" for col in columns) + ")"


class _Repository:
    """Base of the repositories: running jobs, and the common query shapes."""

    def __init__(self, run: Runner) -> None:
        self._run = run

    async def _one(
        self, sql: str, params: Sequence[object] | dict[str, object], make: Callable[[Row], T]
    ) -> T | None:
        def job(conn: Connection) -> T | None:
            row = conn.execute(sql, params).fetchone()
            return None if row is None else make(row)

        return await self._run(job)

    async def _all(
        self, sql: str, params: Sequence[object] | dict[str, object], make: Callable[[Row], T]
    ) -> list[T]:
        def job(conn: Connection) -> list[T]:
            return [make(row) for row in conn.execute(sql, params)]

        return await self._run(job)

    async def _execute(self, sql: str, params: Sequence[object] | dict[str, object]) -> int:
        def job(conn: Connection) -> int:
            return conn.execute(sql, params).rowcount

        return await self._run(job)

    async def _execute_many(
        self, sql: str, rows: Sequence[Sequence[object] | dict[str, object]]
    ) -> None:
        def job(conn: Connection) -> None:
            conn.executemany(sql, rows)

        if rows:
            await self._run(job)


# --- users -------------------------------------------------------------------------------

_USER_SELECT = f"SELECT {c.USER_COLUMNS} FROM users"  # noqa: S608 - constant names
_USER_INSERT = _insert("users", c.USER_COLUMNS)
_USER_UPDATE = _update("users", c.USER_COLUMNS, "id")


def _raise_user_clash(conn: Connection, user: User, exc: sqlite3.IntegrityError) -> None:
    """Turn a unique violation on users into EmailTaken or UsernameTaken (email first)."""
    if user.deleted_at is None:
        for column, error in (("email", EmailTaken), ("username", UsernameTaken)):
            clash = conn.execute(
                f"SELECT 1 FROM users WHERE {column} = ? AND deleted_at IS NULL AND id <> ?",  # noqa: S608 - constant names
                (getattr(user, column), c.uid(user.id)),
            ).fetchone()
            if clash is not None:
                raise error from exc
    raise exc


class Users(_Repository):
    """Users; live ones have unique emails and usernames (partial unique indexes)."""

    async def get(self, user_id: UUID) -> User | None:
        """The user with this id, deleted or not; ``None`` if there is none."""
        return await self._one(f"{_USER_SELECT} WHERE id = ?", (c.uid(user_id),), c.user_from_row)

    async def get_by_email(self, email: str) -> User | None:
        """The live user with this email, or ``None``."""
        sql = f"{_USER_SELECT} WHERE email = ? AND deleted_at IS NULL"
        return await self._one(sql, (email,), c.user_from_row)

    async def get_by_username(self, username: str) -> User | None:
        """The live user with this username, or ``None``."""
        sql = f"{_USER_SELECT} WHERE username = ? AND deleted_at IS NULL"
        return await self._one(sql, (username,), c.user_from_row)

    async def add(self, user: User) -> None:
        """Store a new user; raises EmailTaken or UsernameTaken on a clash."""
        await self._write(_USER_INSERT, user)

    async def update(self, user: User) -> None:
        """Replace the stored user; raises EmailTaken or UsernameTaken on a clash."""
        await self._write(_USER_UPDATE, user)

    async def _write(self, sql: str, user: User) -> None:
        params = c.user_params(user)

        def job(conn: Connection) -> None:
            try:
                conn.execute(sql, params)
            except sqlite3.IntegrityError as exc:
                _raise_user_clash(conn, user, exc)

        await self._run(job)

    async def list(self, query: UserQuery) -> Sequence[User]:
        """Up to ``query.limit`` live users matching ``query``, in ``(created_at, id)`` order."""
        where = ["deleted_at IS NULL"]
        params: dict[str, object] = {"limit": max(query.limit, 0)}
        if query.role is not None:
            where.append("role = :role")
            params["role"] = query.role.value
        if query.text:
            where.append(_contains_any(("email", "username", "full_name"), "needle"))
            params["needle"] = query.text.casefold()
        if query.after is not None:
            where.append("(created_at, id) > (:after_at, :after_id)")
            params["after_at"] = c.ts(query.after[0])
            params["after_id"] = c.uid(query.after[1])
        sql = f"{_USER_SELECT} WHERE {' AND '.join(where)} ORDER BY created_at, id LIMIT :limit"
        return await self._all(sql, params, c.user_from_row)


# --- sessions, registrations, recoveries ---------------------------------------------------

_SESSION_SELECT = f"SELECT {c.SESSION_COLUMNS} FROM login_sessions"  # noqa: S608 - constant names


class Sessions(_Repository):
    """Login sessions, looked up by uid or by the hash of their token."""

    async def add(self, session: LoginSession) -> None:
        """Store a new session."""
        await self._execute(_insert("login_sessions", c.SESSION_COLUMNS), c.session_params(session))

    async def get(self, uid: UUID) -> LoginSession | None:
        """The session with this uid (any state), or ``None``."""
        sql = f"{_SESSION_SELECT} WHERE uid = ?"
        return await self._one(sql, (c.uid(uid),), c.session_from_row)

    async def get_by_token_hash(self, token_hash: str) -> LoginSession | None:
        """The session whose token hashes to ``token_hash`` (any state), or ``None``."""
        sql = f"{_SESSION_SELECT} WHERE token_hash = ?"
        return await self._one(sql, (token_hash,), c.session_from_row)

    async def update(self, session: LoginSession) -> None:
        """Replace the stored session with the same uid."""
        sql = _update("login_sessions", c.SESSION_COLUMNS, "uid")
        await self._execute(sql, c.session_params(session))

    async def list_active(self, user_id: UUID, now: datetime) -> Sequence[LoginSession]:
        """The user's sessions that are neither revoked nor expired, newest first."""
        sql = (
            f"{_SESSION_SELECT} WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? "
            "ORDER BY created_at DESC, uid DESC"
        )
        return await self._all(sql, (c.uid(user_id), c.ts(now)), c.session_from_row)

    async def revoke_all(
        self, user_id: UUID, now: datetime, *, except_uid: UUID | None = None
    ) -> int:
        """Revoke every active session of the user but ``except_uid``; return how many."""
        sql = (
            "UPDATE login_sessions SET revoked_at = :now WHERE user_id = :user_id "
            "AND revoked_at IS NULL AND expires_at > :now "
            "AND (:except_uid IS NULL OR uid <> :except_uid)"
        )
        params: dict[str, object] = {
            "now": c.ts(now),
            "user_id": c.uid(user_id),
            "except_uid": c.uid_or_none(except_uid),
        }
        return await self._execute(sql, params)


class Registrations(_Repository):
    """Registrations waiting for their code."""

    async def add(self, registration: IssuedRegistration) -> None:
        """Store a new registration."""
        sql = _insert("registrations", c.REGISTRATION_COLUMNS)
        await self._execute(sql, c.registration_params(registration))

    async def get_by_token_hash(self, token_hash: str) -> IssuedRegistration | None:
        """The registration, or ``None``; the unit of work's write lock keeps it locked."""
        sql = f"SELECT {c.REGISTRATION_COLUMNS} FROM registrations WHERE token_hash = ?"  # noqa: S608 - constant names
        return await self._one(sql, (token_hash,), c.registration_from_row)

    async def update(self, registration: IssuedRegistration) -> None:
        """Replace the stored registration with the same id."""
        sql = _update("registrations", c.REGISTRATION_COLUMNS, "id")
        await self._execute(sql, c.registration_params(registration))


class Recoveries(_Repository):
    """Password-recovery tokens."""

    async def add(self, recovery: IssuedLoginRecovery) -> None:
        """Store a new recovery token."""
        sql = _insert("login_recoveries", c.RECOVERY_COLUMNS)
        await self._execute(sql, c.recovery_params(recovery))

    async def get_by_token_hash(self, token_hash: str) -> IssuedLoginRecovery | None:
        """The recovery, or ``None``; the unit of work's write lock keeps it locked."""
        sql = f"SELECT {c.RECOVERY_COLUMNS} FROM login_recoveries WHERE token_hash = ?"  # noqa: S608 - constant names
        return await self._one(sql, (token_hash,), c.recovery_from_row)

    async def update(self, recovery: IssuedLoginRecovery) -> None:
        """Replace the stored recovery with the same id."""
        sql = _update("login_recoveries", c.RECOVERY_COLUMNS, "id")
        await self._execute(sql, c.recovery_params(recovery))


# --- events ------------------------------------------------------------------------------

_EVENT_SELECT = f"SELECT {c.EVENT_COLUMNS} FROM events"  # noqa: S608 - constant names
_EVENT_TEXT_COLUMNS = ("e.name", "e.short_description", "e.description", "e.location")

# The counts and the viewer's status of each event of a page, in the page's own query:
# correlated subqueries over participations_event_status_idx and the primary key.
_VIEWS = f"""
WITH page AS ({{page}})
SELECT page.*,
    (SELECT count(*) FROM participations p
        WHERE p.event_id = page.id AND p.status = '{_PARTICIPATING}') AS participants_count,
    (SELECT count(*) FROM participations p
        WHERE p.event_id = page.id AND p.status = '{_WAITLISTED}') AS waitlist_count,
    (SELECT p.status FROM participations p
        WHERE p.event_id = page.id AND p.user_id = :viewer_id) AS my_status
FROM page
ORDER BY page.starts_at, page.id
"""  # noqa: S608 - constant names


# Events where the participant has a row in the wanted statuses: one placeholder per
# ParticipationStatus, set to the status when wanted and to NULL (matching nothing) when not.
_MY_EVENTS = (
    "EXISTS (SELECT 1 FROM participations mine WHERE mine.event_id = e.id "
    "AND mine.user_id = :participant_id "
    "AND mine.status IN (:want_PARTICIPATING, :want_WAITLISTED, :want_REJECTED))"
)
_EVENT_VIEW = _VIEWS.format(page=f"{_EVENT_SELECT} WHERE id = :event_id")


def _view_from_row(row: Row) -> EventView:
    status = row["my_status"]
    return EventView(
        event=c.event_from_row(row),
        participants_count=int(row["participants_count"]),
        waitlist_count=int(row["waitlist_count"]),
        my_status=None if status is None else ParticipationStatus(status),
    )


class Events(_Repository):
    """Events, and their views with live participation counts."""

    async def add(self, event: Event) -> None:
        """Store a new event."""
        await self._execute(_insert("events", c.EVENT_COLUMNS), c.event_params(event))

    async def update(self, event: Event) -> None:
        """Replace the stored event with the same id."""
        await self._execute(_update("events", c.EVENT_COLUMNS, "id"), c.event_params(event))

    async def get(self, event_id: UUID) -> Event | None:
        """The event, or ``None``."""
        sql = f"{_EVENT_SELECT} WHERE id = ?"
        return await self._one(sql, (c.uid(event_id),), c.event_from_row)

    async def get_for_update(self, event_id: UUID) -> Event | None:
        """The event, or ``None``; the unit of work already holds SQLite's write lock."""
        return await self.get(event_id)

    async def get_view(self, event_id: UUID, viewer_id: UUID | None) -> EventView | None:
        """The event with live counts and ``viewer_id``'s status, or ``None``."""
        params: dict[str, object] = {
            "event_id": c.uid(event_id),
            "viewer_id": c.uid_or_none(viewer_id),
        }
        return await self._one(_EVENT_VIEW, params, _view_from_row)

    async def list_views(
        self, query: EventQuery, now: datetime, viewer_id: UUID | None
    ) -> Sequence[EventView]:
        """Up to ``query.limit`` events matching ``query`` with their counts, in one query."""
        where: list[str] = []
        params: dict[str, object] = {
            "viewer_id": c.uid_or_none(viewer_id),
            "limit": max(query.limit, 0),
        }
        lower = query.starts_from
        if lower is None and not query.include_finished:
            lower = now
        if lower is not None:
            where.append("e.ends_at > :lower")
            # The same rows, but the (starts_at, id) index scan starts near ``lower``:
            # the longest event comes from events_span_idx in one probe.
            # (Whole seconds and one spare: a bound a little low is still right, and
            # the column stays bare so the index can use it.)
            # Clamped at year 1: before it strftime() gives NULL and nothing would match.
            where.append(
                "e.starts_at > strftime('%Y-%m-%dT%H:%M:%S', max(julianday(:lower) - coalesce("
                "(SELECT max(julianday(s.ends_at) - julianday(s.starts_at)) FROM events s), 0)"
                " - 1.0 / 86400, julianday('0001-01-01')))"
            )
            params["lower"] = c.ts(lower)
        if query.starts_before is not None:
            where.append("e.starts_at < :upper")
            params["upper"] = c.ts(query.starts_before)
        if not query.include_rejected:
            where.append("e.rejected_at IS NULL")
        if query.text:
            where.append(_contains_any(_EVENT_TEXT_COLUMNS, "needle"))
            params["needle"] = query.text.casefold()
        if query.participant_id is not None:
            wanted = {s.value for s in query.participant_statuses}
            for status in ParticipationStatus:
                params[f"want_{status.value}"] = status.value if status.value in wanted else None
            params["participant_id"] = c.uid(query.participant_id)
            where.append(_MY_EVENTS)
        if query.after is not None:
            where.append("(e.starts_at, e.id) > (:after_at, :after_id)")
            params["after_at"] = c.ts(query.after[0])
            params["after_id"] = c.uid(query.after[1])
        condition = " AND ".join(where) or "1"
        page = (
            f"SELECT {', '.join('e.' + n for n in _names(c.EVENT_COLUMNS))} FROM events e "  # noqa: S608 - constant names
            f"WHERE {condition} ORDER BY e.starts_at, e.id LIMIT :limit"
        )
        return await self._all(_VIEWS.format(page=page), params, _view_from_row)


# --- participations --------------------------------------------------------------------

_PARTICIPATION_SELECT = f"SELECT {c.PARTICIPATION_COLUMNS} FROM participations"  # noqa: S608 - constant names
_NEXT_WRITE_SEQ = "UPDATE participations_write_seq SET last_value = last_value + 1 WHERE id = 1"
_LAST_WRITE_SEQ = "SELECT last_value FROM participations_write_seq WHERE id = 1"
# The write order moves on only when the status changes (or the row is new).
_PARTICIPATION_UPSERT = """
INSERT INTO participations
    (event_id, user_id, status, created_at, status_changed_at, reminder_queued_at, write_seq)
VALUES
    (:event_id, :user_id, :status, :created_at, :status_changed_at, :reminder_queued_at,
     :write_seq)
ON CONFLICT (event_id, user_id) DO UPDATE SET
    status = excluded.status,
    created_at = excluded.created_at,
    status_changed_at = excluded.status_changed_at,
    reminder_queued_at = excluded.reminder_queued_at,
    write_seq = CASE WHEN participations.status = excluded.status
                     THEN participations.write_seq ELSE excluded.write_seq END
"""
_DUE_REMINDERS = f"""
SELECT {_aliased("p", c.PARTICIPATION_COLUMNS)},
       {_aliased("e", c.EVENT_COLUMNS)},
       {_aliased("u", c.USER_COLUMNS)}
FROM participations p
JOIN events e ON e.id = p.event_id
JOIN users u ON u.id = p.user_id
WHERE p.status = '{_PARTICIPATING}' AND p.reminder_queued_at IS NULL
  AND u.deleted_at IS NULL
  AND e.rejected_at IS NULL AND e.starts_at > :now AND e.starts_at <= :horizon
ORDER BY e.starts_at, p.created_at, e.id, u.id
LIMIT :limit
"""  # noqa: S608 - constant names


class Participations(_Repository):
    """Participations, one row per (event, user)."""

    async def get(self, event_id: UUID, user_id: UUID) -> Participation | None:
        """The user's participation in the event, or ``None``."""
        sql = f"{_PARTICIPATION_SELECT} WHERE event_id = ? AND user_id = ?"
        params = (c.uid(event_id), c.uid(user_id))
        return await self._one(sql, params, c.participation_from_row)

    async def save(self, participation: Participation) -> None:
        """Insert or replace the row for ``(event_id, user_id)``."""
        params: dict[str, object] = {
            "event_id": c.uid(participation.event_id),
            "user_id": c.uid(participation.user_id),
            "status": participation.status.value,
            "created_at": c.ts(participation.created_at),
            "status_changed_at": c.ts(participation.status_changed_at),
            "reminder_queued_at": c.ts_or_none(participation.reminder_queued_at),
        }

        def job(conn: Connection) -> None:
            conn.execute(_NEXT_WRITE_SEQ)
            (seq,) = conn.execute(_LAST_WRITE_SEQ).fetchone()
            conn.execute(_PARTICIPATION_UPSERT, {**params, "write_seq": seq})

        await self._run(job)

    async def count(self, event_id: UUID, status: ParticipationStatus) -> int:
        """How many participations of the event have ``status``, counted live."""
        sql = "SELECT count(*) FROM participations WHERE event_id = ? AND status = ?"
        counted = await self._one(sql, (c.uid(event_id), status.value), lambda row: int(row[0]))
        return counted or 0

    async def next_waitlisted(self, event_id: UUID) -> Participation | None:
        """The WAITLISTED row with the earliest ``status_changed_at``, ties by write order."""
        sql = (
            f"{_PARTICIPATION_SELECT} WHERE event_id = ? AND status = '{_WAITLISTED}' "
            "ORDER BY status_changed_at, write_seq LIMIT 1"
        )
        return await self._one(sql, (c.uid(event_id),), c.participation_from_row)

    async def list_participants(
        self,
        event_id: UUID,
        *,
        status: ParticipationStatus | None,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> Sequence[Participant]:
        """Up to ``limit`` participants with their users, in ``(created_at, user_id)`` order."""
        where = ["p.event_id = :event_id"]
        params: dict[str, object] = {"event_id": c.uid(event_id), "limit": max(limit, 0)}
        if status is not None:
            where.append("p.status = :status")
            params["status"] = status.value
        if after is not None:
            where.append("(p.created_at, p.user_id) > (:after_at, :after_id)")
            params["after_at"] = c.ts(after[0])
            params["after_id"] = c.uid(after[1])
        sql = (
            f"SELECT {_aliased('p', c.PARTICIPATION_COLUMNS)}, {_aliased('u', c.USER_COLUMNS)} "  # noqa: S608 - constant names
            "FROM participations p JOIN users u ON u.id = p.user_id "
            f"WHERE {' AND '.join(where)} ORDER BY p.created_at, p.user_id LIMIT :limit"
        )

        def make(row: Row) -> Participant:
            return Participant(
                user=c.user_from_row(row, "u_"),
                participation=c.participation_from_row(row, "p_"),
            )

        return await self._all(sql, params, make)

    async def list_for_user(
        self, user_id: UUID, statuses: frozenset[ParticipationStatus]
    ) -> Sequence[Participation]:
        """All of the user's participations whose status is in ``statuses``."""
        if not statuses:
            return []
        values = sorted(s.value for s in statuses)
        sql = (
            f"{_PARTICIPATION_SELECT} WHERE user_id = ? AND status IN ({_placeholders(values)}) "
            "ORDER BY created_at, event_id"
        )
        return await self._all(sql, (c.uid(user_id), *values), c.participation_from_row)

    async def clear_reminders(self, event_id: UUID) -> int:
        """Unset ``reminder_queued_at`` on the event's participations; return how many."""
        sql = (
            "UPDATE participations SET reminder_queued_at = NULL "
            "WHERE event_id = ? AND reminder_queued_at IS NOT NULL"
        )
        return await self._execute(sql, (c.uid(event_id),))

    async def claim_due_reminders(
        self, now: datetime, horizon: datetime, limit: int
    ) -> Sequence[DueReminder]:
        """Claim up to ``limit`` due reminders, setting ``reminder_queued_at = now``.

        Select and update run in the unit of work's write transaction, which no other
        connection can enter meanwhile, so a row is never claimed twice.
        """
        params: dict[str, object] = {
            "now": c.ts(now),
            "horizon": c.ts(horizon),
            "limit": max(limit, 0),
        }

        def job(conn: Connection) -> list[DueReminder]:
            due = [
                DueReminder(
                    participation=attrs.evolve(
                        c.participation_from_row(row, "p_"), reminder_queued_at=now
                    ),
                    event=c.event_from_row(row, "e_"),
                    user=c.user_from_row(row, "u_"),
                )
                for row in conn.execute(_DUE_REMINDERS, params).fetchall()
            ]
            conn.executemany(
                "UPDATE participations SET reminder_queued_at = ? "
                "WHERE event_id = ? AND user_id = ?",
                [(params["now"], c.uid(d.participation.event_id), c.uid(d.user.id)) for d in due],
            )
            return due

        return await self._run(job)


# --- notifications and outbox ------------------------------------------------------------

_NOTIFICATION_SELECT = f"SELECT {c.NOTIFICATION_COLUMNS} FROM notifications"  # noqa: S608 - constant names


class Notifications(_Repository):
    """In-app notifications."""

    async def add(self, notification: InstantNotification) -> None:
        """Store a new notification."""
        sql = _insert("notifications", c.NOTIFICATION_COLUMNS)
        await self._execute(sql, c.notification_params(notification))

    async def add_many(self, notifications: Sequence[InstantNotification]) -> None:
        """Store several new notifications at once."""
        await self._execute_many(
            _insert("notifications", c.NOTIFICATION_COLUMNS),
            [c.notification_params(n) for n in notifications],
        )

    async def get(self, notification_id: UUID) -> InstantNotification | None:
        """The notification, or ``None``."""
        sql = f"{_NOTIFICATION_SELECT} WHERE id = ?"
        return await self._one(sql, (c.uid(notification_id),), c.notification_from_row)

    async def update(self, notification: InstantNotification) -> None:
        """Replace the stored notification with the same id."""
        sql = _update("notifications", c.NOTIFICATION_COLUMNS, "id")
        await self._execute(sql, c.notification_params(notification))

    async def list(
        self,
        user_id: UUID,
        *,
        unacked_only: bool,
        before: tuple[datetime, UUID] | None,
        limit: int,
    ) -> Sequence[InstantNotification]:
        """Up to ``limit`` of the user's notifications, newest ``(created_at, id)`` first."""
        where = ["user_id = :user_id"]
        params: dict[str, object] = {"user_id": c.uid(user_id), "limit": max(limit, 0)}
        if unacked_only:
            where.append("acked_at IS NULL")
        if before is not None:
            where.append("(created_at, id) < (:before_at, :before_id)")
            params["before_at"] = c.ts(before[0])
            params["before_id"] = c.uid(before[1])
        sql = (
            f"{_NOTIFICATION_SELECT} WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC, id DESC LIMIT :limit"
        )
        return await self._all(sql, params, c.notification_from_row)

    async def ack_all(self, user_id: UUID, now: datetime) -> int:
        """Set ``acked_at = now`` on the user's unacked notifications; return how many."""
        sql = "UPDATE notifications SET acked_at = ? WHERE user_id = ? AND acked_at IS NULL"
        return await self._execute(sql, (c.ts(now), c.uid(user_id)))


_OUTBOX_SELECT = f"SELECT {c.OUTBOX_COLUMNS} FROM outbox"  # noqa: S608 - constant names


class Outbox(_Repository):
    """Emails waiting for delivery."""

    async def add(self, message: OutboxMessage) -> None:
        """Store a new message."""
        await self._execute(_insert("outbox", c.OUTBOX_COLUMNS), c.outbox_params(message))

    async def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        """Store several new messages at once."""
        await self._execute_many(
            _insert("outbox", c.OUTBOX_COLUMNS), [c.outbox_params(m) for m in messages]
        )

    async def get(self, message_id: UUID) -> OutboxMessage | None:
        """The message, or ``None``."""
        sql = f"{_OUTBOX_SELECT} WHERE id = ?"
        return await self._one(sql, (c.uid(message_id),), c.outbox_from_row)

    async def update(self, message: OutboxMessage) -> None:
        """Replace the stored message with the same id."""
        await self._execute(_update("outbox", c.OUTBOX_COLUMNS, "id"), c.outbox_params(message))

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[OutboxMessage]:
        """Claim up to ``limit`` due PENDING messages, oldest first, leasing them.

        Select and update run in the unit of work's write transaction, which no other
        connection can enter meanwhile, so a message is never claimed twice.
        """
        select = (
            f"{_OUTBOX_SELECT} WHERE status = '{OutboxStatus.PENDING.value}' "
            "AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at, id LIMIT ?"
        )
        lease = c.ts(lease_until)

        def job(conn: Connection) -> list[OutboxMessage]:
            rows = conn.execute(select, (c.ts(now), max(limit, 0))).fetchall()
            claimed = [
                attrs.evolve(c.outbox_from_row(row), next_attempt_at=lease_until) for row in rows
            ]
            conn.executemany(
                "UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
                [(lease, c.uid(m.id)) for m in claimed],
            )
            return claimed

        return await self._run(job)
