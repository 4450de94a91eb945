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
from uuid import UUID, uuid4

import attrs

from afisha_core.domain import (
    AuditEntry,
    CalendarFeed,
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
    TotpCredential,
    TotpRecoveryCode,
    User,
    Webhook,
    WebhookDelivery,
)
from afisha_core.errors import EmailTaken, UsernameTaken
from afisha_core.ports import (
    AuditQuery,
    Broadcast,
    DueDelivery,
    DueReminder,
    EventQuery,
    ReminderClaims,
    UserQuery,
)
from afisha_core.tables import (
    AUDIT_LOG,
    CALENDAR_FEEDS,
    EVENTS,
    NOTIFICATIONS,
    OUTBOX,
    PARTICIPATIONS,
    RECOVERIES,
    REGISTRATIONS,
    SESSIONS,
    TOTP_CREDENTIALS,
    TOTP_RECOVERY_CODES,
    USERS,
    WEBHOOK_DELIVERIES,
    WEBHOOKS,
)
from afisha_sqlite import values as v

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

_USER_SELECT = f"SELECT {USERS.column_list} FROM users"  # noqa: S608 - constant names
_USER_INSERT = USERS.insert_sql(v.named)
_USER_UPDATE = USERS.update_sql(v.named)


def _raise_user_clash(conn: Connection, user: User, exc: sqlite3.IntegrityError) -> None:
    """Turn a unique violation on users into EmailTaken or UsernameTaken (email first)."""
    if user.deleted_at is None:
        for column, error in (("email", EmailTaken), ("username", UsernameTaken)):
            clash = conn.execute(
                f"SELECT 1 FROM users WHERE {column} = ? AND deleted_at IS NULL AND id <> ?",  # noqa: S608 - constant names
                (getattr(user, column), v.uid(user.id)),
            ).fetchone()
            if clash is not None:
                raise error from exc
    raise exc


class Users(_Repository):
    """Users; live ones have unique emails and usernames (partial unique indexes)."""

    async def get(self, user_id: UUID) -> User | None:
        """The user with this id, deleted or not; ``None`` if there is none."""
        return await self._one(
            f"{_USER_SELECT} WHERE id = ?", (v.uid(user_id),), USERS.reader(v.CODEC)
        )

    async def get_by_email(self, email: str) -> User | None:
        """The live user with this email, or ``None``."""
        sql = f"{_USER_SELECT} WHERE email = ? AND deleted_at IS NULL"
        return await self._one(sql, (email,), USERS.reader(v.CODEC))

    async def get_by_username(self, username: str) -> User | None:
        """The live user with this username, or ``None``."""
        sql = f"{_USER_SELECT} WHERE username = ? AND deleted_at IS NULL"
        return await self._one(sql, (username,), USERS.reader(v.CODEC))

    async def get_for_update(self, user_id: UUID) -> User | None:
        """The user, deleted or not; the unit of work already holds SQLite's write lock."""
        return await self.get(user_id)

    async def add(self, user: User) -> None:
        """Store a new user; raises EmailTaken or UsernameTaken on a clash."""
        await self._write(_USER_INSERT, user)

    async def update(self, user: User) -> None:
        """Replace the stored user; raises EmailTaken or UsernameTaken on a clash."""
        await self._write(_USER_UPDATE, user)

    async def _write(self, sql: str, user: User) -> None:
        params = USERS.dump(user, v.CODEC)

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
            params["after_at"] = v.ts(query.after[0])
            params["after_id"] = v.uid(query.after[1])
        sql = f"{_USER_SELECT} WHERE {' AND '.join(where)} ORDER BY created_at, id LIMIT :limit"
        return await self._all(sql, params, USERS.reader(v.CODEC))


# --- sessions, registrations, recoveries ---------------------------------------------------

_SESSION_SELECT = f"SELECT {SESSIONS.column_list} FROM login_sessions"  # noqa: S608 - constant names
_SESSION_WITH_USER = (
    f"SELECT {SESSIONS.aliased('s')}, {USERS.aliased('u')} FROM login_sessions s"  # noqa: S608 - constant names
    " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?"
)


class Sessions(_Repository):
    """Login sessions, looked up by uid or by the hash of their token."""

    async def add(self, session: LoginSession) -> None:
        """Store a new session."""
        await self._execute(SESSIONS.insert_sql(v.named), SESSIONS.dump(session, v.CODEC))

    async def get(self, uid: UUID) -> LoginSession | None:
        """The session with this uid (any state), or ``None``."""
        sql = f"{_SESSION_SELECT} WHERE uid = ?"
        return await self._one(sql, (v.uid(uid),), SESSIONS.reader(v.CODEC))

    async def get_by_token_hash(self, token_hash: str) -> LoginSession | None:
        """The session whose token hashes to ``token_hash`` (any state), or ``None``."""
        sql = f"{_SESSION_SELECT} WHERE token_hash = ?"
        return await self._one(sql, (token_hash,), SESSIONS.reader(v.CODEC))

    async def get_with_user(self, token_hash: str) -> tuple[LoginSession, User] | None:
        """The session whose token hashes to ``token_hash`` and its user (one join)."""

        def read(row: Row) -> tuple[LoginSession, User]:
            return SESSIONS.load(row, v.CODEC, "s_"), USERS.load(row, v.CODEC, "u_")

        return await self._one(_SESSION_WITH_USER, (token_hash,), read)

    async def touch(self, uid: UUID, now: datetime) -> bool:
        """Set ``last_seen_at`` on a live session seen before ``now``; whether it changed."""
        sql = (
            "UPDATE login_sessions SET last_seen_at = ? "
            "WHERE uid = ? AND revoked_at IS NULL AND last_seen_at < ?"
        )
        return await self._execute(sql, (v.ts(now), v.uid(uid), v.ts(now))) > 0

    async def revoke(self, uid: UUID, now: datetime) -> bool:
        """Revoke the session unless it already is; whether it changed."""
        sql = "UPDATE login_sessions SET revoked_at = ? WHERE uid = ? AND revoked_at IS NULL"
        return await self._execute(sql, (v.ts(now), v.uid(uid))) > 0

    async def carry_over(self, uid: UUID, credential_version: int) -> bool:
        """Move a live session to a new credential version; whether it changed."""
        sql = (
            "UPDATE login_sessions SET credential_version = ? WHERE uid = ? AND revoked_at IS NULL"
        )
        return await self._execute(sql, (credential_version, v.uid(uid))) > 0

    async def list_active(
        self,
        user_id: UUID,
        now: datetime,
        *,
        before: tuple[datetime, UUID] | None = None,
        limit: int | None = None,
    ) -> Sequence[LoginSession]:
        """The user's live sessions, newest first, in keyset pages."""
        sql = (
            f"{_SESSION_SELECT} WHERE user_id = :user_id AND revoked_at IS NULL "
            "AND expires_at > :now AND (:before_at IS NULL OR (created_at, uid) < "
            "(:before_at, :before_uid)) ORDER BY created_at DESC, uid DESC LIMIT :limit"
        )
        params: dict[str, object] = {
            "user_id": v.uid(user_id),
            "now": v.ts(now),
            "before_at": v.ts(before[0]) if before else None,
            "before_uid": v.uid(before[1]) if before else None,
            "limit": -1 if limit is None else max(limit, 0),
        }
        return await self._all(sql, params, SESSIONS.reader(v.CODEC))

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
            "now": v.ts(now),
            "user_id": v.uid(user_id),
            "except_uid": v.uid_or_none(except_uid),
        }
        return await self._execute(sql, params)


class Registrations(_Repository):
    """Registrations waiting for their code."""

    async def add(self, registration: IssuedRegistration) -> None:
        """Store a new registration."""
        sql = REGISTRATIONS.insert_sql(v.named)
        await self._execute(sql, REGISTRATIONS.dump(registration, v.CODEC))

    async def get_by_token_hash(self, token_hash: str) -> IssuedRegistration | None:
        """The registration, or ``None``; the unit of work's write lock keeps it locked."""
        sql = f"SELECT {REGISTRATIONS.column_list} FROM registrations WHERE token_hash = ?"  # noqa: S608 - constant names
        return await self._one(sql, (token_hash,), REGISTRATIONS.reader(v.CODEC))

    async def update(self, registration: IssuedRegistration) -> None:
        """Replace the stored registration with the same id."""
        sql = REGISTRATIONS.update_sql(v.named)
        await self._execute(sql, REGISTRATIONS.dump(registration, v.CODEC))


class Recoveries(_Repository):
    """Password-recovery tokens."""

    async def add(self, recovery: IssuedLoginRecovery) -> None:
        """Store a new recovery token."""
        sql = RECOVERIES.insert_sql(v.named)
        await self._execute(sql, RECOVERIES.dump(recovery, v.CODEC))

    async def get_by_token_hash(self, token_hash: str) -> IssuedLoginRecovery | None:
        """The recovery, or ``None``; the unit of work's write lock keeps it locked."""
        sql = f"SELECT {RECOVERIES.column_list} FROM login_recoveries WHERE token_hash = ?"  # noqa: S608 - constant names
        return await self._one(sql, (token_hash,), RECOVERIES.reader(v.CODEC))

    async def update(self, recovery: IssuedLoginRecovery) -> None:
        """Replace the stored recovery with the same id."""
        sql = RECOVERIES.update_sql(v.named)
        await self._execute(sql, RECOVERIES.dump(recovery, v.CODEC))


# --- events ------------------------------------------------------------------------------

_EVENT_SELECT = f"SELECT {EVENTS.column_list} FROM events"  # noqa: S608 - constant names
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
        event=EVENTS.reader(v.CODEC)(row),
        participants_count=int(row["participants_count"]),
        waitlist_count=int(row["waitlist_count"]),
        my_status=None if status is None else ParticipationStatus(status),
    )


class Events(_Repository):
    """Events, and their views with live participation counts."""

    async def add(self, event: Event) -> None:
        """Store a new event."""
        await self._execute(EVENTS.insert_sql(v.named), EVENTS.dump(event, v.CODEC))

    async def update(self, event: Event) -> None:
        """Replace the stored event with the same id."""
        await self._execute(EVENTS.update_sql(v.named), EVENTS.dump(event, v.CODEC))

    async def get(self, event_id: UUID) -> Event | None:
        """The event, or ``None``."""
        sql = f"{_EVENT_SELECT} WHERE id = ?"
        return await self._one(sql, (v.uid(event_id),), EVENTS.reader(v.CODEC))

    async def get_for_update(self, event_id: UUID) -> Event | None:
        """The event, or ``None``; the unit of work already holds SQLite's write lock."""
        return await self.get(event_id)

    async def get_view(self, event_id: UUID, viewer_id: UUID | None) -> EventView | None:
        """The event with live counts and ``viewer_id``'s status, or ``None``."""
        params: dict[str, object] = {
            "event_id": v.uid(event_id),
            "viewer_id": v.uid_or_none(viewer_id),
        }
        return await self._one(_EVENT_VIEW, params, _view_from_row)

    async def list_views(
        self, query: EventQuery, now: datetime, viewer_id: UUID | None
    ) -> Sequence[EventView]:
        """Up to ``query.limit`` events matching ``query`` with their counts, in one query."""
        where: list[str] = []
        params: dict[str, object] = {
            "viewer_id": v.uid_or_none(viewer_id),
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
            params["lower"] = v.ts(lower)
        if query.starts_before is not None:
            where.append("e.starts_at < :upper")
            params["upper"] = v.ts(query.starts_before)
        if not query.include_rejected:
            where.append("e.rejected_at IS NULL")
        if query.text:
            where.append(_contains_any(_EVENT_TEXT_COLUMNS, "needle"))
            params["needle"] = query.text.casefold()
        if query.participant_id is not None:
            wanted = {s.value for s in query.participant_statuses}
            for status in ParticipationStatus:
                params[f"want_{status.value}"] = status.value if status.value in wanted else None
            params["participant_id"] = v.uid(query.participant_id)
            where.append(_MY_EVENTS)
        if query.after is not None:
            where.append("(e.starts_at, e.id) > (:after_at, :after_id)")
            params["after_at"] = v.ts(query.after[0])
            params["after_id"] = v.uid(query.after[1])
        condition = " AND ".join(where) or "1"
        page = (
            f"SELECT {', '.join('e.' + n for n in EVENTS.names)} FROM events e "  # noqa: S608 - constant names
            f"WHERE {condition} ORDER BY e.starts_at, e.id LIMIT :limit"
        )
        return await self._all(_VIEWS.format(page=page), params, _view_from_row)


# --- participations --------------------------------------------------------------------

_PARTICIPATION_SELECT = f"SELECT {PARTICIPATIONS.column_list} FROM participations"  # noqa: S608 - constant names
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
    write_seq = CASE WHEN participations.status = excluded.status
                     THEN participations.write_seq ELSE excluded.write_seq END
"""
_DUE_REMINDERS = f"""
SELECT p.event_id, p.user_id, u.email, u.locale
FROM participations p
JOIN events e ON e.id = p.event_id
JOIN users u ON u.id = p.user_id
WHERE p.status = '{_PARTICIPATING}' AND p.reminder_queued_at IS NULL
  AND u.deleted_at IS NULL
  AND e.rejected_at IS NULL AND e.starts_at > :now AND e.starts_at <= :horizon
ORDER BY e.starts_at, e.id, u.id
LIMIT :limit
"""  # noqa: S608 - constant names


class Participations(_Repository):
    """Participations, one row per (event, user)."""

    async def get(self, event_id: UUID, user_id: UUID) -> Participation | None:
        """The user's participation in the event, or ``None``."""
        sql = f"{_PARTICIPATION_SELECT} WHERE event_id = ? AND user_id = ?"
        params = (v.uid(event_id), v.uid(user_id))
        return await self._one(sql, params, PARTICIPATIONS.reader(v.CODEC))

    async def save(self, participation: Participation) -> None:
        """Insert the row for ``(event_id, user_id)``, or update its status (not its claim)."""
        params: dict[str, object] = {
            "event_id": v.uid(participation.event_id),
            "user_id": v.uid(participation.user_id),
            "status": participation.status.value,
            "created_at": v.ts(participation.created_at),
            "status_changed_at": v.ts(participation.status_changed_at),
            "reminder_queued_at": v.ts_or_none(participation.reminder_queued_at),
        }

        def job(conn: Connection) -> None:
            conn.execute(_NEXT_WRITE_SEQ)
            (seq,) = conn.execute(_LAST_WRITE_SEQ).fetchone()
            conn.execute(_PARTICIPATION_UPSERT, {**params, "write_seq": seq})

        await self._run(job)

    async def count(self, event_id: UUID, status: ParticipationStatus) -> int:
        """How many participations of the event have ``status``, counted live."""
        sql = "SELECT count(*) FROM participations WHERE event_id = ? AND status = ?"
        counted = await self._one(sql, (v.uid(event_id), status.value), lambda row: int(row[0]))
        return counted or 0

    async def next_waitlisted(self, event_id: UUID) -> Participation | None:
        """The WAITLISTED row with the earliest ``status_changed_at``, ties by write order."""
        sql = (
            f"{_PARTICIPATION_SELECT} WHERE event_id = ? AND status = '{_WAITLISTED}' "
            "ORDER BY status_changed_at, write_seq LIMIT 1"
        )
        return await self._one(sql, (v.uid(event_id),), PARTICIPATIONS.reader(v.CODEC))

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
        params: dict[str, object] = {"event_id": v.uid(event_id), "limit": max(limit, 0)}
        if status is not None:
            where.append("p.status = :status")
            params["status"] = status.value
        if after is not None:
            where.append("(p.created_at, p.user_id) > (:after_at, :after_id)")
            params["after_at"] = v.ts(after[0])
            params["after_id"] = v.uid(after[1])
        sql = (
            f"SELECT {PARTICIPATIONS.aliased('p')}, {USERS.aliased('u')} "  # noqa: S608 - constant names
            "FROM participations p JOIN users u ON u.id = p.user_id "
            f"WHERE {' AND '.join(where)} ORDER BY p.created_at, p.user_id LIMIT :limit"
        )

        def make(row: Row) -> Participant:
            return Participant(
                user=USERS.load(row, v.CODEC, "u_"),
                participation=PARTICIPATIONS.load(row, v.CODEC, "p_"),
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
        return await self._all(sql, (v.uid(user_id), *values), PARTICIPATIONS.reader(v.CODEC))

    async def clear_reminders(self, event_id: UUID) -> int:
        """Unset ``reminder_queued_at`` on the event's participations; return how many."""
        sql = (
            "UPDATE participations SET reminder_queued_at = NULL "
            "WHERE event_id = ? AND reminder_queued_at IS NOT NULL"
        )
        return await self._execute(sql, (v.uid(event_id),))

    async def claim_due_reminders(
        self, now: datetime, horizon: datetime, limit: int
    ) -> ReminderClaims:
        """Claim up to ``limit`` due reminders, setting ``reminder_queued_at = now``.

        Select and update run in the unit of work's write transaction, which no other
        connection can enter meanwhile, so a row is never claimed twice.
        """
        params: dict[str, object] = {
            "now": v.ts(now),
            "horizon": v.ts(horizon),
            "limit": max(limit, 0),
        }

        def job(conn: Connection) -> ReminderClaims:
            rows = conn.execute(_DUE_REMINDERS, params).fetchall()
            if not rows:
                return ReminderClaims()
            conn.executemany(
                "UPDATE participations SET reminder_queued_at = ? "
                "WHERE event_id = ? AND user_id = ?",
                [(params["now"], row["event_id"], row["user_id"]) for row in rows],
            )
            ids = list({row["event_id"]: None for row in rows})
            events = [
                EVENTS.load(row, v.CODEC)
                for row in conn.execute(f"{_EVENT_SELECT} WHERE id IN ({_placeholders(ids)})", ids)
            ]
            return ReminderClaims(
                events={event.id: event for event in events},
                due=[
                    DueReminder(
                        event_id=v.to_uuid(row["event_id"]),
                        user_id=v.to_uuid(row["user_id"]),
                        email=row["email"],
                        locale=row["locale"],
                    )
                    for row in rows
                ],
            )

        return await self._run(job)


# --- notifications and outbox ------------------------------------------------------------

_NOTIFICATION_SELECT = f"SELECT {NOTIFICATIONS.column_list} FROM notifications"  # noqa: S608 - constant names


_NOTIFICATION_ACK = f"UPDATE notifications SET acked_at = coalesce(acked_at, ?) WHERE id = ? AND user_id = ? RETURNING {NOTIFICATIONS.column_list}"  # noqa: S608, E501 - constant names


class Notifications(_Repository):
    """In-app notifications."""

    async def add(self, notification: InstantNotification) -> None:
        """Store a new notification."""
        sql = NOTIFICATIONS.insert_sql(v.named)
        await self._execute(sql, NOTIFICATIONS.dump(notification, v.CODEC))

    async def add_many(self, notifications: Sequence[InstantNotification]) -> None:
        """Store several new notifications at once."""
        await self._execute_many(
            NOTIFICATIONS.insert_sql(v.named),
            [NOTIFICATIONS.dump(n, v.CODEC) for n in notifications],
        )

    async def add_broadcasts(self, broadcasts: Sequence[Broadcast], now: datetime) -> int:
        """Each broadcast's notification and email for each recipient (two executemany)."""
        stamp = v.ts(now)
        notifications: list[tuple[object, ...]] = []
        emails: list[tuple[object, ...]] = []
        for b in broadcasts:
            for user_id, to in b.recipients:
                notification = (v.uid(uuid4()), v.uid(user_id), b.title, b.content)
                notifications.append((*notification, b.cta_url, b.cta_label, stamp))
                email = (v.uid(uuid4()), to, b.email_subject, b.email_text, b.email_html)
                emails.append((*email, stamp, stamp))
        if not notifications:
            return 0

        def job(conn: Connection) -> None:
            conn.executemany(
                "INSERT INTO notifications (id, user_id, title, content, cta_url, cta_label,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                notifications,
            )
            conn.executemany(
                "INSERT INTO outbox (id, recipient, subject, text_body, html_body, status,"
                " attempts, created_at, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, 'PENDING', 0, ?, ?)",
                emails,
            )

        await self._run(job)
        return len(notifications)

    async def get(self, notification_id: UUID) -> InstantNotification | None:
        """The notification, or ``None``."""
        sql = f"{_NOTIFICATION_SELECT} WHERE id = ?"
        return await self._one(sql, (v.uid(notification_id),), NOTIFICATIONS.reader(v.CODEC))

    async def ack(
        self, notification_id: UUID, user_id: UUID, now: datetime
    ) -> InstantNotification | None:
        """Ack the user's notification unless it is acked; the row as stored afterwards."""
        sql = _NOTIFICATION_ACK
        params = (v.ts(now), v.uid(notification_id), v.uid(user_id))
        return await self._one(sql, params, NOTIFICATIONS.reader(v.CODEC))

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
        params: dict[str, object] = {"user_id": v.uid(user_id), "limit": max(limit, 0)}
        if unacked_only:
            where.append("acked_at IS NULL")
        if before is not None:
            where.append("(created_at, id) < (:before_at, :before_id)")
            params["before_at"] = v.ts(before[0])
            params["before_id"] = v.uid(before[1])
        sql = (
            f"{_NOTIFICATION_SELECT} WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC, id DESC LIMIT :limit"
        )
        return await self._all(sql, params, NOTIFICATIONS.reader(v.CODEC))

    async def ack_all(self, user_id: UUID, now: datetime) -> int:
        """Set ``acked_at = now`` on the user's unacked notifications; return how many."""
        sql = "UPDATE notifications SET acked_at = ? WHERE user_id = ? AND acked_at IS NULL"
        return await self._execute(sql, (v.ts(now), v.uid(user_id)))


_OUTBOX_SELECT = f"SELECT {OUTBOX.column_list} FROM outbox"  # noqa: S608 - constant names


class Outbox(_Repository):
    """Emails waiting for delivery."""

    async def add(self, message: OutboxMessage) -> None:
        """Store a new message."""
        await self._execute(OUTBOX.insert_sql(v.named), OUTBOX.dump(message, v.CODEC))

    async def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        """Store several new messages at once."""
        await self._execute_many(
            OUTBOX.insert_sql(v.named), [OUTBOX.dump(m, v.CODEC) for m in messages]
        )

    async def get(self, message_id: UUID) -> OutboxMessage | None:
        """The message, or ``None``."""
        sql = f"{_OUTBOX_SELECT} WHERE id = ?"
        return await self._one(sql, (v.uid(message_id),), OUTBOX.reader(v.CODEC))

    async def update(self, message: OutboxMessage) -> None:
        """Replace the stored message with the same id."""
        await self._execute(OUTBOX.update_sql(v.named), OUTBOX.dump(message, v.CODEC))

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
        lease = v.ts(lease_until)

        def job(conn: Connection) -> list[OutboxMessage]:
            rows = conn.execute(select, (v.ts(now), max(limit, 0))).fetchall()
            claimed = [
                attrs.evolve(OUTBOX.reader(v.CODEC)(row), next_attempt_at=lease_until)
                for row in rows
            ]
            conn.executemany(
                "UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
                [(lease, v.uid(m.id)) for m in claimed],
            )
            return claimed

        return await self._run(job)


# --- two-factor login and the audit log --------------------------------------------------

_TOTP_SELECT = f"SELECT {TOTP_CREDENTIALS.column_list} FROM totp_credentials"  # noqa: S608 - constant names
_CODES_SELECT = f"SELECT {TOTP_RECOVERY_CODES.column_list} FROM totp_recovery_codes"  # noqa: S608 - constant names
_AUDIT_SELECT = f"SELECT {AUDIT_LOG.column_list} FROM audit_log"  # noqa: S608 - constant names


class Totp(_Repository):
    """TOTP credentials and their recovery codes."""

    async def get(self, user_id: UUID) -> TotpCredential | None:
        """The user's credential (pending or confirmed), or ``None``."""
        sql = f"{_TOTP_SELECT} WHERE user_id = ?"
        return await self._one(sql, (v.uid(user_id),), TOTP_CREDENTIALS.reader(v.CODEC))

    async def put(self, credential: TotpCredential) -> None:
        """Store the user's credential, replacing any."""
        sql = TOTP_CREDENTIALS.insert_sql(v.named).replace("INSERT", "INSERT OR REPLACE", 1)
        await self._execute(sql, TOTP_CREDENTIALS.dump(credential, v.CODEC))

    async def use_step(self, user_id: UUID, step: int) -> bool:
        """Record ``step`` if it is newer than the last accepted one; whether it was."""
        sql = (
            "UPDATE totp_credentials SET last_step = :step WHERE user_id = :user_id "
            "AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < :step)"
        )
        return await self._execute(sql, {"step": step, "user_id": v.uid(user_id)}) > 0

    async def delete(self, user_id: UUID) -> bool:
        """Remove the credential and the recovery codes; whether there was a credential."""

        def job(conn: Connection) -> bool:
            conn.execute("DELETE FROM totp_recovery_codes WHERE user_id = ?", (v.uid(user_id),))
            gone = conn.execute("DELETE FROM totp_credentials WHERE user_id = ?", (v.uid(user_id),))
            return gone.rowcount > 0

        return await self._run(job)

    async def add_recovery_codes(self, codes: Sequence[TotpRecoveryCode]) -> None:
        """Store new recovery codes."""
        await self._execute_many(
            TOTP_RECOVERY_CODES.insert_sql(v.named),
            [TOTP_RECOVERY_CODES.dump(c, v.CODEC) for c in codes],
        )

    async def use_recovery_code(self, user_id: UUID, code_hash: str, now: datetime) -> bool:
        """Mark the user's unused code with this hash used; whether there was one."""
        sql = (
            "UPDATE totp_recovery_codes SET used_at = ? "
            "WHERE user_id = ? AND code_hash = ? AND used_at IS NULL"
        )
        return await self._execute(sql, (v.ts(now), v.uid(user_id), code_hash)) > 0

    async def list_recovery_codes(self, user_id: UUID) -> Sequence[TotpRecoveryCode]:
        """The user's recovery codes, used or not."""
        sql = f"{_CODES_SELECT} WHERE user_id = ? ORDER BY created_at, id"
        return await self._all(sql, (v.uid(user_id),), TOTP_RECOVERY_CODES.reader(v.CODEC))


class Audit(_Repository):
    """The append-only audit log (this class has no update or delete)."""

    async def add(self, entry: AuditEntry) -> None:
        """Append an entry."""
        await self._execute(AUDIT_LOG.insert_sql(v.named), AUDIT_LOG.dump(entry, v.CODEC))

    async def list(self, query: AuditQuery) -> Sequence[AuditEntry]:
        """Up to ``query.limit`` matching entries, newest first."""
        before_at, before_id = query.before if query.before else (None, None)
        sql = (
            f"{_AUDIT_SELECT} WHERE (:actor_id IS NULL OR actor_id = :actor_id) "
            "AND (:action IS NULL OR action = :action) "
            "AND (:target_id IS NULL OR target_id = :target_id) "
            "AND (:involving IS NULL OR actor_id = :involving OR target_id = :involving) "
            "AND (:from IS NULL OR at >= :from) AND (:to IS NULL OR at < :to) "
            "AND (:before_at IS NULL OR at < :before_at OR (at = :before_at AND id < :before_id)) "
            "ORDER BY at DESC, id DESC LIMIT :limit"
        )
        params: dict[str, object] = {
            "actor_id": v.uid_or_none(query.actor_id),
            "action": query.action.value if query.action else None,
            "target_id": v.uid_or_none(query.target_id),
            "involving": v.uid_or_none(query.involving),
            "from": v.ts_or_none(query.starts_from),
            "to": v.ts_or_none(query.starts_before),
            "before_at": v.ts_or_none(before_at),
            "before_id": v.uid_or_none(before_id),
            "limit": max(query.limit, 0),
        }
        return await self._all(sql, params, AUDIT_LOG.reader(v.CODEC))


_FEED_SELECT = f"SELECT {CALENDAR_FEEDS.column_list} FROM calendar_feeds"  # noqa: S608 - constant names


class CalendarFeeds(_Repository):
    """Personal calendar feeds (one row per user)."""

    async def get_by_token_hash(self, token_hash: str) -> CalendarFeed | None:
        """The feed whose token hashes to ``token_hash``, or ``None``."""
        sql = f"{_FEED_SELECT} WHERE token_hash = ?"
        return await self._one(sql, (token_hash,), CALENDAR_FEEDS.reader(v.CODEC))

    async def put(self, feed: CalendarFeed) -> None:
        """Store the user's feed, replacing any."""
        sql = CALENDAR_FEEDS.insert_sql(v.named) + (
            " ON CONFLICT (user_id) DO UPDATE SET"
            " token_hash = excluded.token_hash, created_at = excluded.created_at"
        )
        await self._execute(sql, CALENDAR_FEEDS.dump(feed, v.CODEC))

    async def delete(self, user_id: UUID) -> bool:
        """Remove the user's feed; whether there was one."""
        return (
            await self._execute("DELETE FROM calendar_feeds WHERE user_id = ?", (v.uid(user_id),))
            > 0
        )


_WEBHOOK_SELECT = f"SELECT {WEBHOOKS.column_list} FROM webhooks"  # noqa: S608 - constant names
_DELIVERY_SELECT = f"SELECT {WEBHOOK_DELIVERIES.column_list} FROM webhook_deliveries"  # noqa: S608 - constant names


class Webhooks(_Repository):
    """Webhooks and their deliveries."""

    async def add(self, webhook: Webhook) -> None:
        """Store a new webhook."""
        await self._execute(WEBHOOKS.insert_sql(v.named), WEBHOOKS.dump(webhook, v.CODEC))

    async def get(self, webhook_id: UUID) -> Webhook | None:
        """The webhook, or ``None``."""
        sql = f"{_WEBHOOK_SELECT} WHERE id = ?"
        return await self._one(sql, (v.uid(webhook_id),), WEBHOOKS.reader(v.CODEC))

    async def list(self, *, after: tuple[datetime, UUID] | None, limit: int) -> Sequence[Webhook]:
        """Up to ``limit`` webhooks in ``(created_at, id)`` order after ``after``."""
        read = WEBHOOKS.reader(v.CODEC)
        if after is None:
            sql = f"{_WEBHOOK_SELECT} ORDER BY created_at, id LIMIT ?"
            return await self._all(sql, (max(limit, 0),), read)
        sql = f"{_WEBHOOK_SELECT} WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?"
        return await self._all(sql, (v.ts(after[0]), v.uid(after[1]), max(limit, 0)), read)

    async def delete(self, webhook_id: UUID) -> bool:
        """Remove the webhook and its deliveries; whether there was one."""

        def job(conn: Connection) -> bool:
            key = (v.uid(webhook_id),)
            conn.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", key)
            return conn.execute("DELETE FROM webhooks WHERE id = ?", key).rowcount > 0

        return await self._run(job)

    async def list_subscribed(self, event_type: str) -> Sequence[Webhook]:
        """The webhooks not disabled that subscribe to ``event_type``."""
        sql = f"{_WEBHOOK_SELECT} WHERE disabled_at IS NULL ORDER BY created_at, id"
        found = await self._all(sql, (), WEBHOOKS.reader(v.CODEC))
        return [w for w in found if event_type in w.event_types]

    async def add_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> None:
        """Queue new deliveries."""
        await self._execute_many(
            WEBHOOK_DELIVERIES.insert_sql(v.named),
            [WEBHOOK_DELIVERIES.dump(d, v.CODEC) for d in deliveries],
        )

    async def list_deliveries(
        self, webhook_id: UUID, *, before: tuple[datetime, UUID] | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        """The webhook's deliveries, newest first."""
        read = WEBHOOK_DELIVERIES.reader(v.CODEC)
        if before is None:
            sql = (
                f"{_DELIVERY_SELECT} WHERE webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"
            )
            return await self._all(sql, (v.uid(webhook_id), max(limit, 0)), read)
        sql = (
            f"{_DELIVERY_SELECT} WHERE webhook_id = ? AND (created_at, id) < (?, ?) "
            "ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        params = (v.uid(webhook_id), v.ts(before[0]), v.uid(before[1]), max(limit, 0))
        return await self._all(sql, params, read)

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[DueDelivery]:
        """Claim due deliveries of webhooks not disabled, in the write transaction."""
        select = (
            f"SELECT {WEBHOOK_DELIVERIES.aliased('d')}, {WEBHOOKS.aliased('w')} "  # noqa: S608 - constant names
            "FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
            "WHERE d.status = 'PENDING' AND d.next_attempt_at <= ? AND w.disabled_at IS NULL "
            "ORDER BY d.next_attempt_at, d.id LIMIT ?"
        )
        lease = v.ts(lease_until)

        def job(conn: Connection) -> list[DueDelivery]:
            rows = conn.execute(select, (v.ts(now), max(limit, 0))).fetchall()
            claimed = [
                DueDelivery(
                    delivery=attrs.evolve(
                        WEBHOOK_DELIVERIES.load(row, v.CODEC, "d_"), next_attempt_at=lease_until
                    ),
                    webhook=WEBHOOKS.load(row, v.CODEC, "w_"),
                )
                for row in rows
            ]
            conn.executemany(
                "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?",
                [(lease, v.uid(c.delivery.id)) for c in claimed],
            )
            return claimed

        return await self._run(job)

    async def finish_attempt(self, delivery: WebhookDelivery, lease_until: datetime) -> bool:
        """Write an attempt's outcome if this worker's claim still holds."""
        row = WEBHOOK_DELIVERIES.dump(delivery, v.CODEC)
        sql = (
            "UPDATE webhook_deliveries SET status = :status, attempts = :attempts, "
            "next_attempt_at = :next_attempt_at, last_status_code = :last_status_code, "
            "last_error = :last_error, delivered_at = :delivered_at "
            "WHERE id = :id AND status = 'PENDING' AND next_attempt_at = :lease_until"
        )
        return await self._execute(sql, {**row, "lease_until": v.ts(lease_until)}) > 0

    async def mark_success(self, webhook_id: UUID) -> None:
        """Clear the webhook's ``failing_since``."""
        sql = "UPDATE webhooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL"
        await self._execute(sql, (v.uid(webhook_id),))

    async def mark_failure(self, webhook_id: UUID, now: datetime, disable_before: datetime) -> bool:
        """Record a failure; disable the webhook after long enough; whether this disabled it."""

        def job(conn: Connection) -> bool:
            key = v.uid(webhook_id)
            conn.execute(
                "UPDATE webhooks SET failing_since = ? WHERE id = ? AND failing_since IS NULL",
                (v.ts(now), key),
            )
            disabled = conn.execute(
                "UPDATE webhooks SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL "
                "AND failing_since <= ?",
                (v.ts(now), key, v.ts(disable_before)),
            )
            return disabled.rowcount > 0

        return await self._run(job)


class PersonalData(_Repository):
    """One person's rows across the tables."""

    async def list_sessions(self, user_id: UUID) -> Sequence[LoginSession]:
        """Every session of the user, newest first."""
        sql = f"{_SESSION_SELECT} WHERE user_id = ? ORDER BY created_at DESC, uid DESC"
        return await self._all(sql, (v.uid(user_id),), SESSIONS.reader(v.CODEC))

    async def list_recoveries(self, user_id: UUID) -> Sequence[IssuedLoginRecovery]:
        """Every recovery token of the user, newest first."""
        sql = (
            f"SELECT {RECOVERIES.column_list} FROM login_recoveries "  # noqa: S608 - constant names
            "WHERE user_id = ? ORDER BY created_at DESC, id DESC"
        )
        return await self._all(sql, (v.uid(user_id),), RECOVERIES.reader(v.CODEC))

    async def list_registrations(self, email: str) -> Sequence[IssuedRegistration]:
        """Every registration for this email, newest first."""
        sql = (
            f"SELECT {REGISTRATIONS.column_list} FROM registrations "  # noqa: S608 - constant names
            "WHERE email = ? ORDER BY created_at DESC, id DESC"
        )
        return await self._all(sql, (email,), REGISTRATIONS.reader(v.CODEC))

    async def list_notifications(self, user_id: UUID) -> Sequence[InstantNotification]:
        """Every notification of the user, newest first."""
        sql = f"{_NOTIFICATION_SELECT} WHERE user_id = ? ORDER BY created_at DESC, id DESC"
        return await self._all(sql, (v.uid(user_id),), NOTIFICATIONS.reader(v.CODEC))

    async def list_mail(self, email: str) -> Sequence[OutboxMessage]:
        """Every outbox message to this address, newest first."""
        sql = f"{_OUTBOX_SELECT} WHERE recipient = ? ORDER BY created_at DESC, id DESC"
        return await self._all(sql, (email,), OUTBOX.reader(v.CODEC))

    async def list_erasable(self, deleted_before: datetime, limit: int) -> Sequence[UUID]:
        """Ids of users deleted at or before ``deleted_before`` and not erased yet."""
        sql = (
            "SELECT id FROM users WHERE deleted_at IS NOT NULL AND deleted_at <= ? "
            "AND erased_at IS NULL ORDER BY deleted_at, id LIMIT ?"
        )
        return await self._all(
            sql, (v.ts(deleted_before), max(limit, 0)), lambda row: v.to_uuid(row[0])
        )

    async def delete_rows(self, user_id: UUID, email: str) -> int:
        """Delete the person's rows (see the port); return how many."""
        by_user = (
            "DELETE FROM login_sessions WHERE user_id = ?",
            "DELETE FROM login_recoveries WHERE user_id = ?",
            "DELETE FROM notifications WHERE user_id = ?",
            "DELETE FROM totp_recovery_codes WHERE user_id = ?",
            "DELETE FROM totp_credentials WHERE user_id = ?",
            "DELETE FROM calendar_feeds WHERE user_id = ?",
        )

        def job(conn: Connection) -> int:
            count = sum(conn.execute(sql, (v.uid(user_id),)).rowcount for sql in by_user)
            count += conn.execute("DELETE FROM registrations WHERE email = ?", (email,)).rowcount
            count += conn.execute("DELETE FROM outbox WHERE recipient = ?", (email,)).rowcount
            return count

        return await self._run(job)
