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
    AuditAction,
    AuditEntry,
    AuditTarget,
    DeliveryStatus,
    EventView,
    InstantNotification,
    LoginSession,
    OutboxStatus,
    Participant,
    ParticipationStatus,
    Role,
    User,
    Webhook,
    WebhookDelivery,
)
from afisha_core.ports import ObjectStorage
from afisha_core.usecases import PersonalData

# --- requests ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RegistrationIn:
    """Start a registration: a 6-digit code is mailed to ``email``."""

    email: str
    username: str
    full_name: str
    password: str
    locale: str | None = None
    """The person's language (``en``, ``ru``); else ``Accept-Language``, else the default."""


@attrs.frozen(kw_only=True)
class ConfirmIn:
    """Confirm a registration with the mailed code."""

    code: str


@attrs.frozen(kw_only=True)
class LoginIn:
    """Log in by email or username."""

    login: str
    password: str
    totp_code: str | None = None


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
    """Change one's full name, username and/or language."""

    full_name: str | None = None
    username: str | None = None
    locale: str | None = None


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
    totp_enabled: bool
    locale: str

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
            totp_enabled=user.totp_enabled,
            locale=user.locale,
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
    """One invalid field: ``code`` is stable, ``message`` is in the caller's language."""

    field: str
    code: str
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
        "totp_enabled": False,
        "locale": "ru",
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
        "locale": "ru",
    },
    "Problem": {
        "type": "urn:afisha:problem:event_full",
        "title": "Conflict",
        "status": 409,
        "detail": "The event is full.",
        "code": "event_full",
    },
}


# --- two-factor login, the audit log, personal data ------------------------------------


@attrs.frozen(kw_only=True)
class TotpCodeIn:
    """Confirm a TOTP enrolment with the first code from the authenticator app."""

    code: str


@attrs.frozen(kw_only=True)
class TotpDisableIn:
    """Turn two-factor login off: the password and a code (or a recovery code)."""

    password: str
    code: str


@attrs.frozen(kw_only=True)
class CalendarFeedOut:
    """A personal calendar feed: its secret URL (``https``; ``webcal://`` works as well)."""

    url: str


@attrs.frozen(kw_only=True)
class TotpEnrolmentOut:
    """A pending enrolment: the secret, shown this once, and its ``otpauth://`` URI."""

    secret: str
    otpauth_uri: str


@attrs.frozen(kw_only=True)
class RecoveryCodesOut:
    """The single-use recovery codes, shown this once."""

    recovery_codes: list[str]


@attrs.frozen(kw_only=True)
class AuditEntryOut:
    """One entry of the audit log."""

    id: UUID
    at: datetime
    actor_id: UUID | None
    action: AuditAction
    target_type: AuditTarget | None
    target_id: UUID | None
    ip: str | None
    details: dict[str, str | int | bool | None]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        """Render a domain audit entry."""
        return cls(
            id=entry.id,
            at=entry.at,
            actor_id=entry.actor_id,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            ip=entry.ip,
            details=dict(entry.details),
        )


@attrs.frozen(kw_only=True)
class AuditList:
    """A page of audit entries, newest first."""

    items: list[AuditEntryOut]
    next_cursor: str | None


@attrs.frozen(kw_only=True)
class ExportSessionOut:
    """A session of the export: every one, revoked and expired ones too."""

    uid: UUID
    user_agent: str
    client_address: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@attrs.frozen(kw_only=True)
class ExportParticipationOut:
    """A participation of the export, in any status."""

    event_id: UUID
    status: ParticipationStatus
    created_at: datetime
    status_changed_at: datetime
    reminder_queued_at: datetime | None


@attrs.frozen(kw_only=True)
class ExportRecoveryCodeOut:
    """A TOTP recovery code of the export: when made and used (never the code)."""

    id: UUID
    created_at: datetime
    used_at: datetime | None


@attrs.frozen(kw_only=True)
class ExportTotpOut:
    """The TOTP state of the export (never the secret)."""

    enabled: bool
    created_at: datetime
    confirmed_at: datetime | None
    recovery_codes: list[ExportRecoveryCodeOut]


@attrs.frozen(kw_only=True)
class ExportRecoveryOut:
    """A password-recovery link of the export (never the token)."""

    id: UUID
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@attrs.frozen(kw_only=True)
class ExportRegistrationOut:
    """A registration made with the caller's email (never the code or password hash)."""

    id: UUID
    email: str
    username: str
    full_name: str
    created_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None


@attrs.frozen(kw_only=True)
class ExportMailOut:
    """An email to the caller's address, as the outbox holds it."""

    id: UUID
    to: str
    subject: str
    text: str
    status: OutboxStatus
    created_at: datetime
    sent_at: datetime | None


@attrs.frozen(kw_only=True)
class ExportOut:
    """Everything stored about the caller (secrets and hashes left out)."""

    profile: UserOut
    sessions: list[ExportSessionOut]
    participations: list[ExportParticipationOut]
    notifications: list[NotificationOut]
    audit: list[AuditEntryOut]
    totp: ExportTotpOut | None
    password_recoveries: list[ExportRecoveryOut]
    registrations: list[ExportRegistrationOut]
    mail: list[ExportMailOut]

    @classmethod
    def of(cls, data: PersonalData) -> ExportOut:
        """Render the core's personal data."""
        totp = data.totp
        return cls(
            profile=UserOut.of(data.user),
            sessions=[
                ExportSessionOut(
                    uid=x.uid,
                    user_agent=x.user_agent,
                    client_address=x.client_address,
                    created_at=x.created_at,
                    last_seen_at=x.last_seen_at,
                    expires_at=x.expires_at,
                    revoked_at=x.revoked_at,
                )
                for x in data.sessions
            ],
            participations=[
                ExportParticipationOut(
                    event_id=p.event_id,
                    status=p.status,
                    created_at=p.created_at,
                    status_changed_at=p.status_changed_at,
                    reminder_queued_at=p.reminder_queued_at,
                )
                for p in data.participations
            ],
            notifications=[NotificationOut.of(n) for n in data.notifications],
            audit=[AuditEntryOut.of(e) for e in data.audit],
            totp=None
            if totp is None
            else ExportTotpOut(
                enabled=totp.is_confirmed,
                created_at=totp.created_at,
                confirmed_at=totp.confirmed_at,
                recovery_codes=[
                    ExportRecoveryCodeOut(id=c.id, created_at=c.created_at, used_at=c.used_at)
                    for c in data.recovery_codes
                ],
            ),
            password_recoveries=[
                ExportRecoveryOut(
                    id=r.id, created_at=r.created_at, expires_at=r.expires_at, used_at=r.used_at
                )
                for r in data.recoveries
            ],
            registrations=[
                ExportRegistrationOut(
                    id=r.id,
                    email=r.email,
                    username=r.username,
                    full_name=r.full_name,
                    created_at=r.created_at,
                    expires_at=r.expires_at,
                    confirmed_at=r.confirmed_at,
                )
                for r in data.registrations
            ],
            mail=[
                ExportMailOut(
                    id=m.id,
                    to=m.email.to,
                    subject=m.email.subject,
                    text=m.email.text,
                    status=m.status,
                    created_at=m.created_at,
                    sent_at=m.sent_at,
                )
                for m in data.mail
            ],
        )


@attrs.frozen(kw_only=True)
class WebhookIn:
    """A new webhook: where to send, which event types, and a note for people."""

    url: str
    events: list[str]
    description: str = ""


@attrs.frozen(kw_only=True)
class WebhookOut:
    """A webhook, without its secret."""

    id: UUID
    url: str
    events: list[str]
    description: str
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        """Render a domain webhook (never its secret)."""
        return cls(
            id=webhook.id,
            url=webhook.url,
            events=list(webhook.event_types),
            description=webhook.description,
            created_at=webhook.created_at,
            disabled_at=webhook.disabled_at,
        )


@attrs.frozen(kw_only=True)
class WebhookCreatedOut:
    """A webhook just created, with its signing secret: shown this once."""

    id: UUID
    url: str
    events: list[str]
    description: str
    secret: str
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookCreatedOut:
        """Render a new webhook with its secret."""
        return cls(
            id=webhook.id,
            url=webhook.url,
            events=list(webhook.event_types),
            description=webhook.description,
            secret=webhook.secret,
            created_at=webhook.created_at,
            disabled_at=webhook.disabled_at,
        )


@attrs.frozen(kw_only=True)
class WebhookList:
    """A page of webhooks, oldest first."""

    items: list[WebhookOut]
    next_cursor: str | None


@attrs.frozen(kw_only=True)
class WebhookDeliveryOut:
    """One delivery of a webhook and the outcome of its last attempt."""

    id: UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> WebhookDeliveryOut:
        """Render a domain delivery."""
        return cls(
            id=delivery.id,
            event_type=delivery.event_type,
            status=delivery.status,
            attempts=delivery.attempts,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
        )


@attrs.frozen(kw_only=True)
class WebhookDeliveryList:
    """A page of a webhook's deliveries, newest first."""

    items: list[WebhookDeliveryOut]
    next_cursor: str | None
