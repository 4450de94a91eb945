"""One object that wires every use case to one set of ports.

The composition root (the ``afisha`` command, your own app, or a test) builds the
adapters and hands them to :class:`Afisha`; nothing else in the core wires anything.
"""

from __future__ import annotations

import attrs

from afisha_core.clock import SystemClock
from afisha_core.ports import (
    Clock,
    Mailer,
    ObjectStorage,
    PasswordHasher,
    RateLimiter,
    TokenGenerator,
    UnitOfWorkFactory,
    WebhookSender,
)
from afisha_core.settings import Settings
from afisha_core.tokens import SecretsTokenGenerator
from afisha_core.usecases import (
    AccountService,
    AuditService,
    CalendarFeedService,
    EventService,
    MailDeliveryService,
    NotificationService,
    ParticipationService,
    PersonalDataService,
    RecoveryService,
    ReminderService,
    SessionService,
    TotpService,
    UnconfiguredWebhookSender,
    WebhookDeliveryService,
    WebhookService,
)

__all__ = ["Afisha"]


@attrs.define(kw_only=True)
class Afisha:
    """Every use case of the core, built from the same ports and settings.

    >>> afisha = Afisha(uow=db, hasher=hasher, limiter=limiter, storage=storage,
    ...                 mailer=mailer)                                 # doctest: +SKIP
    >>> token = await afisha.accounts.register(...)                   # doctest: +SKIP
    """

    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    limiter: RateLimiter
    storage: ObjectStorage
    mailer: Mailer
    clock: Clock = attrs.field(factory=SystemClock)
    tokens: TokenGenerator = attrs.field(factory=SecretsTokenGenerator)
    webhook_sender: WebhookSender = attrs.field(factory=UnconfiguredWebhookSender)
    settings: Settings = attrs.field(factory=Settings)

    accounts: AccountService = attrs.field(init=False)
    sessions: SessionService = attrs.field(init=False)
    recovery: RecoveryService = attrs.field(init=False)
    events: EventService = attrs.field(init=False)
    participation: ParticipationService = attrs.field(init=False)
    notifications: NotificationService = attrs.field(init=False)
    reminders: ReminderService = attrs.field(init=False)
    mail: MailDeliveryService = attrs.field(init=False)
    totp: TotpService = attrs.field(init=False)
    audit: AuditService = attrs.field(init=False)
    calendar_feeds: CalendarFeedService = attrs.field(init=False)
    webhooks: WebhookService = attrs.field(init=False)
    webhook_delivery: WebhookDeliveryService = attrs.field(init=False)
    personal_data: PersonalDataService = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        u, c, s = self.uow, self.clock, self.settings
        h, t, lim = self.hasher, self.tokens, self.limiter
        self.accounts = AccountService(u, c, h, t, lim, s)
        self.sessions = SessionService(u, c, h, t, lim, s)
        self.recovery = RecoveryService(u, c, h, t, lim, s)
        self.events = EventService(self.uow, self.clock, self.storage, s)
        self.participation = ParticipationService(self.uow, self.clock, s)
        self.notifications = NotificationService(self.uow, self.clock)
        self.reminders = ReminderService(self.uow, self.clock, s)
        self.mail = MailDeliveryService(self.uow, self.clock, self.mailer, s)
        self.totp = TotpService(u, c, h, lim, s)
        self.audit = AuditService(u, c, s)
        self.calendar_feeds = CalendarFeedService(u, c, t, s)
        self.webhooks = WebhookService(u, c, self.webhook_sender, s)
        self.webhook_delivery = WebhookDeliveryService(u, c, self.webhook_sender)
        self.personal_data = PersonalDataService(u, c, s)
