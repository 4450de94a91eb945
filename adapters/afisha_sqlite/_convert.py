"""Values to SQLite and back: datetimes, uuids, and rows to domain objects.

Datetimes are stored as fixed-width UTC text (``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``)
so that text order is time order; uuids as canonical lower-case text, whose order is
the order of :class:`uuid.UUID`; booleans as 0 and 1.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from uuid import UUID

from afisha_core.domain import (
    Email,
    Event,
    InstantNotification,
    IssuedLoginRecovery,
    IssuedRegistration,
    LoginSession,
    OutboxMessage,
    OutboxStatus,
    Participation,
    ParticipationStatus,
    Role,
    User,
)

Row = sqlite3.Row
"""A result row, read by column name."""


def ts(value: datetime) -> str:
    """The stored form of an aware datetime: fixed-width UTC text."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got {value!r}")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def ts_or_none(value: datetime | None) -> str | None:
    """:func:`ts`, passing ``None`` through."""
    return None if value is None else ts(value)


def dt(value: str) -> datetime:
    """The aware UTC datetime of a stored timestamp."""
    return datetime.fromisoformat(value).astimezone(UTC)


def dt_or_none(value: str | None) -> datetime | None:
    """:func:`dt`, passing ``None`` through."""
    return None if value is None else dt(value)


def uid(value: UUID) -> str:
    """The stored form of a uuid: canonical lower-case text."""
    return str(value)


def uid_or_none(value: UUID | None) -> str | None:
    """:func:`uid`, passing ``None`` through."""
    return None if value is None else str(value)


def to_uuid(value: str) -> UUID:
    """The uuid of a stored id."""
    return UUID(value)


def to_uuid_or_none(value: str | None) -> UUID | None:
    """:func:`to_uuid`, passing ``None`` through."""
    return None if value is None else UUID(value)


def casefold(value: object) -> str | None:
    """Python's ``str.casefold`` for SQL (SQLite's own folding covers ASCII only)."""
    return value.casefold() if isinstance(value, str) else None


# --- rows to domain objects -----------------------------------------------------------

USER_COLUMNS = (
    "id, email, username, full_name, password_hash, role, is_system, created_at, deleted_at, "
    "credential_version"
)


def user_from_row(row: Row, prefix: str = "") -> User:
    """The user in ``row`` (columns of :data:`USER_COLUMNS`, optionally prefixed)."""
    return User(
        id=to_uuid(row[prefix + "id"]),
        email=row[prefix + "email"],
        username=row[prefix + "username"],
        full_name=row[prefix + "full_name"],
        password_hash=row[prefix + "password_hash"],
        role=Role(row[prefix + "role"]),
        is_system=bool(row[prefix + "is_system"]),
        created_at=dt(row[prefix + "created_at"]),
        deleted_at=dt_or_none(row[prefix + "deleted_at"]),
        credential_version=row[prefix + "credential_version"],
    )


def user_params(user: User) -> dict[str, object]:
    """The named parameters of a users row."""
    return {
        "id": uid(user.id),
        "email": user.email,
        "username": user.username,
        "full_name": user.full_name,
        "password_hash": user.password_hash,
        "role": user.role.value,
        "is_system": int(user.is_system),
        "created_at": ts(user.created_at),
        "deleted_at": ts_or_none(user.deleted_at),
        "credential_version": user.credential_version,
    }


SESSION_COLUMNS = (
    "uid, user_id, token_hash, user_agent, client_address, created_at, last_seen_at, "
    "expires_at, revoked_at, credential_version"
)


def session_from_row(row: Row) -> LoginSession:
    """The session in ``row``."""
    return LoginSession(
        uid=to_uuid(row["uid"]),
        user_id=to_uuid(row["user_id"]),
        token_hash=row["token_hash"],
        user_agent=row["user_agent"],
        client_address=row["client_address"],
        created_at=dt(row["created_at"]),
        last_seen_at=dt(row["last_seen_at"]),
        expires_at=dt(row["expires_at"]),
        revoked_at=dt_or_none(row["revoked_at"]),
        credential_version=row["credential_version"],
    )


def session_params(session: LoginSession) -> dict[str, object]:
    """The named parameters of a login_sessions row."""
    return {
        "uid": uid(session.uid),
        "user_id": uid(session.user_id),
        "token_hash": session.token_hash,
        "user_agent": session.user_agent,
        "client_address": session.client_address,
        "created_at": ts(session.created_at),
        "last_seen_at": ts(session.last_seen_at),
        "expires_at": ts(session.expires_at),
        "revoked_at": ts_or_none(session.revoked_at),
        "credential_version": session.credential_version,
    }


REGISTRATION_COLUMNS = (
    "id, token_hash, code_hash, email, username, full_name, password_hash, attempts, "
    "created_at, expires_at, confirmed_at"
)


def registration_from_row(row: Row) -> IssuedRegistration:
    """The registration in ``row``."""
    return IssuedRegistration(
        id=to_uuid(row["id"]),
        token_hash=row["token_hash"],
        code_hash=row["code_hash"],
        email=row["email"],
        username=row["username"],
        full_name=row["full_name"],
        password_hash=row["password_hash"],
        attempts=int(row["attempts"]),
        created_at=dt(row["created_at"]),
        expires_at=dt(row["expires_at"]),
        confirmed_at=dt_or_none(row["confirmed_at"]),
    )


def registration_params(registration: IssuedRegistration) -> dict[str, object]:
    """The named parameters of a registrations row."""
    return {
        "id": uid(registration.id),
        "token_hash": registration.token_hash,
        "code_hash": registration.code_hash,
        "email": registration.email,
        "username": registration.username,
        "full_name": registration.full_name,
        "password_hash": registration.password_hash,
        "attempts": registration.attempts,
        "created_at": ts(registration.created_at),
        "expires_at": ts(registration.expires_at),
        "confirmed_at": ts_or_none(registration.confirmed_at),
    }


RECOVERY_COLUMNS = "id, user_id, token_hash, created_at, expires_at, used_at, credential_version"


def recovery_from_row(row: Row) -> IssuedLoginRecovery:
    """The recovery token in ``row``."""
    return IssuedLoginRecovery(
        id=to_uuid(row["id"]),
        user_id=to_uuid(row["user_id"]),
        token_hash=row["token_hash"],
        created_at=dt(row["created_at"]),
        expires_at=dt(row["expires_at"]),
        used_at=dt_or_none(row["used_at"]),
        credential_version=row["credential_version"],
    )


def recovery_params(recovery: IssuedLoginRecovery) -> dict[str, object]:
    """The named parameters of a login_recoveries row."""
    return {
        "id": uid(recovery.id),
        "user_id": uid(recovery.user_id),
        "token_hash": recovery.token_hash,
        "created_at": ts(recovery.created_at),
        "expires_at": ts(recovery.expires_at),
        "used_at": ts_or_none(recovery.used_at),
        "credential_version": recovery.credential_version,
    }


EVENT_COLUMNS = (
    "id, name, short_description, description, starts_at, ends_at, timezone, location, "
    "payment_info, max_participants_count, image_key, created_by, created_at, updated_at, "
    "rejected_at, rejection_reason"
)


def event_from_row(row: Row, prefix: str = "") -> Event:
    """The event in ``row`` (columns of :data:`EVENT_COLUMNS`, optionally prefixed)."""
    capacity = row[prefix + "max_participants_count"]
    return Event(
        id=to_uuid(row[prefix + "id"]),
        name=row[prefix + "name"],
        short_description=row[prefix + "short_description"],
        description=row[prefix + "description"],
        starts_at=dt(row[prefix + "starts_at"]),
        ends_at=dt(row[prefix + "ends_at"]),
        timezone=row[prefix + "timezone"],
        location=row[prefix + "location"],
        payment_info=row[prefix + "payment_info"],
        max_participants_count=None if capacity is None else int(capacity),
        image_key=row[prefix + "image_key"],
        created_by=to_uuid_or_none(row[prefix + "created_by"]),
        created_at=dt(row[prefix + "created_at"]),
        updated_at=dt(row[prefix + "updated_at"]),
        rejected_at=dt_or_none(row[prefix + "rejected_at"]),
        rejection_reason=row[prefix + "rejection_reason"],
    )


def event_params(event: Event) -> dict[str, object]:
    """The named parameters of an events row."""
    return {
        "id": uid(event.id),
        "name": event.name,
        "short_description": event.short_description,
        "description": event.description,
        "starts_at": ts(event.starts_at),
        "ends_at": ts(event.ends_at),
        "timezone": event.timezone,
        "location": event.location,
        "payment_info": event.payment_info,
        "max_participants_count": event.max_participants_count,
        "image_key": event.image_key,
        "created_by": uid_or_none(event.created_by),
        "created_at": ts(event.created_at),
        "updated_at": ts(event.updated_at),
        "rejected_at": ts_or_none(event.rejected_at),
        "rejection_reason": event.rejection_reason,
    }


PARTICIPATION_COLUMNS = (
    "event_id, user_id, status, created_at, status_changed_at, reminder_queued_at"
)


def participation_from_row(row: Row, prefix: str = "") -> Participation:
    """The participation in ``row`` (optionally prefixed columns)."""
    return Participation(
        event_id=to_uuid(row[prefix + "event_id"]),
        user_id=to_uuid(row[prefix + "user_id"]),
        status=ParticipationStatus(row[prefix + "status"]),
        created_at=dt(row[prefix + "created_at"]),
        status_changed_at=dt(row[prefix + "status_changed_at"]),
        reminder_queued_at=dt_or_none(row[prefix + "reminder_queued_at"]),
    )


NOTIFICATION_COLUMNS = "id, user_id, title, content, cta_url, cta_label, created_at, acked_at"


def notification_from_row(row: Row) -> InstantNotification:
    """The notification in ``row``."""
    return InstantNotification(
        id=to_uuid(row["id"]),
        user_id=to_uuid(row["user_id"]),
        title=row["title"],
        content=row["content"],
        cta_url=row["cta_url"],
        cta_label=row["cta_label"],
        created_at=dt(row["created_at"]),
        acked_at=dt_or_none(row["acked_at"]),
    )


def notification_params(notification: InstantNotification) -> dict[str, object]:
    """The named parameters of a notifications row."""
    return {
        "id": uid(notification.id),
        "user_id": uid(notification.user_id),
        "title": notification.title,
        "content": notification.content,
        "cta_url": notification.cta_url,
        "cta_label": notification.cta_label,
        "created_at": ts(notification.created_at),
        "acked_at": ts_or_none(notification.acked_at),
    }


OUTBOX_COLUMNS = (
    "id, recipient, subject, text_body, html_body, status, attempts, created_at, "
    "next_attempt_at, last_error, sent_at"
)


def outbox_from_row(row: Row) -> OutboxMessage:
    """The outbox message in ``row``."""
    return OutboxMessage(
        id=to_uuid(row["id"]),
        email=Email(
            to=row["recipient"],
            subject=row["subject"],
            text=row["text_body"],
            html=row["html_body"],
        ),
        status=OutboxStatus(row["status"]),
        attempts=int(row["attempts"]),
        created_at=dt(row["created_at"]),
        next_attempt_at=dt(row["next_attempt_at"]),
        last_error=row["last_error"],
        sent_at=dt_or_none(row["sent_at"]),
    )


def outbox_params(message: OutboxMessage) -> dict[str, object]:
    """The named parameters of an outbox row."""
    return {
        "id": uid(message.id),
        "recipient": message.email.to,
        "subject": message.email.subject,
        "text_body": message.email.text,
        "html_body": message.email.html,
        "status": message.status.value,
        "attempts": message.attempts,
        "created_at": ts(message.created_at),
        "next_attempt_at": ts(message.next_attempt_at),
        "last_error": message.last_error,
        "sent_at": ts_or_none(message.sent_at),
    }
