"""The domain: frozen attrs classes with their invariants, and pure rules."""

from afisha_core.domain.audit import AuditAction, AuditEntry, AuditTarget
from afisha_core.domain.calendar_feeds import CalendarFeed
from afisha_core.domain.events import Event, EventView
from afisha_core.domain.notifications import InstantNotification
from afisha_core.domain.outbox import Email, OutboxMessage, OutboxStatus
from afisha_core.domain.participation import Participation, ParticipationStatus
from afisha_core.domain.recovery import IssuedLoginRecovery
from afisha_core.domain.registrations import MAX_CODE_ATTEMPTS, IssuedRegistration
from afisha_core.domain.sessions import LoginSession
from afisha_core.domain.totp import RECOVERY_CODE_COUNT, TotpCredential, TotpRecoveryCode
from afisha_core.domain.users import Role, User
from afisha_core.domain.views import Page, Participant
from afisha_core.domain.webhooks import (
    DISABLE_AFTER,
    RETRY_SCHEDULE,
    WEBHOOK_EVENT_TYPES,
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
)

__all__ = [
    "DISABLE_AFTER",
    "MAX_CODE_ATTEMPTS",
    "RECOVERY_CODE_COUNT",
    "RETRY_SCHEDULE",
    "WEBHOOK_EVENT_TYPES",
    "AuditAction",
    "AuditEntry",
    "AuditTarget",
    "CalendarFeed",
    "DeliveryStatus",
    "Email",
    "Event",
    "EventView",
    "InstantNotification",
    "IssuedLoginRecovery",
    "IssuedRegistration",
    "LoginSession",
    "OutboxMessage",
    "OutboxStatus",
    "Page",
    "Participant",
    "Participation",
    "ParticipationStatus",
    "Role",
    "TotpCredential",
    "TotpRecoveryCode",
    "User",
    "Webhook",
    "WebhookDelivery",
]
