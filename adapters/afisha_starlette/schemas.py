"""The JSON shapes of the HTTP API, as attrs classes.

Requests are structured into these classes by the core's cattrs converter (unknown
fields are refused) and responses are unstructured from them, and the OpenAPI
document is generated from the same classes, so the three cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from afisha_core.domain import (
    EventView,
    InstantNotification,
    LoginSession,
    Participant,
    ParticipationStatus,
    Role,
    User,
)
from afisha_core.ports import ObjectStorage

# --- requests ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RegistrationIn:
    """Start a registration: a 6-digit code is mailed to ``email``."""

    email: str
    username: str
    full_name: str
    password: str


@attrs.frozen(kw_only=True)
class ConfirmIn:
    """Confirm a registration with the mailed code."""

    code: str


@attrs.frozen(kw_only=True)
class LoginIn:
    """Log in by email or username."""

    login: str
    password: str


@attrs.frozen(kw_only=True)
class RecoveryIn:
    """Ask for a password-recovery link."""

    email: str


@attrs.frozen(kw_only=True)
class RecoveryCompleteIn:
    """Set a new password with a recovery token."""

    password: str


@attrs.frozen(kw_only=True)
class ProfilePatchIn:
    """Change one's full name and/or username."""

    full_name: str | None = None
    username: str | None = None


@attrs.frozen(kw_only=True)
class PasswordChangeIn:
    """Change one's password."""

    current_password: str
    new_password: str


@attrs.frozen(kw_only=True)
class PasswordIn:
    """Confirm a sensitive action with the password."""

    password: str


@attrs.frozen(kw_only=True)
class RolePatchIn:
    """Set a user's role."""

    role: Role


@attrs.frozen(kw_only=True)
class EventPatchIn:
    """Change any of an event's fields; fields left out stay as they are."""

    name: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    short_description: str | None = None
    description: str | None = None
    timezone: str | None = None
    location: str | None = None
    payment_info: str | None = None
    max_participants_count: int | None = None


@attrs.frozen(kw_only=True)
class RejectIn:
    """Cancel an event, optionally saying why."""

    reason: str | None = None


@attrs.frozen(kw_only=True)
class ParticipationIn:
    """Join an event; with ``waitlist`` wait for a spot when it is full."""

    waitlist: bool = False


# --- responses -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class UserOut:
    """A user, never with a password hash or a token."""

    id: UUID
    email: str
    username: str
    full_name: str
    role: Role
    is_system: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        """Render a domain user."""
        return cls(
            id=user.id,
            email=user.email,
            username=user.username,
            full_name=user.full_name,
            role=user.role,
            is_system=user.is_system,
            created_at=user.created_at,
        )


@attrs.frozen(kw_only=True)
class SessionOut:
    """A login session; ``current`` marks the one making the request."""

    uid: UUID
    user_agent: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool

    @classmethod
    def of(cls, session: LoginSession, current_uid: UUID | None) -> SessionOut:
        """Render a domain session."""
        return cls(
            uid=session.uid,
            user_agent=session.user_agent,
            created_at=session.created_at,
            last_seen_at=session.last_seen_at,
            expires_at=session.expires_at,
            current=session.uid == current_uid,
        )


@attrs.frozen(kw_only=True)
class EventOut:
    """An event as the caller sees it, with live counts."""

    id: UUID
    name: str
    short_description: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    image_url: str | None
    payment_info: str
    max_participants_count: int | None
    location: str
    created_at: datetime
    updated_at: datetime
    rejected_at: datetime | None
    rejection_reason: str | None
    participants_count: int
    waitlist_count: int
    spots_left: int | None
    my_status: ParticipationStatus | None

    @classmethod
    def of(cls, view: EventView, storage: ObjectStorage) -> EventOut:
        """Render a domain event view; the image URL comes from the storage."""
        e = view.event
        return cls(
            id=e.id,
            name=e.name,
            short_description=e.short_description,
            description=e.description,
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            timezone=e.timezone,
            image_url=storage.url(e.image_key) if e.image_key else None,
            payment_info=e.payment_info,
            max_participants_count=e.max_participants_count,
            location=e.location,
            created_at=e.created_at,
            updated_at=e.updated_at,
            rejected_at=e.rejected_at,
            rejection_reason=e.rejection_reason,
            participants_count=view.participants_count,
            waitlist_count=view.waitlist_count,
            spots_left=view.spots_left,
            my_status=view.my_status,
        )


@attrs.frozen(kw_only=True)
class ParticipantOut:
    """Who signed up for an event (administrators' view)."""

    user: UserOut
    status: ParticipationStatus
    created_at: datetime
    reminder_queued_at: datetime | None

    @classmethod
    def of(cls, participant: Participant) -> ParticipantOut:
        """Render a domain participant."""
        p = participant.participation
        return cls(
            user=UserOut.of(participant.user),
            status=p.status,
            created_at=p.created_at,
            reminder_queued_at=p.reminder_queued_at,
        )


@attrs.frozen(kw_only=True)
class NotificationOut:
    """An in-app notification."""

    id: UUID
    title: str
    content: str
    cta_url: str | None
    cta_label: str | None
    created_at: datetime
    acked_at: datetime | None

    @classmethod
    def of(cls, n: InstantNotification) -> NotificationOut:
        """Render a domain notification."""
        return cls(
            id=n.id,
            title=n.title,
            content=n.content,
            cta_url=n.cta_url,
            cta_label=n.cta_label,
            created_at=n.created_at,
            acked_at=n.acked_at,
        )


@attrs.frozen(kw_only=True)
class RegistrationAccepted:
    """A registration was issued; confirm it with the mailed code."""

    registration_token: str


@attrs.frozen(kw_only=True)
class LoginOut:
    """A new session: keep ``token`` and send it as ``Authorization: Bearer``."""

    token: str
    session: SessionOut
    user: UserOut


@attrs.frozen(kw_only=True)
class AckAllOut:
    """How many notifications were acknowledged."""

    acked: int


@attrs.frozen(kw_only=True)
class UserList:
    """A page of users."""

    items: list[UserOut]
    next_cursor: str | None


@attrs.frozen(kw_only=True)
class SessionList:
    """The caller's sessions."""

    items: list[SessionOut]
    next_cursor: str | None


@attrs.frozen(kw_only=True)
class EventList:
    """A page of events ordered by ``(starts_at, id)``."""

    items: list[EventOut]
    next_cursor: str | None


@attrs.frozen(kw_only=True)
class ParticipantList:
    """A page of participants."""

    items: list[ParticipantOut]
    next_cursor: str | None


@attrs.frozen(kw_only=True)
class NotificationList:
    """A page of notifications, newest first."""

    items: list[NotificationOut]
    next_cursor: str | None


@attrs.frozen(kw_only=True)
class FieldProblem:
    """One invalid field."""

    field: str
    message: str


@attrs.frozen(kw_only=True)
class Problem:
    """An RFC 9457 problem document; ``code`` is stable (the error codes are listed below)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldProblem] | None = None


@attrs.frozen(kw_only=True)
class Health:
    """Liveness or readiness; ``checks`` names each backing service's state."""

    status: str
    checks: dict[str, str]


_EVENT_ID = "5b2f0c3e-8a41-4c55-9d2e-3f1c7a9b6e10"
_USER_ID = "0e6b1f7a-2c3d-4e5f-8a9b-1c2d3e4f5a6b"
_SESSION_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"

#: One realistic example per main schema, shown in the OpenAPI document (by class name).
EXAMPLES: dict[str, dict[str, Any]] = {
    "UserOut": {
        "id": _USER_ID,
        "email": "anna@example.org",
        "username": "anna",
        "full_name": "Anna Petrova",
        "role": "USER",
        "is_system": False,
        "created_at": "2026-11-20T09:15:00+00:00",
    },
    "SessionOut": {
        "uid": _SESSION_ID,
        "user_agent": "Mozilla/5.0",
        "created_at": "2026-11-20T09:15:00+00:00",
        "last_seen_at": "2026-11-21T18:02:11+00:00",
        "expires_at": "2026-12-20T09:15:00+00:00",
        "current": True,
    },
    "EventOut": {
        "id": _EVENT_ID,
        "name": "Jazz evening",
        "short_description": "A quartet plays standards.",
        "description": "Doors open at 18:30.",
        "starts_at": "2026-12-04T16:00:00+00:00",
        "ends_at": "2026-12-04T18:00:00+00:00",
        "timezone": "Europe/Moscow",
        "image_url": None,
        "payment_info": "Free entry",
        "max_participants_count": 40,
        "location": "Main hall",
        "created_at": "2026-11-20T09:15:00+00:00",
        "updated_at": "2026-11-20T09:15:00+00:00",
        "rejected_at": None,
        "rejection_reason": None,
        "participants_count": 12,
        "waitlist_count": 0,
        "spots_left": 28,
        "my_status": None,
    },
    "EventDraft": {
        "name": "Jazz evening",
        "starts_at": "2026-12-04T19:00:00+03:00",
        "ends_at": "2026-12-04T21:00:00+03:00",
        "short_description": "A quartet plays standards.",
        "timezone": "Europe/Moscow",
        "location": "Main hall",
        "max_participants_count": 40,
    },
    "NotificationOut": {
        "id": "3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
        "title": "Jazz evening was moved",
        "content": "It now starts on 4 December 2026 at 19:00 (Europe/Moscow).",
        "cta_url": f"http://127.0.0.1:8080/events/{_EVENT_ID}",
        "cta_label": "View the event",
        "created_at": "2026-11-22T10:00:00+00:00",
        "acked_at": None,
    },
    "LoginIn": {"login": "anna", "password": "correct horse battery"},
    "RegistrationIn": {
        "email": "anna@example.org",
        "username": "anna",
        "full_name": "Anna Petrova",
        "password": "correct horse battery",
    },
    "Problem": {
        "type": "urn:afisha:problem:event_full",
        "title": "Conflict",
        "status": 409,
        "detail": "The event is full.",
        "code": "event_full",
    },
}
