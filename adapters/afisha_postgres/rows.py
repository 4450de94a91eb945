"""Typed mapping between table rows and domain objects."""

from __future__ import annotations

from typing import Any

from afisha_core.domain import (
    Email,
    Event,
    EventView,
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

Row = dict[str, Any]

USER_COLUMNS = (
    "id, email, username, full_name, password_hash, role, is_system, created_at, deleted_at, "
    "credential_version"
)
EVENT_COLUMNS = (
    "id, name, short_description, description, starts_at, ends_at, timezone, location, "
    "payment_info, max_participants_count, image_key, created_by, created_at, updated_at, "
    "rejected_at, rejection_reason"
)
PARTICIPATION_COLUMNS = (
    "event_id, user_id, status, created_at, status_changed_at, reminder_queued_at"
)


def user(row: Row, prefix: str = "") -> User:
    """A :class:`User` from a row (columns optionally prefixed, e.g. ``u_id``)."""
    return User(
        id=row[prefix + "id"],
        email=row[prefix + "email"],
        username=row[prefix + "username"],
        full_name=row[prefix + "full_name"],
        password_hash=row[prefix + "password_hash"],
        role=Role(row[prefix + "role"]),
        is_system=bool(row[prefix + "is_system"]),
        created_at=row[prefix + "created_at"],
        deleted_at=row[prefix + "deleted_at"],
        credential_version=row[prefix + "credential_version"],
    )


def user_params(u: User) -> Row:
    """Query parameters for a :class:`User`."""
    return {
        "id": u.id,
        "email": u.email,
        "username": u.username,
        "full_name": u.full_name,
        "password_hash": u.password_hash,
        "role": u.role.value,
        "is_system": u.is_system,
        "created_at": u.created_at,
        "deleted_at": u.deleted_at,
        "credential_version": u.credential_version,
    }


def session(row: Row) -> LoginSession:
    """A :class:`LoginSession` from a row."""
    return LoginSession(
        uid=row["uid"],
        user_id=row["user_id"],
        token_hash=row["token_hash"],
        user_agent=row["user_agent"],
        client_address=row["client_address"],
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        credential_version=row["credential_version"],
    )


def registration(row: Row) -> IssuedRegistration:
    """An :class:`IssuedRegistration` from a row."""
    return IssuedRegistration(
        id=row["id"],
        token_hash=row["token_hash"],
        code_hash=row["code_hash"],
        email=row["email"],
        username=row["username"],
        full_name=row["full_name"],
        password_hash=row["password_hash"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        confirmed_at=row["confirmed_at"],
    )


def recovery(row: Row) -> IssuedLoginRecovery:
    """An :class:`IssuedLoginRecovery` from a row."""
    return IssuedLoginRecovery(
        id=row["id"],
        user_id=row["user_id"],
        token_hash=row["token_hash"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
        credential_version=row["credential_version"],
    )


def event(row: Row, prefix: str = "") -> Event:
    """An :class:`Event` from a row (columns optionally prefixed, e.g. ``e_id``)."""
    return Event(
        id=row[prefix + "id"],
        name=row[prefix + "name"],
        short_description=row[prefix + "short_description"],
        description=row[prefix + "description"],
        starts_at=row[prefix + "starts_at"],
        ends_at=row[prefix + "ends_at"],
        timezone=row[prefix + "timezone"],
        location=row[prefix + "location"],
        payment_info=row[prefix + "payment_info"],
        max_participants_count=row[prefix + "max_participants_count"],
        image_key=row[prefix + "image_key"],
        created_by=row[prefix + "created_by"],
        created_at=row[prefix + "created_at"],
        updated_at=row[prefix + "updated_at"],
        rejected_at=row[prefix + "rejected_at"],
        rejection_reason=row[prefix + "rejection_reason"],
    )


def event_params(e: Event) -> Row:
    """Query parameters for an :class:`Event`."""
    return {
        "id": e.id,
        "name": e.name,
        "short_description": e.short_description,
        "description": e.description,
        "starts_at": e.starts_at,
        "ends_at": e.ends_at,
        "timezone": e.timezone,
        "location": e.location,
        "payment_info": e.payment_info,
        "max_participants_count": e.max_participants_count,
        "image_key": e.image_key,
        "created_by": e.created_by,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
        "rejected_at": e.rejected_at,
        "rejection_reason": e.rejection_reason,
    }


def event_view(row: Row) -> EventView:
    """An :class:`EventView` from an event row with its counts and the viewer's status.

    The row carries ``participants_count``, ``waitlist_count`` and ``my_status``.
    """
    return EventView(
        event=event(row),
        participants_count=row["participants_count"],
        waitlist_count=row["waitlist_count"],
        my_status=ParticipationStatus(row["my_status"]) if row["my_status"] else None,
    )


def participation(row: Row, prefix: str = "") -> Participation:
    """A :class:`Participation` from a row (columns optionally prefixed)."""
    return Participation(
        event_id=row[prefix + "event_id"],
        user_id=row[prefix + "user_id"],
        status=ParticipationStatus(row[prefix + "status"]),
        created_at=row[prefix + "created_at"],
        status_changed_at=row[prefix + "status_changed_at"],
        reminder_queued_at=row[prefix + "reminder_queued_at"],
    )


def notification(row: Row) -> InstantNotification:
    """An :class:`InstantNotification` from a row."""
    return InstantNotification(
        id=row["id"],
        user_id=row["user_id"],
        title=row["title"],
        content=row["content"],
        cta_url=row["cta_url"],
        cta_label=row["cta_label"],
        created_at=row["created_at"],
        acked_at=row["acked_at"],
    )


def outbox_message(row: Row) -> OutboxMessage:
    """An :class:`OutboxMessage` from a row."""
    return OutboxMessage(
        id=row["id"],
        email=Email(
            to=row["recipient"],
            subject=row["subject"],
            text=row["text_body"],
            html=row["html_body"],
        ),
        status=OutboxStatus(row["status"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        sent_at=row["sent_at"],
    )


def outbox_params(m: OutboxMessage) -> Row:
    """Query parameters for an :class:`OutboxMessage`."""
    return {
        "id": m.id,
        "recipient": m.email.to,
        "subject": m.email.subject,
        "text_body": m.email.text,
        "html_body": m.email.html,
        "status": m.status.value,
        "attempts": m.attempts,
        "created_at": m.created_at,
        "next_attempt_at": m.next_attempt_at,
        "last_error": m.last_error,
        "sent_at": m.sent_at,
    }
