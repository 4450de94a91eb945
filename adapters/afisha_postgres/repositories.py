"""The repositories: plain SQL over one connection in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg.rows import DictRow

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
    Participant,
    Participation,
    ParticipationStatus,
    TotpCredential,
    TotpRecoveryCode,
    User,
    Webhook,
    WebhookDelivery,
)
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
from afisha_postgres import values as v
from afisha_postgres.errors import translate_errors

Connection = psycopg.AsyncConnection[DictRow]

# Whole-row statements, generated from the shared table mapping.
USERS_INSERT = USERS.insert_sql(v.named)
USERS_UPDATE = USERS.update_sql(v.named)
SESSIONS_INSERT = SESSIONS.insert_sql(v.named)
REGISTRATIONS_INSERT = REGISTRATIONS.insert_sql(v.named)
REGISTRATIONS_UPDATE = REGISTRATIONS.update_sql(v.named)
RECOVERIES_INSERT = RECOVERIES.insert_sql(v.named)
RECOVERIES_UPDATE = RECOVERIES.update_sql(v.named)
EVENTS_INSERT = EVENTS.insert_sql(v.named)
EVENTS_UPDATE = EVENTS.update_sql(v.named)
NOTIFICATIONS_INSERT = NOTIFICATIONS.insert_sql(v.named)
OUTBOX_INSERT = OUTBOX.insert_sql(v.named)
OUTBOX_UPDATE = OUTBOX.update_sql(v.named)
TOTP_INSERT = TOTP_CREDENTIALS.insert_sql(v.named)
TOTP_RECOVERY_CODES_INSERT = TOTP_RECOVERY_CODES.insert_sql(v.named)
AUDIT_INSERT = AUDIT_LOG.insert_sql(v.named)
CALENDAR_FEEDS_INSERT = CALENDAR_FEEDS.insert_sql(v.named)
WEBHOOKS_INSERT = WEBHOOKS.insert_sql(v.named)
DELIVERIES_INSERT = WEBHOOK_DELIVERIES.insert_sql(v.named)
# Columns of joined tables, kept apart by prefix (read back with ``load(row, ..., "u_")``).
_P_COLUMNS = ", ".join(f"p.{name}" for name in PARTICIPATIONS.names)
_U_ALIASED = USERS.aliased("u")
_S_ALIASED = SESSIONS.aliased("s")


# Events in (starts_at, id) order, each one's due rows in user order, until ``limit``:
# the nested loop stops early instead of sorting the whole backlog every batch. The
# rows are locked as they are read, so the update can find them again by ctid.
_CLAIM_REMINDERS: LiteralString = """
WITH due AS (
    SELECT p.row_id, p.event_id, p.user_id, e.starts_at
    FROM (
        SELECT id, starts_at FROM events
        WHERE rejected_at IS NULL AND starts_at > %(now)s AND starts_at <= %(horizon)s
        ORDER BY starts_at, id
    ) e
    CROSS JOIN LATERAL (
        SELECT p.ctid AS row_id, p.event_id, p.user_id
        FROM participations p
        WHERE p.event_id = e.id AND p.status = 'PARTICIPATING'
          AND p.reminder_queued_at IS NULL
          AND EXISTS (SELECT FROM users u WHERE u.id = p.user_id AND u.deleted_at IS NULL)
        ORDER BY p.user_id
        FOR UPDATE OF p SKIP LOCKED
    ) p
    LIMIT %(limit)s
), claimed AS (
    UPDATE participations p SET reminder_queued_at = %(now)s
    WHERE p.ctid = ANY (ARRAY(SELECT row_id FROM due))
    RETURNING p.event_id, p.user_id
)
SELECT c.event_id, c.user_id, u.email, u.locale
FROM claimed c
JOIN due d ON d.event_id = c.event_id AND d.user_id = c.user_id
JOIN users u ON u.id = c.user_id
ORDER BY d.starts_at, c.event_id, c.user_id
"""
_BROADCAST_TEXTS = (
    "title",
    "content",
    "cta_url",
    "cta_label",
    "email_subject",
    "email_text",
    "email_html",
)
_BROADCAST_INSERT: LiteralString = """
WITH b AS (
    SELECT * FROM unnest(
        %(title)s::text[], %(content)s::text[], %(cta_url)s::text[], %(cta_label)s::text[],
        %(email_subject)s::text[], %(email_text)s::text[], %(email_html)s::text[]
    ) WITH ORDINALITY AS b (title, content, cta_url, cta_label, email_subject, email_text,
                            email_html, ix)
), r AS (
    SELECT * FROM unnest(%(ix)s::bigint[], %(user_id)s::uuid[], %(email)s::text[])
        AS r (ix, user_id, email)
), notified AS (
    INSERT INTO notifications (id, user_id, title, content, cta_url, cta_label, created_at)
    SELECT gen_random_uuid(), r.user_id, b.title, b.content, b.cta_url, b.cta_label, %(now)s
    FROM r JOIN b USING (ix)
)
INSERT INTO outbox (id, recipient, subject, text_body, html_body, status, attempts,
                    created_at, next_attempt_at)
SELECT gen_random_uuid(), r.email, b.email_subject, b.email_text, b.email_html, 'PENDING', 0,
       %(now)s, %(now)s
FROM r JOIN b USING (ix)
"""


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


class Users(_Repository):
    """Users in the ``users`` table."""

    async def get(self, user_id: UUID) -> User | None:
        """See :meth:`afisha_core.ports.UserRepository.get`."""
        row = await self._one(f"SELECT {USERS.column_list} FROM users WHERE id = %s", (user_id,))
        return USERS.load(row, v.CODEC) if row else None

    async def get_for_update(self, user_id: UUID) -> User | None:
        """See :meth:`afisha_core.ports.UserRepository.get_for_update` (``FOR UPDATE``)."""
        row = await self._one(
            f"SELECT {USERS.column_list} FROM users WHERE id = %s FOR UPDATE", (user_id,)
        )
        return USERS.load(row, v.CODEC) if row else None

    async def get_by_email(self, email: str) -> User | None:
        """See :meth:`afisha_core.ports.UserRepository.get_by_email`."""
        row = await self._one(
            f"SELECT {USERS.column_list} FROM users WHERE email = %s AND deleted_at IS NULL",
            (email,),
        )
        return USERS.load(row, v.CODEC) if row else None

    async def get_by_username(self, username: str) -> User | None:
        """See :meth:`afisha_core.ports.UserRepository.get_by_username`."""
        row = await self._one(
            f"SELECT {USERS.column_list} FROM users WHERE username = %s AND deleted_at IS NULL",
            (username,),
        )
        return USERS.load(row, v.CODEC) if row else None

    async def add(self, user: User) -> None:
        """See :meth:`afisha_core.ports.UserRepository.add`."""
        await self._run(USERS_INSERT, USERS.dump(user, v.CODEC))

    async def update(self, user: User) -> None:
        """See :meth:`afisha_core.ports.UserRepository.update`."""
        await self._run(USERS_UPDATE, USERS.dump(user, v.CODEC))

    async def list(self, query: UserQuery) -> Sequence[User]:
        """See :meth:`afisha_core.ports.UserRepository.list`."""
        after_at, after_id = query.after if query.after else (None, None)
        found = await self._all(
            f"""
            SELECT {USERS.column_list} FROM users
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
        return [USERS.load(r, v.CODEC) for r in found]


class Sessions(_Repository):
    """Sessions in the ``login_sessions`` table."""

    async def add(self, session: LoginSession) -> None:
        """See :meth:`afisha_core.ports.SessionRepository.add`."""
        await self._run(SESSIONS_INSERT, SESSIONS.dump(session, v.CODEC))

    async def get(self, uid: UUID) -> LoginSession | None:
        """See :meth:`afisha_core.ports.SessionRepository.get`."""
        row = await self._one(
            f"SELECT {SESSIONS.column_list} FROM login_sessions WHERE uid = %s", (uid,)
        )
        return SESSIONS.load(row, v.CODEC) if row else None

    async def get_by_token_hash(self, token_hash: str) -> LoginSession | None:
        """See :meth:`afisha_core.ports.SessionRepository.get_by_token_hash`."""
        row = await self._one(
            f"SELECT {SESSIONS.column_list} FROM login_sessions WHERE token_hash = %s",
            (token_hash,),
        )
        return SESSIONS.load(row, v.CODEC) if row else None

    async def get_with_user(self, token_hash: str) -> tuple[LoginSession, User] | None:
        """See :meth:`afisha_core.ports.SessionRepository.get_with_user` (one join)."""
        row = await self._one(
            f"SELECT {_S_ALIASED}, {_U_ALIASED} FROM login_sessions s"
            " JOIN users u ON u.id = s.user_id WHERE s.token_hash = %s",
            (token_hash,),
        )
        if row is None:
            return None
        return SESSIONS.load(row, v.CODEC, "s_"), USERS.load(row, v.CODEC, "u_")

    async def touch(self, uid: UUID, now: datetime) -> bool:
        """See :meth:`afisha_core.ports.SessionRepository.touch`."""
        changed = await self._run(
            "UPDATE login_sessions SET last_seen_at = %(now)s"
            " WHERE uid = %(uid)s AND revoked_at IS NULL AND last_seen_at < %(now)s",
            {"now": now, "uid": uid},
        )
        return changed > 0

    async def revoke(self, uid: UUID, now: datetime) -> bool:
        """See :meth:`afisha_core.ports.SessionRepository.revoke`."""
        changed = await self._run(
            "UPDATE login_sessions SET revoked_at = %s WHERE uid = %s AND revoked_at IS NULL",
            (now, uid),
        )
        return changed > 0

    async def carry_over(self, uid: UUID, credential_version: int) -> bool:
        """See :meth:`afisha_core.ports.SessionRepository.carry_over`."""
        changed = await self._run(
            "UPDATE login_sessions SET credential_version = %s"
            " WHERE uid = %s AND revoked_at IS NULL",
            (credential_version, uid),
        )
        return changed > 0

    async def list_active(
        self,
        user_id: UUID,
        now: datetime,
        *,
        before: tuple[datetime, UUID] | None = None,
        limit: int | None = None,
    ) -> Sequence[LoginSession]:
        """See :meth:`afisha_core.ports.SessionRepository.list_active`."""
        before_at, before_uid = before if before else (None, None)
        found = await self._all(
            f"""SELECT {SESSIONS.column_list} FROM login_sessions
            WHERE user_id = %(user_id)s AND revoked_at IS NULL AND expires_at > %(now)s
              AND (%(before_at)s::timestamptz IS NULL
                   OR (created_at, uid) < (%(before_at)s, %(before_uid)s::uuid))
            ORDER BY created_at DESC, uid DESC
            LIMIT %(limit)s""",
            {
                "user_id": user_id,
                "now": now,
                "before_at": before_at,
                "before_uid": before_uid,
                "limit": limit,
            },
        )
        return [SESSIONS.load(r, v.CODEC) for r in found]

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


class Registrations(_Repository):
    """Registrations in the ``registrations`` table."""

    async def add(self, registration: IssuedRegistration) -> None:
        """See :meth:`afisha_core.ports.RegistrationRepository.add`."""
        await self._run(REGISTRATIONS_INSERT, REGISTRATIONS.dump(registration, v.CODEC))

    async def get_by_token_hash(self, token_hash: str) -> IssuedRegistration | None:
        """See :meth:`afisha_core.ports.RegistrationRepository.get_by_token_hash` (locks)."""
        row = await self._one(
            "SELECT * FROM registrations WHERE token_hash = %s FOR UPDATE", (token_hash,)
        )
        return REGISTRATIONS.load(row, v.CODEC) if row else None

    async def update(self, registration: IssuedRegistration) -> None:
        """See :meth:`afisha_core.ports.RegistrationRepository.update`."""
        await self._run(REGISTRATIONS_UPDATE, REGISTRATIONS.dump(registration, v.CODEC))


class Recoveries(_Repository):
    """Recovery tokens in the ``login_recoveries`` table."""

    async def add(self, recovery: IssuedLoginRecovery) -> None:
        """See :meth:`afisha_core.ports.RecoveryRepository.add`."""
        await self._run(RECOVERIES_INSERT, RECOVERIES.dump(recovery, v.CODEC))

    async def get_by_token_hash(self, token_hash: str) -> IssuedLoginRecovery | None:
        """See :meth:`afisha_core.ports.RecoveryRepository.get_by_token_hash` (locks)."""
        row = await self._one(
            "SELECT * FROM login_recoveries WHERE token_hash = %s FOR UPDATE", (token_hash,)
        )
        return RECOVERIES.load(row, v.CODEC) if row else None

    async def update(self, recovery: IssuedLoginRecovery) -> None:
        """See :meth:`afisha_core.ports.RecoveryRepository.update`."""
        await self._run(RECOVERIES_UPDATE, RECOVERIES.dump(recovery, v.CODEC))


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


class Events(_Repository):
    """Events in the ``events`` table; views count participations in the same query."""

    async def add(self, event: Event) -> None:
        """See :meth:`afisha_core.ports.EventRepository.add`."""
        await self._run(EVENTS_INSERT, EVENTS.dump(event, v.CODEC))

    async def update(self, event: Event) -> None:
        """See :meth:`afisha_core.ports.EventRepository.update`."""
        await self._run(EVENTS_UPDATE, EVENTS.dump(event, v.CODEC))

    async def get(self, event_id: UUID) -> Event | None:
        """See :meth:`afisha_core.ports.EventRepository.get`."""
        row = await self._one(f"SELECT {EVENTS.column_list} FROM events WHERE id = %s", (event_id,))
        return EVENTS.load(row, v.CODEC) if row else None

    async def get_for_update(self, event_id: UUID) -> Event | None:
        """See :meth:`afisha_core.ports.EventRepository.get_for_update` (a row lock)."""
        row = await self._one(
            f"SELECT {EVENTS.column_list} FROM events WHERE id = %s FOR UPDATE", (event_id,)
        )
        return EVENTS.load(row, v.CODEC) if row else None

    async def get_view(self, event_id: UUID, viewer_id: UUID | None) -> EventView | None:
        """See :meth:`afisha_core.ports.EventRepository.get_view`."""
        row = await self._one(
            _VIEW_SELECT + " WHERE e.id = %(id)s", {"viewer": viewer_id, "id": event_id}
        )
        return v.event_view(row) if row else None

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
        return [v.event_view(r) for r in found]


class Participations(_Repository):
    """Participations in the ``participations`` table."""

    async def get(self, event_id: UUID, user_id: UUID) -> Participation | None:
        """See :meth:`afisha_core.ports.ParticipationRepository.get`."""
        row = await self._one(
            f"SELECT {PARTICIPATIONS.column_list} FROM participations"
            " WHERE event_id = %s AND user_id = %s",
            (event_id, user_id),
        )
        return PARTICIPATIONS.load(row, v.CODEC) if row else None

    async def save(self, participation: Participation) -> None:
        """See :meth:`afisha_core.ports.ParticipationRepository.save`.

        A status change takes a new ``write_seq``, which orders waitlist ties. An
        existing row keeps its ``reminder_queued_at`` (claims do not lock the event).
        """
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
                write_seq = CASE WHEN participations.status = EXCLUDED.status
                                 THEN participations.write_seq
                                 ELSE nextval('participations_write_seq') END
            """,
            PARTICIPATIONS.dump(participation, v.CODEC),
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
            f"SELECT {PARTICIPATIONS.column_list} FROM participations"
            " WHERE event_id = %s AND status = 'WAITLISTED'"
            " ORDER BY status_changed_at, write_seq LIMIT 1",
            (event_id,),
        )
        return PARTICIPATIONS.load(row, v.CODEC) if row else None

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
            f"""
            SELECT {_P_COLUMNS}, {_U_ALIASED}
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
            Participant(
                user=USERS.load(r, v.CODEC, "u_"), participation=PARTICIPATIONS.load(r, v.CODEC)
            )
            for r in found
        ]

    async def list_for_user(
        self, user_id: UUID, statuses: frozenset[ParticipationStatus]
    ) -> Sequence[Participation]:
        """See :meth:`afisha_core.ports.ParticipationRepository.list_for_user`."""
        found = await self._all(
            f"SELECT {PARTICIPATIONS.column_list} FROM participations"
            " WHERE user_id = %s AND status = ANY(%s::text[])"
            " ORDER BY created_at, event_id",
            (user_id, sorted(s.value for s in statuses)),
        )
        return [PARTICIPATIONS.load(r, v.CODEC) for r in found]

    async def clear_reminders(self, event_id: UUID) -> int:
        """See :meth:`afisha_core.ports.ParticipationRepository.clear_reminders`."""
        return await self._run(
            "UPDATE participations SET reminder_queued_at = NULL"
            " WHERE event_id = %s AND reminder_queued_at IS NOT NULL",
            (event_id,),
        )

    async def claim_due_reminders(
        self, now: datetime, horizon: datetime, limit: int
    ) -> ReminderClaims:
        """See :meth:`afisha_core.ports.ParticipationRepository.claim_due_reminders`.

        One statement claims the batch (``FOR UPDATE OF p SKIP LOCKED`` lets concurrent
        workers claim disjoint rows) and returns who to remind; a second reads each
        of their events once. The claim walks the due events in order and stops at
        ``limit`` rows, so a batch costs the same however long the backlog is.
        """
        found = await self._all(_CLAIM_REMINDERS, {"now": now, "horizon": horizon, "limit": limit})
        if not found:
            return ReminderClaims()
        event_ids = list({r["event_id"]: None for r in found})
        events = await self._all(
            f"SELECT {EVENTS.column_list} FROM events WHERE id = ANY(%s)", (event_ids,)
        )
        return ReminderClaims(
            events={e.id: e for e in (EVENTS.load(r, v.CODEC) for r in events)},
            due=[
                DueReminder(
                    event_id=r["event_id"],
                    user_id=r["user_id"],
                    email=r["email"],
                    locale=r["locale"],
                )
                for r in found
            ],
        )


class Notifications(_Repository):
    """Notifications in the ``notifications`` table."""

    async def add_broadcasts(self, broadcasts: Sequence[Broadcast], now: datetime) -> int:
        """See :meth:`afisha_core.ports.NotificationRepository.add_broadcasts`.

        One statement for the whole call: each text travels once, each recipient as
        an index into the texts; PostgreSQL makes the ids (``gen_random_uuid``).
        """
        texts: dict[str, list[Any]] = {name: [] for name in _BROADCAST_TEXTS}
        index: list[int] = []
        user_ids: list[UUID] = []
        emails: list[str] = []
        for number, broadcast in enumerate(broadcasts, start=1):
            for name in _BROADCAST_TEXTS:
                texts[name].append(getattr(broadcast, name))
            for user_id, to in broadcast.recipients:
                index.append(number)
                user_ids.append(user_id)
                emails.append(to)
        if not index:
            return 0
        await self._run(
            _BROADCAST_INSERT,
            {**texts, "ix": index, "user_id": user_ids, "email": emails, "now": now},
        )
        return len(index)

    async def add(self, notification: InstantNotification) -> None:
        """See :meth:`afisha_core.ports.NotificationRepository.add`."""
        await self._run(NOTIFICATIONS_INSERT, NOTIFICATIONS.dump(notification, v.CODEC))

    async def add_many(self, notifications: Sequence[InstantNotification]) -> None:
        """See :meth:`afisha_core.ports.NotificationRepository.add_many` (pipelined)."""
        if not notifications:
            return
        with translate_errors():
            async with self._conn.cursor() as cursor:
                await cursor.executemany(
                    NOTIFICATIONS_INSERT, [NOTIFICATIONS.dump(n, v.CODEC) for n in notifications]
                )

    async def get(self, notification_id: UUID) -> InstantNotification | None:
        """See :meth:`afisha_core.ports.NotificationRepository.get`."""
        row = await self._one("SELECT * FROM notifications WHERE id = %s", (notification_id,))
        return NOTIFICATIONS.load(row, v.CODEC) if row else None

    async def ack(
        self, notification_id: UUID, user_id: UUID, now: datetime
    ) -> InstantNotification | None:
        """See :meth:`afisha_core.ports.NotificationRepository.ack` (the first ack is kept)."""
        row = await self._one(
            "UPDATE notifications SET acked_at = coalesce(acked_at, %s)"
            " WHERE id = %s AND user_id = %s RETURNING *",
            (now, notification_id, user_id),
        )
        return NOTIFICATIONS.load(row, v.CODEC) if row else None

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
        return [NOTIFICATIONS.load(r, v.CODEC) for r in found]

    async def ack_all(self, user_id: UUID, now: datetime) -> int:
        """See :meth:`afisha_core.ports.NotificationRepository.ack_all`."""
        return await self._run(
            "UPDATE notifications SET acked_at = %s WHERE user_id = %s AND acked_at IS NULL",
            (now, user_id),
        )


class Outbox(_Repository):
    """Outgoing mail in the ``outbox`` table."""

    async def add(self, message: OutboxMessage) -> None:
        """See :meth:`afisha_core.ports.OutboxRepository.add`."""
        await self._run(OUTBOX_INSERT, OUTBOX.dump(message, v.CODEC))

    async def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        """See :meth:`afisha_core.ports.OutboxRepository.add_many` (pipelined)."""
        if not messages:
            return
        with translate_errors():
            async with self._conn.cursor() as cursor:
                await cursor.executemany(OUTBOX_INSERT, [OUTBOX.dump(m, v.CODEC) for m in messages])

    async def get(self, message_id: UUID) -> OutboxMessage | None:
        """See :meth:`afisha_core.ports.OutboxRepository.get`."""
        row = await self._one("SELECT * FROM outbox WHERE id = %s", (message_id,))
        return OUTBOX.load(row, v.CODEC) if row else None

    async def update(self, message: OutboxMessage) -> None:
        """See :meth:`afisha_core.ports.OutboxRepository.update`."""
        await self._run(OUTBOX_UPDATE, OUTBOX.dump(message, v.CODEC))

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
        return [OUTBOX.load(r, v.CODEC) for r in found]


class Totp(_Repository):
    """TOTP credentials in ``totp_credentials``, recovery codes in ``totp_recovery_codes``."""

    async def get(self, user_id: UUID) -> TotpCredential | None:
        """See :meth:`afisha_core.ports.TotpRepository.get`."""
        row = await self._one(
            f"SELECT {TOTP_CREDENTIALS.column_list} FROM totp_credentials WHERE user_id = %s",
            (user_id,),
        )
        return TOTP_CREDENTIALS.load(row, v.CODEC) if row else None

    async def put(self, credential: TotpCredential) -> None:
        """See :meth:`afisha_core.ports.TotpRepository.put` (an upsert)."""
        await self._run(
            TOTP_INSERT + " ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret,"
            " created_at = EXCLUDED.created_at, confirmed_at = EXCLUDED.confirmed_at,"
            " last_step = EXCLUDED.last_step",
            TOTP_CREDENTIALS.dump(credential, v.CODEC),
        )

    async def use_step(self, user_id: UUID, step: int) -> bool:
        """See :meth:`afisha_core.ports.TotpRepository.use_step` (one conditional update)."""
        changed = await self._run(
            "UPDATE totp_credentials SET last_step = %(step)s"
            " WHERE user_id = %(user_id)s AND confirmed_at IS NOT NULL"
            " AND (last_step IS NULL OR last_step < %(step)s)",
            {"step": step, "user_id": user_id},
        )
        return changed > 0

    async def delete(self, user_id: UUID) -> bool:
        """See :meth:`afisha_core.ports.TotpRepository.delete`."""
        await self._run("DELETE FROM totp_recovery_codes WHERE user_id = %s", (user_id,))
        deleted = await self._run("DELETE FROM totp_credentials WHERE user_id = %s", (user_id,))
        return deleted > 0

    async def add_recovery_codes(self, codes: Sequence[TotpRecoveryCode]) -> None:
        """See :meth:`afisha_core.ports.TotpRepository.add_recovery_codes` (pipelined)."""
        if not codes:
            return
        with translate_errors():
            async with self._conn.cursor() as cursor:
                await cursor.executemany(
                    TOTP_RECOVERY_CODES_INSERT,
                    [TOTP_RECOVERY_CODES.dump(c, v.CODEC) for c in codes],
                )

    async def use_recovery_code(self, user_id: UUID, code_hash: str, now: datetime) -> bool:
        """See :meth:`afisha_core.ports.TotpRepository.use_recovery_code`."""
        changed = await self._run(
            "UPDATE totp_recovery_codes SET used_at = %s"
            " WHERE user_id = %s AND code_hash = %s AND used_at IS NULL",
            (now, user_id, code_hash),
        )
        return changed > 0

    async def list_recovery_codes(self, user_id: UUID) -> Sequence[TotpRecoveryCode]:
        """See :meth:`afisha_core.ports.TotpRepository.list_recovery_codes`."""
        found = await self._all(
            f"SELECT {TOTP_RECOVERY_CODES.column_list} FROM totp_recovery_codes"
            " WHERE user_id = %s ORDER BY created_at, id",
            (user_id,),
        )
        return [TOTP_RECOVERY_CODES.load(r, v.CODEC) for r in found]


class Audit(_Repository):
    """The append-only ``audit_log`` table (this class has no update or delete)."""

    async def add(self, entry: AuditEntry) -> None:
        """See :meth:`afisha_core.ports.AuditRepository.add`."""
        await self._run(AUDIT_INSERT, AUDIT_LOG.dump(entry, v.CODEC))

    async def list(self, query: AuditQuery) -> Sequence[AuditEntry]:
        """See :meth:`afisha_core.ports.AuditRepository.list`."""
        before_at, before_id = query.before if query.before else (None, None)
        found = await self._all(
            f"""
            SELECT {AUDIT_LOG.column_list} FROM audit_log
            WHERE (%(actor_id)s::uuid IS NULL OR actor_id = %(actor_id)s::uuid)
              AND (%(action)s::text IS NULL OR action = %(action)s::text)
              AND (%(target_id)s::uuid IS NULL OR target_id = %(target_id)s::uuid)
              AND (%(involving)s::uuid IS NULL OR actor_id = %(involving)s::uuid
                   OR target_id = %(involving)s::uuid)
              AND (%(from)s::timestamptz IS NULL OR at >= %(from)s::timestamptz)
              AND (%(to)s::timestamptz IS NULL OR at < %(to)s::timestamptz)
              AND (%(before_at)s::timestamptz IS NULL
                   OR (at, id) < (%(before_at)s::timestamptz, %(before_id)s::uuid))
            ORDER BY at DESC, id DESC
            LIMIT %(limit)s
            """,
            {
                "actor_id": query.actor_id,
                "action": query.action.value if query.action else None,
                "target_id": query.target_id,
                "involving": query.involving,
                "from": query.starts_from,
                "to": query.starts_before,
                "before_at": before_at,
                "before_id": before_id,
                "limit": query.limit,
            },
        )
        return [AUDIT_LOG.load(r, v.CODEC) for r in found]


class CalendarFeeds(_Repository):
    """Personal calendar feeds in ``calendar_feeds`` (one row per user)."""

    async def get_by_token_hash(self, token_hash: str) -> CalendarFeed | None:
        """See :meth:`afisha_core.ports.CalendarFeedRepository.get_by_token_hash`."""
        row = await self._one(
            f"SELECT {CALENDAR_FEEDS.column_list} FROM calendar_feeds WHERE token_hash = %s",
            (token_hash,),
        )
        return CALENDAR_FEEDS.load(row, v.CODEC) if row else None

    async def put(self, feed: CalendarFeed) -> None:
        """See :meth:`afisha_core.ports.CalendarFeedRepository.put` (an upsert)."""
        await self._run(
            CALENDAR_FEEDS_INSERT + " ON CONFLICT (user_id) DO UPDATE SET"
            " token_hash = EXCLUDED.token_hash, created_at = EXCLUDED.created_at",
            CALENDAR_FEEDS.dump(feed, v.CODEC),
        )

    async def delete(self, user_id: UUID) -> bool:
        """See :meth:`afisha_core.ports.CalendarFeedRepository.delete`."""
        return await self._run("DELETE FROM calendar_feeds WHERE user_id = %s", (user_id,)) > 0


class Webhooks(_Repository):
    """Webhooks in ``webhooks``, their deliveries in ``webhook_deliveries``."""

    async def add(self, webhook: Webhook) -> None:
        """See :meth:`afisha_core.ports.WebhookRepository.add`."""
        await self._run(WEBHOOKS_INSERT, WEBHOOKS.dump(webhook, v.CODEC))

    async def get(self, webhook_id: UUID) -> Webhook | None:
        """See :meth:`afisha_core.ports.WebhookRepository.get`."""
        row = await self._one(
            f"SELECT {WEBHOOKS.column_list} FROM webhooks WHERE id = %s", (webhook_id,)
        )
        return WEBHOOKS.load(row, v.CODEC) if row else None

    async def list(self, *, after: tuple[datetime, UUID] | None, limit: int) -> Sequence[Webhook]:
        """See :meth:`afisha_core.ports.WebhookRepository.list`."""
        if after is None:
            rows = await self._all(
                f"SELECT {WEBHOOKS.column_list} FROM webhooks ORDER BY created_at, id LIMIT %s",
                (limit,),
            )
        else:
            rows = await self._all(
                f"SELECT {WEBHOOKS.column_list} FROM webhooks WHERE (created_at, id) > (%s, %s)"
                " ORDER BY created_at, id LIMIT %s",
                (after[0], after[1], limit),
            )
        return [WEBHOOKS.load(r, v.CODEC) for r in rows]

    async def delete(self, webhook_id: UUID) -> bool:
        """See :meth:`afisha_core.ports.WebhookRepository.delete` (deliveries cascade)."""
        return await self._run("DELETE FROM webhooks WHERE id = %s", (webhook_id,)) > 0

    async def list_subscribed(self, event_type: str) -> Sequence[Webhook]:
        """See :meth:`afisha_core.ports.WebhookRepository.list_subscribed`."""
        rows = await self._all(
            f"SELECT {WEBHOOKS.column_list} FROM webhooks WHERE disabled_at IS NULL"
            " ORDER BY created_at, id"
        )
        found = [WEBHOOKS.load(r, v.CODEC) for r in rows]
        return [w for w in found if event_type in w.event_types]

    async def add_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> None:
        """See :meth:`afisha_core.ports.WebhookRepository.add_deliveries` (pipelined)."""
        if not deliveries:
            return
        with translate_errors():
            async with self._conn.cursor() as cursor:
                await cursor.executemany(
                    DELIVERIES_INSERT, [WEBHOOK_DELIVERIES.dump(d, v.CODEC) for d in deliveries]
                )

    async def list_deliveries(
        self, webhook_id: UUID, *, before: tuple[datetime, UUID] | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        """See :meth:`afisha_core.ports.WebhookRepository.list_deliveries`."""
        if before is None:
            rows = await self._all(
                f"SELECT {WEBHOOK_DELIVERIES.column_list} FROM webhook_deliveries"
                " WHERE webhook_id = %s ORDER BY created_at DESC, id DESC LIMIT %s",
                (webhook_id, limit),
            )
        else:
            rows = await self._all(
                f"SELECT {WEBHOOK_DELIVERIES.column_list} FROM webhook_deliveries"
                " WHERE webhook_id = %s AND (created_at, id) < (%s, %s)"
                " ORDER BY created_at DESC, id DESC LIMIT %s",
                (webhook_id, before[0], before[1], limit),
            )
        return [WEBHOOK_DELIVERIES.load(r, v.CODEC) for r in rows]

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[DueDelivery]:
        """See :meth:`afisha_core.ports.WebhookRepository.claim_due` (``SKIP LOCKED``)."""
        found = await self._all(
            """
            WITH due AS (
                SELECT d.id, d.next_attempt_at AS due_at FROM webhook_deliveries d
                JOIN webhooks w ON w.id = d.webhook_id
                WHERE d.status = 'PENDING' AND d.next_attempt_at <= %(now)s
                  AND w.disabled_at IS NULL
                ORDER BY d.next_attempt_at, d.id
                LIMIT %(limit)s
                FOR UPDATE OF d SKIP LOCKED
            )
            UPDATE webhook_deliveries o SET next_attempt_at = %(lease_until)s
            FROM due WHERE o.id = due.id
            RETURNING o.*, due.due_at
            """,
            {"now": now, "lease_until": lease_until, "limit": limit},
        )
        found.sort(key=lambda r: (r["due_at"], r["id"]))
        claimed = [WEBHOOK_DELIVERIES.load(r, v.CODEC) for r in found]
        if not claimed:
            return []
        rows = await self._all(
            f"SELECT {WEBHOOKS.column_list} FROM webhooks WHERE id = ANY(%s)",
            ([d.webhook_id for d in claimed],),
        )
        webhooks = {w.id: w for w in (WEBHOOKS.load(r, v.CODEC) for r in rows)}
        return [
            DueDelivery(delivery=d, webhook=webhooks[d.webhook_id])
            for d in claimed
            if d.webhook_id in webhooks
        ]

    async def finish_attempt(self, delivery: WebhookDelivery, lease_until: datetime) -> bool:
        """See :meth:`afisha_core.ports.WebhookRepository.finish_attempt`."""
        row = WEBHOOK_DELIVERIES.dump(delivery, v.CODEC)
        changed = await self._run(
            "UPDATE webhook_deliveries SET status = %(status)s, attempts = %(attempts)s,"
            " next_attempt_at = %(next_attempt_at)s, last_status_code = %(last_status_code)s,"
            " last_error = %(last_error)s, delivered_at = %(delivered_at)s"
            " WHERE id = %(id)s AND status = 'PENDING' AND next_attempt_at = %(lease_until)s",
            {**row, "lease_until": lease_until},
        )
        return changed > 0

    async def mark_success(self, webhook_id: UUID) -> None:
        """See :meth:`afisha_core.ports.WebhookRepository.mark_success`."""
        await self._run(
            "UPDATE webhooks SET failing_since = NULL WHERE id = %s AND failing_since IS NOT NULL",
            (webhook_id,),
        )

    async def mark_failure(self, webhook_id: UUID, now: datetime, disable_before: datetime) -> bool:
        """See :meth:`afisha_core.ports.WebhookRepository.mark_failure`."""
        await self._run(
            "UPDATE webhooks SET failing_since = %s WHERE id = %s AND failing_since IS NULL",
            (now, webhook_id),
        )
        disabled = await self._run(
            "UPDATE webhooks SET disabled_at = %s WHERE id = %s AND disabled_at IS NULL"
            " AND failing_since <= %s",
            (now, webhook_id, disable_before),
        )
        return disabled > 0


class PersonalData(_Repository):
    """One person's rows across the tables."""

    async def list_sessions(self, user_id: UUID) -> Sequence[LoginSession]:
        """See :meth:`afisha_core.ports.PersonalDataRepository.list_sessions`."""
        found = await self._all(
            f"SELECT {SESSIONS.column_list} FROM login_sessions WHERE user_id = %s"
            " ORDER BY created_at DESC, uid DESC",
            (user_id,),
        )
        return [SESSIONS.load(r, v.CODEC) for r in found]

    async def list_recoveries(self, user_id: UUID) -> Sequence[IssuedLoginRecovery]:
        """See :meth:`afisha_core.ports.PersonalDataRepository.list_recoveries`."""
        found = await self._all(
            f"SELECT {RECOVERIES.column_list} FROM login_recoveries WHERE user_id = %s"
            " ORDER BY created_at DESC, id DESC",
            (user_id,),
        )
        return [RECOVERIES.load(r, v.CODEC) for r in found]

    async def list_registrations(self, email: str) -> Sequence[IssuedRegistration]:
        """See :meth:`afisha_core.ports.PersonalDataRepository.list_registrations`."""
        found = await self._all(
            f"SELECT {REGISTRATIONS.column_list} FROM registrations WHERE email = %s"
            " ORDER BY created_at DESC, id DESC",
            (email,),
        )
        return [REGISTRATIONS.load(r, v.CODEC) for r in found]

    async def list_notifications(self, user_id: UUID) -> Sequence[InstantNotification]:
        """See :meth:`afisha_core.ports.PersonalDataRepository.list_notifications`."""
        found = await self._all(
            f"SELECT {NOTIFICATIONS.column_list} FROM notifications WHERE user_id = %s"
            " ORDER BY created_at DESC, id DESC",
            (user_id,),
        )
        return [NOTIFICATIONS.load(r, v.CODEC) for r in found]

    async def list_mail(self, email: str) -> Sequence[OutboxMessage]:
        """See :meth:`afisha_core.ports.PersonalDataRepository.list_mail`."""
        found = await self._all(
            f"SELECT {OUTBOX.column_list} FROM outbox WHERE recipient = %s"
            " ORDER BY created_at DESC, id DESC",
            (email,),
        )
        return [OUTBOX.load(r, v.CODEC) for r in found]

    async def list_erasable(self, deleted_before: datetime, limit: int) -> Sequence[UUID]:
        """See :meth:`afisha_core.ports.PersonalDataRepository.list_erasable`."""
        found = await self._all(
            "SELECT id FROM users WHERE deleted_at IS NOT NULL AND deleted_at <= %s"
            " AND erased_at IS NULL ORDER BY deleted_at, id LIMIT %s",
            (deleted_before, limit),
        )
        return [r["id"] for r in found]

    async def delete_rows(self, user_id: UUID, email: str) -> int:
        """See :meth:`afisha_core.ports.PersonalDataRepository.delete_rows`."""
        count = 0
        by_user: tuple[LiteralString, ...] = (
            "DELETE FROM login_sessions WHERE user_id = %s",
            "DELETE FROM login_recoveries WHERE user_id = %s",
            "DELETE FROM notifications WHERE user_id = %s",
            "DELETE FROM totp_recovery_codes WHERE user_id = %s",
            "DELETE FROM totp_credentials WHERE user_id = %s",
            "DELETE FROM calendar_feeds WHERE user_id = %s",
        )
        for statement in by_user:
            count += await self._run(statement, (user_id,))
        count += await self._run("DELETE FROM registrations WHERE email = %s", (email,))
        count += await self._run("DELETE FROM outbox WHERE recipient = %s", (email,))
        return count
