"""The use cases, one module per area; each service takes its ports explicitly."""

from afisha_core.usecases.accounts import AccountService
from afisha_core.usecases.audit import AuditService
from afisha_core.usecases.calendar_feeds import CalendarFeedService, FeedContents
from afisha_core.usecases.events import UNSET, EventDraft, EventPatch, EventService
from afisha_core.usecases.mail import DeliveryReport, MailDeliveryService
from afisha_core.usecases.notifications import NotificationService
from afisha_core.usecases.participation import ParticipationService
from afisha_core.usecases.personal_data import PersonalData, PersonalDataService
from afisha_core.usecases.recovery import RecoveryService
from afisha_core.usecases.reminders import ReminderService
from afisha_core.usecases.sessions import LoginResult, Principal, SessionService
from afisha_core.usecases.totp import TotpEnrolment, TotpService, WrongTotp
from afisha_core.usecases.webhooks import (
    UnconfiguredWebhookSender,
    WebhookDeliveryReport,
    WebhookDeliveryService,
    WebhookService,
)

__all__ = [
    "UNSET",
    "AccountService",
    "AuditService",
    "CalendarFeedService",
    "DeliveryReport",
    "EventDraft",
    "EventPatch",
    "EventService",
    "FeedContents",
    "LoginResult",
    "MailDeliveryService",
    "NotificationService",
    "ParticipationService",
    "PersonalData",
    "PersonalDataService",
    "Principal",
    "RecoveryService",
    "ReminderService",
    "SessionService",
    "TotpEnrolment",
    "TotpService",
    "UnconfiguredWebhookSender",
    "WebhookDeliveryReport",
    "WebhookDeliveryService",
    "WebhookService",
    "WrongTotp",
]
