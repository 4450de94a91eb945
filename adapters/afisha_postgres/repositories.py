"""The repositories: plain SQL over one connection in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg.rows import DictRow

from afisha_core.domain import (
    Event,
    EventView,
    InstantNotification,
    IssuedLoginRecovery,
    IssuedRegistration,
    LoginSession,
    OutboxMessage,
    Participant,
    Participation,
    ParticipationStatus,
    User,
)
from afisha_core.ports import DueReminder, EventQuery, UserQuery
from afisha_postgres import rows
from afisha_postgres.errors import translate_errors

Connection = psycopg.AsyncConnection[DictRow]


def like_pattern(text: str) -> str:
    """A LIKE/ILIKE pattern matching ``text`` anywhere, with wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Repository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def _all(self, query: LiteralString, params: Any = None) -> list[DictRow]:
        with translate_errors():
            cursor = await self._conn.execute(query, params)
            return await cursor.fetchall()

    async def _one(self, query: LiteralString, params: Any = None) -> DictRow | None:
        with translate_errors():
            cursor = await self._conn.execute(query, params)
            return await cursor.fetchone()

    async def _run(self, query: LiteralString, params: Any = None) -> int:
        with translate_errors():
            cursor = await self._conn.execute(query, params)
            return cursor.rowcount


class PostgresUserRepository(_Repository):
    """Users in the ``users`` table."""

    async def get(self, user_id: UUID) -> User | None:
        """See :meth:`afisha_core.ports.UserRepository.get`."""
        row = await self._one(f"SELECT {rows.USER_COLUMNS} FROM users WHERE id = %s", (user_id,))
        return rows.user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        """See :meth:`afisha_core.ports.UserRepository.get_by_email`."""
        row = await self._one(
            f"SELECT {rows.USER_COLUMNS} FROM users WHERE email = %s AND deleted_at IS NULL",
            (email,),
        )
        return rows.user(row) if row else None

    async def get_by_username(self, username: str) -> User | None:
        """See :meth:`afisha_core.ports.UserRepository.get_by_username`."""
        row = await self._one(
            f"SELECT {rows.USER_COLUMNS} FROM users WHERE username = %s AND deleted_at IS NULL",
            (username,),
        )
        return rows.user(row) if row else None

    async def add(self, user: User) -> None:
        """See :meth:`afisha_core.ports.UserRepository.add`."""
        await self._run(
            """
            INSERT INTO users (id, email, username, full_name, password_hash, role,
                               is_system, created_at, deleted_at)
            VALUES (%(id)s, %(email)s, %(username)s, %(full_name)s, %(password_hash)s,
                    %(role)s, %(is_system)s, %(created_at)s, %(deleted_at)s)
            """,
            rows.user_params(user),
        )

    async def update(self, user: User) -> None:
        """See :meth:`afisha_core.ports.UserRepository.update`."""
        await self._run(
            """
            UPDATE users SET email = %(email)s, username = %(username)s,
                full_name = %(full_name)s, password_hash = %(password_hash)s, role = %(role)s,
                is_system = %(is_system)s, created_at = %(created_at)s,
                deleted_at = %(deleted_at)s
            WHERE id = %(id)s
            """,
            rows.user_params(user),
        )

    async def list(self, query: UserQuery) -> Sequence[User]:
        """See :meth:`afisha_core.ports.UserRepository.list`."""
        after_at, after_id = query.after if query.after else (None, None)
        found = await self._all(
            f"""
            SELECT {rows.USER_COLUMNS} FROM users
            WHERE deleted_at IS NULL
              AND (%(role)s::text IS NULL OR role = %(role)s)
              AND (%(pattern)s::text IS NULL OR email ILIKE %(pattern)s
                   OR username ILIKE %(pattern)s OR full_name ILIKE %(pattern)s)
              AND (%(after_at)s::timestamptz IS NULL
                   OR (created_at, id) > (%(after_at)s, %(after_id)s::uuid))
            ORDER BY created_at, id
            LIMIT %(limit)s
            """,
            {
                "role": query.role.value if query.role else None,
                "pattern": like_pattern(query.text) if query.text else None,
                "after_at": after_at,
                "after_id": after_id,
                "limit": query.limit,
            },
        )
        return [rows.user(r) for r in found]


class PostgresSessionRepository(_Repository):
    """Sessions in the ``login_sessions`` table."""

    _COLUMNS: LiteralString = (
        "uid, user_id, token_hash, user_agent, client_address, created_at, last_seen_at, "
        "expires_at, revoked_at"
    )

    async def add(self, session: LoginSession) -> None:
        """See :meth:`afisha_core.ports.SessionRepository.add`."""
        await self._run(
            """
            INSERT INTO login_sessions (uid, user_id, token_hash, user_agent, client_address,
                                        created_at, last_seen_at, expires_at, revoked_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            (
                session.uid,
                session.user_id,
                session.token_hash,
                session.user_agent,
                session.client_address,
                session.created_at,
                session.last_seen_at,
                session.expires_at,
                session.revoked_at,
            ),
        )

    async def get(self, uid: UUID) -> LoginSession | None:
        """See :meth:`afisha_core.ports.SessionRepository.get`."""
        row = await self._one(
            "SELECT " + self._COLUMNS + " FROM login_sessions WHERE uid = %s", (uid,)
        )
        return rows.session(row) if row else None

    async def get_by_token_hash(self, token_hash: str) -> LoginSession | None:
        """See :meth:`afisha_core.ports.SessionRepository.get_by_token_hash`."""
        row = await self._one(
            "SELECT " + self._COLUMNS + " FROM login_sessions WHERE token_hash = %s",
            (token_hash,),
        )
        return rows.session(row) if row else None

    async def update(self, session: LoginSession) -> None:
        """See :meth:`afisha_core.ports.SessionRepository.update`."""
        await self._run(
            """
            UPDATE login_sessions SET user_id = %s, token_hash = %s, user_agent = %s,
                client_address = %s, created_at = %s, last_seen_at = %s, expires_at = %s,
                revoked_at = %s
            WHERE uid = %s
            """,
            (
                session.user_id,
                session.token_hash,
                session.user_agent,
                session.client_address,
                session.created_at,
                session.last_seen_at,
                session.expires_at,
                session.revoked_at,
                session.uid,
            ),
        )

    async def list_active(self, user_id: UUID, now: datetime) -> Sequence[LoginSession]:
        """See :meth:`afisha_core.ports.SessionRepository.list_active`."""
        found = await self._all(
            "SELECT "
            + self._COLUMNS
            + """ FROM login_sessions
            WHERE user_id = %s AND revoked_at IS NULL AND expires_at > %s
            ORDER BY created_at DESC, uid DESC""",
            (user_id, now),
        )
        return [rows.session(r) for r in found]

    async def revoke_all(
        self, user_id: UUID, now: datetime, *, except_uid: UUID | None = None
    ) -> int:
        """See :meth:`afisha_core.ports.SessionRepository.revoke_all`."""
        return await self._run(
            """
            UPDATE login_sessions SET revoked_at = %(now)s
            WHERE user_id = %(user_id)s AND revoked_at IS NULL AND expires_at > %(now)s
              AND (%(except_uid)s::uuid IS NULL OR uid <> %(except_uid)s::uuid)
            """,
            {"now": now, "user_id": user_id, "except_uid": except_uid},
        )


class PostgresRegistrationRepository(_Repository):
    """Registrations in the ``registrations`` table."""

    async def add(self, registration: IssuedRegistration) -> None:
        """See :meth:`afisha_core.ports.RegistrationRepository.add`."""
        r = registration
        await self._run(
            """
            INSERT INTO registrations (id, token_hash, code_hash, email, username, full_name,
                password_hash, attempts, created_at, expires_at, confirmed_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            (
                r.id,
                r.token_hash,
                r.code_hash,
                r.email,
                r.username,
                r.full_name,
                r.password_hash,
                r.attempts,
                r.created_at,
                r.expires_at,
                r.confirmed_at,
            ),
        )

    async def get_by_token_hash(self, token_hash: str) -> IssuedRegistration | None:
        """See :meth:`afisha_core.ports.RegistrationRepository.get_by_token_hash` (locks)."""
        row = await self._one(
            "SELECT * FROM registrations WHERE token_hash = %s FOR UPDATE", (token_hash,)
        )
        return rows.registration(row) if row else None

    async def update(self, registration: IssuedRegistration) -> None:
        """See :meth:`afisha_core.ports.RegistrationRepository.update`."""
        await self._run(
            """
            UPDATE registrations SET token_hash = %s, code_hash = %s, email = %s,
                username = %s, full_name = %s, password_hash = %s, attempts = %s,
                created_at = %s, expires_at = %s, confirmed_at = %s
            WHERE id = %s
            """,
            (
                registration.token_hash,
                registration.code_hash,
                registration.email,
                registration.username,
                registration.full_name,
                registration.password_hash,
                registration.attempts,
                registration.created_at,
                registration.expires_at,
                registration.confirmed_at,
                registration.id,
            ),
        )


class PostgresRecoveryRepository(_Repository):
    """Recovery tokens in the ``login_recoveries`` table."""

    async def add(self, recovery: IssuedLoginRecovery) -> None:
        """See :meth:`afisha_core.ports.RecoveryRepository.add`."""
        r = recovery
        await self._run(
            """
            INSERT INTO login_recoveries (id, user_id, token_hash, created_at, expires_at, used_at)
            VALUES (%s, %s, %s, %s, %s, %s)
            """,
            (r.id, r.user_id, r.token_hash, r.created_at, r.expires_at, r.used_at),
        )

    async def get_by_token_hash(self, token_hash: str) -> IssuedLoginRecovery | None:
        """See :meth:`afisha_core.ports.RecoveryRepository.get_by_token_hash` (locks)."""
        row = await self._one(
            "SELECT * FROM login_recoveries WHERE token_hash = %s FOR UPDATE", (token_hash,)
        )
        return rows.recovery(row) if row else None

    async def update(self, recovery: IssuedLoginRecovery) -> None:
        """See :meth:`afisha_core.ports.RecoveryRepository.update`."""
        await self._run(
            """
            UPDATE login_recoveries SET user_id = %s, token_hash = %s, created_at = %s,
                expires_at = %s, used_at = %s
            WHERE id = %s
            """,
            (
                recovery.user_id,
                recovery.token_hash,
                recovery.created_at,
                recovery.expires_at,
                recovery.used_at,
                recovery.id,
            ),
        )


_VIEW_SELECT: LiteralString = (
    "SELECT e.*,"
    " (SELECT count(*) FROM participations p"
    "   WHERE p.event_id = e.id AND p.status = 'PARTICIPATING') AS participants_count,"
    " (SELECT count(*) FROM participations p"
    "   WHERE p.event_id = e.id AND p.status = 'WAITLISTED') AS waitlist_count,"
    " (SELECT p.status FROM participations p"
    "   WHERE p.event_id = e.id AND p.user_id = %(viewer)s::uuid) AS my_status"
    " FROM events e"
)


class PostgresEventRepository(_Repository):
    """Events in the ``events`` table; views count participations in the same query."""

    async def add(self, event: Event) -> None:
        """See :meth:`afisha_core.ports.EventRepository.add`."""
        await self._run(
            f"""
            INSERT INTO events ({rows.EVENT_COLUMNS})
            VALUES (%(id)s, %(name)s, %(short_description)s, %(description)s, %(starts_at)s,
                    %(ends_at)s, %(timezone)s, %(location)s, %(payment_info)s,
                    %(max_participants_count)s, %(image_key)s, %(created_by)s, %(created_at)s,
                    %(updated_at)s, %(rejected_at)s, %(rejection_reason)s)
            """,
            rows.event_params(event),
        )

    async def update(self, event: Event) -> None:
        """See :meth:`afisha_core.ports.EventRepository.update`."""
        await self._run(
            """
            UPDATE events SET name = %(name)s, short_description = %(short_description)s,
                description = %(description)s, starts_at = %(starts_at)s,
                ends_at = %(ends_at)s, timezone = %(timezone)s, location = %(location)s,
                payment_info = %(payment_info)s,
                max_participants_count = %(max_participants_count)s,
                image_key = %(image_key)s, created_by = %(created_by)s,
                created_at = %(created_at)s, updated_at = %(updated_at)s,
                rejected_at = %(rejected_at)s, rejection_reason = %(rejection_reason)s
            WHERE id = %(id)s
            """,
            rows.event_params(event),
        )

    async def get(self, event_id: UUID) -> Event | None:
        """See :meth:`afisha_core.ports.EventRepository.get`."""
        row = await self._one(f"SELECT {rows.EVENT_COLUMNS} FROM events WHERE id = %s", (event_id,))
        return rows.event(row) if row else None

    async def get_for_update(self, event_id: UUID) -> Event | None:
        """See :meth:`afisha_core.ports.EventRepository.get_for_update` (a row lock)."""
        row = await self._one(
            f"SELECT {rows.EVENT_COLUMNS} FROM events WHERE id = %s FOR UPDATE", (event_id,)
        )
        return rows.event(row) if row else None

    async def get_view(self, event_id: UUID, viewer_id: UUID | None) -> EventView | None:
        """See :meth:`afisha_core.ports.EventRepository.get_view`."""
        row = await self._one(
            _VIEW_SELECT + " WHERE e.id = %(id)s", {"viewer": viewer_id, "id": event_id}
        )
        return rows.event_view(row) if row else None

    async def list_views(
        self, query: EventQuery, now: datetime, viewer_id: UUID | None
    ) -> Sequence[EventView]:
        """See :meth:`afisha_core.ports.EventRepository.list_views`.

        The WHERE clause holds only the filters given, so every plan can use the
        ``(starts_at, id)`` index bounds. The lower time bound (``ends_at > lower``)
        also becomes ``starts_at > lower - longest event``: the same rows, but the
        index scan starts near ``lower`` instead of at the oldest event (the longest
        duration comes from ``events_span_idx`` in one index probe).
        """
        lower = query.starts_from
        if lower is None and not query.include_finished:
            lower = now
        params: dict[str, Any] = {"viewer": viewer_id, "limit": query.limit}
        where: list[LiteralString] = []
        if lower is not None:
            params["lower"] = lower
            where.append("e.ends_at > %(lower)s")
            # Clamped so that no stored event, however long, can push the bound out
            # of PostgreSQL's range (DatetimeFieldOverflow); a bound at year 1 is safe.
            where.append(
                "e.starts_at > %(lower)s - least(coalesce("
                "(SELECT max(s.ends_at - s.starts_at) FROM events s), interval '0'),"
                " %(lower)s - timestamptz '0001-01-01 00:00:00+00')"
            )
        if query.starts_before is not None:
            params["upper"] = query.starts_before
            where.append("e.starts_at < %(upper)s")
        if not query.include_rejected:
            where.append("e.rejected_at IS NULL")
        if query.text:
            params["pattern"] = like_pattern(query.text)
            where.append(
                "(e.name ILIKE %(pattern)s OR e.short_description ILIKE %(pattern)s"
                " OR e.description ILIKE %(pattern)s OR e.location ILIKE %(pattern)s)"
            )
        if query.participant_id is not None:
            params["participant"] = query.participant_id
            params["statuses"] = sorted(s.value for s in query.participant_statuses)
            where.append(
                "EXISTS (SELECT 1 FROM participations q WHERE q.event_id = e.id"
                " AND q.user_id = %(participant)s AND q.status = ANY(%(statuses)s::text[]))"
            )
        if query.after is not None:
            params["after_at"], params["after_id"] = query.after
            where.append("(e.starts_at, e.id) > (%(after_at)s, %(after_id)s)")
        clause: LiteralString = (" WHERE " + " AND ".join(where)) if where else ""
        found = await self._all(
            _VIEW_SELECT + clause + " ORDER BY e.starts_at, e.id LIMIT %(limit)s", params
        )
        return [rows.event_view(r) for r in found]


class PostgresParticipationRepository(_Repository):
    """Participations in the ``participations`` table."""

    async def get(self, event_id: UUID, user_id: UUID) -> Participation | None:
        """See :meth:`afisha_core.ports.ParticipationRepository.get`."""
        row = await self._one(
            f"SELECT {rows.PARTICIPATION_COLUMNS} FROM participations"
            " WHERE event_id = %s AND user_id = %s",
            (event_id, user_id),
        )
        return rows.participation(row) if row else None

    async def save(self, participation: Participation) -> None:
        """See :meth:`afisha_core.ports.ParticipationRepository.save`.

        A status change takes a new ``write_seq``, which orders waitlist ties.
        """
        p = participation
        await self._run(
            """
            INSERT INTO participations (event_id, user_id, status, created_at,
                                        status_changed_at, reminder_queued_at)
            VALUES (%(event_id)s, %(user_id)s, %(status)s, %(created_at)s,
                    %(status_changed_at)s, %(reminder_queued_at)s)
            ON CONFLICT (event_id, user_id) DO UPDATE SET
                status = EXCLUDED.status,
                created_at = EXCLUDED.created_at,
                status_changed_at = EXCLUDED.status_changed_at,
                reminder_queued_at = EXCLUDED.reminder_queued_at,
                write_seq = CASE WHEN participations.status = EXCLUDED.status
                                 THEN participations.write_seq
                                 ELSE nextval('participations_write_seq') END
            """,
            {
                "event_id": p.event_id,
                "user_id": p.user_id,
                "status": p.status.value,
                "created_at": p.created_at,
                "status_changed_at": p.status_changed_at,
                "reminder_queued_at": p.reminder_queued_at,
            },
        )

    async def count(self, event_id: UUID, status: ParticipationStatus) -> int:
        """See :meth:`afisha_core.ports.ParticipationRepository.count`."""
        row = await self._one(
            "SELECT count(*) AS n FROM participations WHERE event_id = %s AND status = %s",
            (event_id, status.value),
        )
        return int(row["n"]) if row else 0

    async def next_waitlisted(self, event_id: UUID) -> Participation | None:
        """See :meth:`afisha_core.ports.ParticipationRepository.next_waitlisted`."""
        row = await self._one(
            f"SELECT {rows.PARTICIPATION_COLUMNS} FROM participations"
            " WHERE event_id = %s AND status = 'WAITLISTED'"
            " ORDER BY status_changed_at, write_seq LIMIT 1",
            (event_id,),
        )
        return rows.participation(row) if row else None

    async def list_participants(
        self,
        event_id: UUID,
        *,
        status: ParticipationStatus | None,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> Sequence[Participant]:
        """See :meth:`afisha_core.ports.ParticipationRepository.list_participants`."""
        after_at, after_id = after if after else (None, None)
        found = await self._all(
            """
            SELECT p.event_id, p.user_id, p.status, p.created_at, p.status_changed_at,
                   p.reminder_queued_at,
                   u.id AS u_id, u.email AS u_email, u.username AS u_username,
                   u.full_name AS u_full_name, u.password_hash AS u_password_hash,
                   u.role AS u_role, u.is_system AS u_is_system,
                   u.created_at AS u_created_at, u.deleted_at AS u_deleted_at
            FROM participations p JOIN users u ON u.id = p.user_id
            WHERE p.event_id = %(event_id)s
              AND (%(status)s::text IS NULL OR p.status = %(status)s)
              AND (%(after_at)s::timestamptz IS NULL
                   OR (p.created_at, p.user_id) > (%(after_at)s, %(after_id)s::uuid))
            ORDER BY p.created_at, p.user_id
            LIMIT %(limit)s
            """,
            {
                "event_id": event_id,
                "status": status.value if status else None,
                "after_at": after_at,
                "after_id": after_id,
                "limit": limit,
            },
        )
        return [
            Participant(user=rows.user(r, "u_"), participation=rows.participation(r)) for r in found
        ]

    async def list_for_user(
        self, user_id: UUID, statuses: frozenset[ParticipationStatus]
    ) -> Sequence[Participation]:
        """See :meth:`afisha_core.ports.ParticipationRepository.list_for_user`."""
        found = await self._all(
            f"SELECT {rows.PARTICIPATION_COLUMNS} FROM participations"
            " WHERE user_id = %s AND status = ANY(%s::text[])"
            " ORDER BY created_at, event_id",
            (user_id, sorted(s.value for s in statuses)),
        )
        return [rows.participation(r) for r in found]

    async def clear_reminders(self, event_id: UUID) -> int:
        """See :meth:`afisha_core.ports.ParticipationRepository.clear_reminders`."""
        return await self._run(
            "UPDATE participations SET reminder_queued_at = NULL"
            " WHERE event_id = %s AND reminder_queued_at IS NOT NULL",
            (event_id,),
        )

    async def claim_due_reminders(
        self, now: datetime, horizon: datetime, limit: int
    ) -> Sequence[DueReminder]:
        """See :meth:`afisha_core.ports.ParticipationRepository.claim_due_reminders`.

        ``FOR UPDATE OF p SKIP LOCKED`` lets concurrent workers claim disjoint rows.
        """
        found = await self._all(
            """
            WITH due AS (
                SELECT p.event_id, p.user_id
                FROM participations p
                JOIN events e ON e.id = p.event_id
                JOIN users u ON u.id = p.user_id
                WHERE p.status = 'PARTICIPATING' AND p.reminder_queued_at IS NULL
                  AND e.rejected_at IS NULL AND e.starts_at > %(now)s
                  AND e.starts_at <= %(horizon)s AND u.deleted_at IS NULL
                ORDER BY e.starts_at, p.event_id, p.user_id
                LIMIT %(limit)s
                FOR UPDATE OF p SKIP LOCKED
            ), claimed AS (
                UPDATE participations p SET reminder_queued_at = %(now)s
                FROM due
                WHERE p.event_id = due.event_id AND p.user_id = due.user_id
                RETURNING p.event_id, p.user_id, p.status, p.created_at, p.status_changed_at,
                          p.reminder_queued_at
            )
            SELECT c.*,
                   e.id AS e_id, e.name AS e_name, e.short_description AS e_short_description,
                   e.description AS e_description, e.starts_at AS e_starts_at,
                   e.ends_at AS e_ends_at, e.timezone AS e_timezone, e.location AS e_location,
                   e.payment_info AS e_payment_info,
                   e.max_participants_count AS e_max_participants_count,
                   e.image_key AS e_image_key, e.created_by AS e_created_by,
                   e.created_at AS e_created_at, e.updated_at AS e_updated_at,
                   e.rejected_at AS e_rejected_at, e.rejection_reason AS e_rejection_reason,
                   u.id AS u_id, u.email AS u_email, u.username AS u_username,
                   u.full_name AS u_full_name, u.password_hash AS u_password_hash,
                   u.role AS u_role, u.is_system AS u_is_system,
                   u.created_at AS u_created_at, u.deleted_at AS u_deleted_at
            FROM claimed c
            JOIN events e ON e.id = c.event_id
            JOIN users u ON u.id = c.user_id
            ORDER BY e.starts_at, c.event_id, c.user_id
            """,
            {"now": now, "horizon": horizon, "limit": limit},
        )
        return [
            DueReminder(
                participation=rows.participation(r),
                event=rows.event(r, "e_"),
                user=rows.user(r, "u_"),
            )
            for r in found
        ]


class PostgresNotificationRepository(_Repository):
    """Notifications in the ``notifications`` table."""

    async def add(self, notification: InstantNotification) -> None:
        """See :meth:`afisha_core.ports.NotificationRepository.add`."""
        n = notification
        await self._run(
            """
            INSERT INTO notifications (id, user_id, title, content, cta_url, cta_label,
                                       created_at, acked_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
            """,
            (n.id, n.user_id, n.title, n.content, n.cta_url, n.cta_label, n.created_at, n.acked_at),
        )

    async def add_many(self, notifications: Sequence[InstantNotification]) -> None:
        """See :meth:`afisha_core.ports.NotificationRepository.add_many` (pipelined)."""
        if not notifications:
            return
        with translate_errors():
            async with self._conn.cursor() as cursor:
                await cursor.executemany(
                    """
                    INSERT INTO notifications (id, user_id, title, content, cta_url,
                                               cta_label, created_at, acked_at)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                    """,
                    [
                        (n.id, n.user_id, n.title, n.content, n.cta_url, n.cta_label,
                         n.created_at, n.acked_at)
                        for n in notifications
                    ],
                )  # fmt: skip

    async def get(self, notification_id: UUID) -> InstantNotification | None:
        """See :meth:`afisha_core.ports.NotificationRepository.get`."""
        row = await self._one("SELECT * FROM notifications WHERE id = %s", (notification_id,))
        return rows.notification(row) if row else None

    async def update(self, notification: InstantNotification) -> None:
        """See :meth:`afisha_core.ports.NotificationRepository.update`."""
        n = notification
        await self._run(
            """
            UPDATE notifications SET title = %s, content = %s, cta_url = %s, cta_label = %s,
                acked_at = %s
            WHERE id = %s
            """,
            (n.title, n.content, n.cta_url, n.cta_label, n.acked_at, n.id),
        )

    async def list(
        self,
        user_id: UUID,
        *,
        unacked_only: bool,
        before: tuple[datetime, UUID] | None,
        limit: int,
    ) -> Sequence[InstantNotification]:
        """See :meth:`afisha_core.ports.NotificationRepository.list`."""
        before_at, before_id = before if before else (None, None)
        found = await self._all(
            """
            SELECT * FROM notifications
            WHERE user_id = %(user_id)s
              AND (NOT %(unacked_only)s OR acked_at IS NULL)
              AND (%(before_at)s::timestamptz IS NULL
                   OR (created_at, id) < (%(before_at)s, %(before_id)s::uuid))
            ORDER BY created_at DESC, id DESC
            LIMIT %(limit)s
            """,
            {
                "user_id": user_id,
                "unacked_only": unacked_only,
                "before_at": before_at,
                "before_id": before_id,
                "limit": limit,
            },
        )
        return [rows.notification(r) for r in found]

    async def ack_all(self, user_id: UUID, now: datetime) -> int:
        """See :meth:`afisha_core.ports.NotificationRepository.ack_all`."""
        return await self._run(
            "UPDATE notifications SET acked_at = %s WHERE user_id = %s AND acked_at IS NULL",
            (now, user_id),
        )


_OUTBOX_INSERT: LiteralString = """
    INSERT INTO outbox (id, recipient, subject, text_body, html_body, status, attempts,
                        created_at, next_attempt_at, last_error, sent_at)
    VALUES (%(id)s, %(recipient)s, %(subject)s, %(text_body)s, %(html_body)s,
            %(status)s, %(attempts)s, %(created_at)s, %(next_attempt_at)s,
            %(last_error)s, %(sent_at)s)
"""


class PostgresOutboxRepository(_Repository):
    """Outgoing mail in the ``outbox`` table."""

    async def add(self, message: OutboxMessage) -> None:
        """See :meth:`afisha_core.ports.OutboxRepository.add`."""
        await self._run(_OUTBOX_INSERT, rows.outbox_params(message))

    async def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        """See :meth:`afisha_core.ports.OutboxRepository.add_many` (pipelined)."""
        if not messages:
            return
        with translate_errors():
            async with self._conn.cursor() as cursor:
                await cursor.executemany(_OUTBOX_INSERT, [rows.outbox_params(m) for m in messages])

    async def get(self, message_id: UUID) -> OutboxMessage | None:
        """See :meth:`afisha_core.ports.OutboxRepository.get`."""
        row = await self._one("SELECT * FROM outbox WHERE id = %s", (message_id,))
        return rows.outbox_message(row) if row else None

    async def update(self, message: OutboxMessage) -> None:
        """See :meth:`afisha_core.ports.OutboxRepository.update`."""
        await self._run(
            """
            UPDATE outbox SET recipient = %(recipient)s, subject = %(subject)s,
                text_body = %(text_body)s, html_body = %(html_body)s, status = %(status)s,
                attempts = %(attempts)s, next_attempt_at = %(next_attempt_at)s,
                last_error = %(last_error)s, sent_at = %(sent_at)s
            WHERE id = %(id)s
            """,
            rows.outbox_params(message),
        )

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[OutboxMessage]:
        """See :meth:`afisha_core.ports.OutboxRepository.claim_due` (``SKIP LOCKED``)."""
        found = await self._all(
            """
            WITH due AS (
                SELECT id, next_attempt_at AS due_at FROM outbox
                WHERE status = 'PENDING' AND next_attempt_at <= %(now)s
                ORDER BY next_attempt_at, id
                LIMIT %(limit)s
                FOR UPDATE SKIP LOCKED
            )
            UPDATE outbox o SET next_attempt_at = %(lease_until)s
            FROM due WHERE o.id = due.id
            RETURNING o.*, due.due_at
            """,
            {"now": now, "lease_until": lease_until, "limit": limit},
        )
        found.sort(key=lambda r: (r["due_at"], r["id"]))
        return [rows.outbox_message(r) for r in found]
