"""The ports: what the core needs from the outside world, as ``typing.Protocol``s.

Adapters do not inherit from these; mypy checks them structurally. Every method says
what it returns and what it raises. Any method of any port may also raise
:class:`~afisha_core.errors.ServiceUnavailable` (or a subclass) when its backing
service cannot be reached; nothing else unexpected should escape an adapter.

Repositories are reached only through a :class:`UnitOfWork`, which is one database
transaction: nothing a repository writes is visible to others before
:meth:`UnitOfWork.commit`, and leaving the ``async with`` block without committing
rolls everything back.

No lost updates: a use case never writes back a whole row it read without a lock.
It either reads the row locked (``get_for_update``, or the token lookups that lock)
and then replaces it, or it calls a method that writes only the columns it changes,
conditioned on the state it relies on (``touch``, ``revoke``, ``ack``, ``ack_all``,
``revoke_all``, the claims). The concurrency contracts in
:mod:`afisha_core.testing.contracts.concurrency` race two writers on one row to check it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

import attrs

from afisha_core.domain import (
    AuditAction,
    AuditEntry,
    CalendarFeed,
    Email,
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
    Role,
    TotpCredential,
    TotpRecoveryCode,
    User,
    Webhook,
    WebhookDelivery,
)

__all__ = [
    "AuditQuery",
    "AuditRepository",
    "Broadcast",
    "CalendarFeedRepository",
    "Clock",
    "DueDelivery",
    "DueReminder",
    "EventQuery",
    "EventRepository",
    "Mailer",
    "NotificationRepository",
    "ObjectStorage",
    "OutboxRepository",
    "ParticipationRepository",
    "PasswordHasher",
    "PersonalDataRepository",
    "RateLimitResult",
    "RateLimiter",
    "RecoveryRepository",
    "RegistrationRepository",
    "ReminderClaims",
    "SessionRepository",
    "StoredObject",
    "TokenGenerator",
    "TotpRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UserQuery",
    "UserRepository",
    "WebhookRepository",
    "WebhookSendError",
    "WebhookSender",
]


# --- query values shared by repositories ------------------------------------------


@attrs.frozen(kw_only=True)
class UserQuery:
    """A page of live users ordered by ``(created_at, id)``.

    ``text`` matches a case-insensitive substring of email, username or full name;
    ``after`` is the ``(created_at, id)`` of the last user of the previous page.
    """

    text: str | None = None
    role: Role | None = None
    after: tuple[datetime, UUID] | None = None
    limit: int = 20


@attrs.frozen(kw_only=True)
class EventQuery:
    """A page of events ordered by ``(starts_at, id)``.

    An event matches the time range when it overlaps ``[starts_from, starts_before)``:
    ``ends_at > starts_from`` and ``starts_at < starts_before`` (each bound optional).
    Without ``starts_from`` the lower bound is the ``now`` given to ``list_views`` (so
    events that have ended are left out), unless ``include_finished`` is set.
    ``text`` matches a case-insensitive substring of name, short description,
    description or location. Rejected events are left out unless
    ``include_rejected``. With ``participant_id`` only events where that user has a
    participation whose status is in ``participant_statuses`` are listed.
    ``after`` is the ``(starts_at, id)`` of the last event of the previous page.
    """

    starts_from: datetime | None = None
    starts_before: datetime | None = None
    text: str | None = None
    include_rejected: bool = False
    include_finished: bool = False
    participant_id: UUID | None = None
    participant_statuses: frozenset[ParticipationStatus] = frozenset(
        {ParticipationStatus.PARTICIPATING, ParticipationStatus.WAITLISTED}
    )
    after: tuple[datetime, UUID] | None = None
    limit: int = 20


@attrs.frozen(kw_only=True)
class AuditQuery:
    """A page of audit entries, newest first: ordered by ``(at, id)`` descending.

    Each filter is optional: ``actor_id``, ``action`` and ``target_id`` must match
    exactly; ``involving`` matches an entry whose actor or target is that id; the
    time range is ``starts_from <= at < starts_before``. ``before`` is the ``(at, id)``
    of the last entry of the previous page.
    """

    actor_id: UUID | None = None
    action: AuditAction | None = None
    target_id: UUID | None = None
    involving: UUID | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    before: tuple[datetime, UUID] | None = None
    limit: int = 20


@attrs.frozen(kw_only=True)
class DueReminder:
    """A participation whose reminder was just claimed: who to remind of which event."""

    event_id: UUID
    user_id: UUID
    email: str
    """The participant's address, to mail the reminder to."""
    locale: str
    """The participant's language, to write the reminder in."""


@attrs.frozen(kw_only=True)
class ReminderClaims:
    """One batch of claimed reminders: each event once, and who to remind of which.

    Iterating gives the :class:`DueReminder` items; ``len()`` is how many were claimed.
    """

    events: Mapping[UUID, Event] = attrs.field(factory=dict)
    """Every event some item of ``due`` refers to, by id."""
    due: Sequence[DueReminder] = ()

    def __len__(self) -> int:
        return len(self.due)

    def __iter__(self) -> Iterator[DueReminder]:
        return iter(self.due)


@attrs.frozen(kw_only=True)
class Broadcast:
    """One message to several users: an in-app notification and an email for each.

    The texts are written once; the store writes one
    :class:`~afisha_core.domain.InstantNotification` (``title``, ``content``,
    ``cta_url``, ``cta_label``) and one PENDING
    :class:`~afisha_core.domain.OutboxMessage` (``email_subject``, ``email_text``,
    ``email_html``) per recipient. The caller checks the texts (by building one of
    each) before handing them over.
    """

    title: str
    content: str
    cta_url: str | None
    cta_label: str | None
    email_subject: str
    email_text: str
    email_html: str | None
    recipients: Sequence[tuple[UUID, str]]
    """``(user_id, email)`` of each recipient."""

    def notification(
        self, user_id: UUID, notification_id: UUID, now: datetime
    ) -> InstantNotification:
        """The in-app notification one recipient gets (validated like any other)."""
        return InstantNotification(
            id=notification_id,
            user_id=user_id,
            title=self.title,
            content=self.content,
            cta_url=self.cta_url,
            cta_label=self.cta_label,
            created_at=now,
        )

    def email(self, to: str) -> Email:
        """The email one recipient gets (validated like any other)."""
        return Email(to=to, subject=self.email_subject, text=self.email_text, html=self.email_html)


@attrs.frozen(kw_only=True)
class DueDelivery:
    """A webhook delivery just claimed by a worker, with its webhook."""

    delivery: WebhookDelivery
    webhook: Webhook


# --- repositories -------------------------------------------------------------------


class UserRepository(Protocol):
    """Users, live and soft-deleted."""

    async def get(self, user_id: UUID) -> User | None:
        """The user with this id, deleted or not; ``None`` if there is none."""
        ...

    async def get_by_email(self, email: str) -> User | None:
        """The live user with this (normalized) email, or ``None``."""
        ...

    async def get_by_username(self, username: str) -> User | None:
        """The live user with this username, or ``None``."""
        ...

    async def add(self, user: User) -> None:
        """Store a new user.

        Raises :class:`~afisha_core.errors.EmailTaken` or
        :class:`~afisha_core.errors.UsernameTaken` when a live user already has the
        email or username (checked atomically by the store, so races are safe).
        """
        ...

    async def get_for_update(self, user_id: UUID) -> User | None:
        """The user (deleted or not), locked until the unit of work ends, or ``None``.

        While one unit of work holds the lock, another calling this for the same user
        waits (``SELECT ... FOR UPDATE`` in PostgreSQL, a write transaction in SQLite).
        Every read-modify-write of a user goes through this.
        """
        ...

    async def update(self, user: User) -> None:
        """Replace the stored user with the same id.

        Only for a user read with :meth:`get_for_update` in this unit of work: a
        whole-row write from an unlocked read would undo a concurrent change (a
        password reset, a deletion). Raises :class:`~afisha_core.errors.UsernameTaken`
        or :class:`~afisha_core.errors.EmailTaken` on a clash with another live user.
        """
        ...

    async def list(self, query: UserQuery) -> Sequence[User]:
        """Up to ``query.limit`` live users matching ``query``, in ``(created_at, id)`` order."""
        ...


class SessionRepository(Protocol):
    """Login sessions, looked up by the hash of their token."""

    async def add(self, session: LoginSession) -> None:
        """Store a new session."""
        ...

    async def get(self, uid: UUID) -> LoginSession | None:
        """The session with this uid (even if revoked or expired), or ``None``."""
        ...

    async def get_by_token_hash(self, token_hash: str) -> LoginSession | None:
        """The session whose token hashes to ``token_hash`` (any state), or ``None``."""
        ...

    async def get_with_user(self, token_hash: str) -> tuple[LoginSession, User] | None:
        """The session whose token hashes to ``token_hash`` and its user, in one read.

        Any state of either (revoked, expired, deleted user): the caller decides.
        ``None`` when no session has that hash. Authentication runs on this, so a
        store should answer it in one round trip (a join).
        """
        ...

    async def touch(self, uid: UUID, now: datetime) -> bool:
        """Set ``last_seen_at = now`` if the session is not revoked and was seen before ``now``.

        Writes that one column only, conditioned on the session still being live, so
        it can never bring back a revoked session. Returns whether a row changed.
        """
        ...

    async def revoke(self, uid: UUID, now: datetime) -> bool:
        """Set ``revoked_at = now`` if the session is not revoked yet; return whether it was.

        The first revocation is kept.
        """
        ...

    async def carry_over(self, uid: UUID, credential_version: int) -> bool:
        """Move a live session to a new ``credential_version``; return whether it changed.

        For the session that changed the password, which stays logged in. Conditioned
        on ``revoked_at IS NULL``: a revoked session stays revoked.
        """
        ...

    async def list_active(
        self,
        user_id: UUID,
        now: datetime,
        *,
        before: tuple[datetime, UUID] | None = None,
        limit: int | None = None,
    ) -> Sequence[LoginSession]:
        """The user's sessions that are neither revoked nor expired, newest first.

        Ordered by ``(created_at, uid)`` descending; ``before`` is the key of the last
        session of the previous page; at most ``limit`` (all when ``None``).
        """
        ...

    async def revoke_all(
        self, user_id: UUID, now: datetime, *, except_uid: UUID | None = None
    ) -> int:
        """Revoke every active session of the user but ``except_uid``; return how many."""
        ...


class RegistrationRepository(Protocol):
    """Registrations waiting for their code."""

    async def add(self, registration: IssuedRegistration) -> None:
        """Store a new registration."""
        ...

    async def get_by_token_hash(self, token_hash: str) -> IssuedRegistration | None:
        """The registration whose token hashes to ``token_hash``, or ``None``.

        The row stays locked until the unit of work ends (``SELECT ... FOR UPDATE``),
        so concurrent confirmations of one registration take turns and every wrong
        code is counted.
        """
        ...

    async def update(self, registration: IssuedRegistration) -> None:
        """Replace the stored registration with the same id.

        Only for a registration read (and so locked) by :meth:`get_by_token_hash` in
        this unit of work.
        """
        ...


class RecoveryRepository(Protocol):
    """Password-recovery tokens."""

    async def add(self, recovery: IssuedLoginRecovery) -> None:
        """Store a new recovery token."""
        ...

    async def get_by_token_hash(self, token_hash: str) -> IssuedLoginRecovery | None:
        """The recovery whose token hashes to ``token_hash``, or ``None``.

        The row stays locked until the unit of work ends (``SELECT ... FOR UPDATE``),
        so a token used twice at once is accepted only once.
        """
        ...

    async def update(self, recovery: IssuedLoginRecovery) -> None:
        """Replace the stored recovery with the same id.

        Only for a recovery read (and so locked) by :meth:`get_by_token_hash` in this
        unit of work.
        """
        ...


class EventRepository(Protocol):
    """Events, and their views with live participation counts."""

    async def add(self, event: Event) -> None:
        """Store a new event."""
        ...

    async def update(self, event: Event) -> None:
        """Replace the stored event with the same id.

        Only for an event read with :meth:`get_for_update` in this unit of work, so
        concurrent edits, cancellations and image changes take turns.
        """
        ...

    async def get(self, event_id: UUID) -> Event | None:
        """The event, or ``None``."""
        ...

    async def get_for_update(self, event_id: UUID) -> Event | None:
        """The event, locked until the unit of work ends, or ``None``.

        While one unit of work holds the lock, another calling this for the same
        event waits; this is what makes capacity checks atomic (``SELECT ... FOR
        UPDATE`` in PostgreSQL, a write transaction in SQLite).
        """
        ...

    async def get_view(self, event_id: UUID, viewer_id: UUID | None) -> EventView | None:
        """The event with live counts and ``viewer_id``'s status, or ``None``."""
        ...

    async def list_views(
        self, query: EventQuery, now: datetime, viewer_id: UUID | None
    ) -> Sequence[EventView]:
        """Up to ``query.limit`` events matching ``query``, in ``(starts_at, id)`` order.

        Counts and the viewer's status come with the page (no query per event).
        ``now`` is the default lower bound when ``query.starts_from`` is unset.
        """
        ...


class ParticipationRepository(Protocol):
    """Participations. Callers lock the event first (``get_for_update``)."""

    async def get(self, event_id: UUID, user_id: UUID) -> Participation | None:
        """The user's participation in the event, or ``None``."""
        ...

    async def save(self, participation: Participation) -> None:
        """Insert the row for ``(event_id, user_id)``, or update its status.

        On an existing row only ``status``, ``status_changed_at`` and ``created_at``
        are written: ``reminder_queued_at`` belongs to the reminder claims (and
        :meth:`clear_reminders`), which do not lock the event, so a save never
        undoes a claim made since the participation was read.
        """
        ...

    async def count(self, event_id: UUID, status: ParticipationStatus) -> int:
        """How many participations of the event have ``status`` (counted live)."""
        ...

    async def next_waitlisted(self, event_id: UUID) -> Participation | None:
        """The longest-waiting WAITLISTED participation, or ``None``.

        Longest-waiting means the earliest ``status_changed_at``; ties go to the row
        that was written first.
        """
        ...

    async def list_participants(
        self,
        event_id: UUID,
        *,
        status: ParticipationStatus | None,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> Sequence[Participant]:
        """Up to ``limit`` participants in ``(created_at, user_id)`` order."""
        ...

    async def list_for_user(
        self, user_id: UUID, statuses: frozenset[ParticipationStatus]
    ) -> Sequence[Participation]:
        """All of the user's participations whose status is in ``statuses``."""
        ...

    async def clear_reminders(self, event_id: UUID) -> int:
        """Unset ``reminder_queued_at`` on every participation of the event; return how many."""
        ...

    async def claim_due_reminders(
        self, now: datetime, horizon: datetime, limit: int
    ) -> ReminderClaims:
        """Claim up to ``limit`` reminders that are due, setting ``reminder_queued_at = now``.

        Due means: PARTICIPATING, ``reminder_queued_at`` unset, the user is live, and
        the event is not rejected with ``now < starts_at <= horizon``. A row claimed by
        one unit of work is never returned to another (``FOR UPDATE SKIP LOCKED``).
        Items come in ``(starts_at, event_id, user_id)`` order, with each of their
        events once; a store should claim a batch in a statement or two.
        """
        ...


class NotificationRepository(Protocol):
    """In-app notifications."""

    async def add(self, notification: InstantNotification) -> None:
        """Store a new notification."""
        ...

    async def add_many(self, notifications: Sequence[InstantNotification]) -> None:
        """Store several new notifications at once (in as few round trips as possible)."""
        ...

    async def add_broadcasts(self, broadcasts: Sequence[Broadcast], now: datetime) -> int:
        """Write each broadcast's notification and email for each of its recipients.

        Every row gets a new id and ``created_at = now``; the emails are PENDING with
        ``next_attempt_at = now``. Returns how many recipients were written. Set-based
        where the store allows (PostgreSQL: one statement for every row of the call).
        """
        ...

    async def get(self, notification_id: UUID) -> InstantNotification | None:
        """The notification, or ``None``."""
        ...

    async def ack(
        self, notification_id: UUID, user_id: UUID, now: datetime
    ) -> InstantNotification | None:
        """Set ``acked_at = now`` on the user's notification unless it is already set.

        Returns the notification as stored afterwards (the first ``acked_at`` is kept,
        whoever set it), or ``None`` when the user has no notification with this id.
        """
        ...

    async def list(
        self,
        user_id: UUID,
        *,
        unacked_only: bool,
        before: tuple[datetime, UUID] | None,
        limit: int,
    ) -> Sequence[InstantNotification]:
        """Up to ``limit`` of the user's notifications, newest first.

        Ordered by ``(created_at, id)`` descending; ``before`` is the key of the last
        notification of the previous page.
        """
        ...

    async def ack_all(self, user_id: UUID, now: datetime) -> int:
        """Set ``acked_at = now`` on every unacked notification of the user; return how many."""
        ...


class OutboxRepository(Protocol):
    """Emails waiting for delivery."""

    async def add(self, message: OutboxMessage) -> None:
        """Store a new message."""
        ...

    async def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        """Store several new messages at once (in as few round trips as possible)."""
        ...

    async def get(self, message_id: UUID) -> OutboxMessage | None:
        """The message, or ``None``."""
        ...

    async def update(self, message: OutboxMessage) -> None:
        """Replace the stored message with the same id.

        Only for a message this worker holds the claim on (:meth:`claim_due`): the
        lease is the lock, and mail delivery finishes before it runs out.
        """
        ...

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[OutboxMessage]:
        """Claim up to ``limit`` PENDING messages with ``next_attempt_at <= now``.

        Claiming sets ``next_attempt_at = lease_until`` so no other worker takes them
        meanwhile (and a crashed worker's messages come back when the lease ends).
        Oldest ``next_attempt_at`` first. Returns the claimed messages as stored
        after the claim.
        """
        ...


class TotpRepository(Protocol):
    """TOTP credentials (one per user) and their recovery codes.

    The use cases change a user's credential only while holding the user's lock
    (:meth:`UserRepository.get_for_update`); the single-use writes
    (:meth:`use_step`, :meth:`use_recovery_code`) are also conditioned on the stored
    state, so a code can never be accepted twice, however the calls race.
    """

    async def get(self, user_id: UUID) -> TotpCredential | None:
        """The user's credential (pending or confirmed), or ``None``."""
        ...

    async def put(self, credential: TotpCredential) -> None:
        """Store the user's credential, replacing any the user had.

        Only for a user locked with :meth:`UserRepository.get_for_update` in this
        unit of work.
        """
        ...

    async def use_step(self, user_id: UUID, step: int) -> bool:
        """Record ``step`` as the last accepted time step; return whether it was new.

        Writes ``last_step = step`` only if the user has a confirmed credential whose
        ``last_step`` is unset or smaller than ``step`` (one conditional update), so
        of two callers with the same code only one gets ``True``.
        """
        ...

    async def delete(self, user_id: UUID) -> bool:
        """Remove the user's credential and every recovery code; return whether there was one."""
        ...

    async def add_recovery_codes(self, codes: Sequence[TotpRecoveryCode]) -> None:
        """Store new recovery codes (the caller removed the old ones, if any)."""
        ...

    async def use_recovery_code(self, user_id: UUID, code_hash: str, now: datetime) -> bool:
        """Set ``used_at = now`` on the user's unused code with this hash; whether one was.

        One conditional update (``... AND used_at IS NULL``): a code used twice at
        once is accepted once.
        """
        ...

    async def list_recovery_codes(self, user_id: UUID) -> Sequence[TotpRecoveryCode]:
        """The user's recovery codes, used or not, in ``(created_at, id)`` order."""
        ...


class PersonalDataRepository(Protocol):
    """Everything the store holds about one person, to export it and to erase it.

    A person's rows are found by their user id, and by their email for the rows that
    hold it without the id (registrations, mail in the outbox).
    """

    async def list_sessions(self, user_id: UUID) -> Sequence[LoginSession]:
        """Every session of the user in any state (revoked, expired), newest first."""
        ...

    async def list_recoveries(self, user_id: UUID) -> Sequence[IssuedLoginRecovery]:
        """Every password-recovery token of the user, in any state, newest first."""
        ...

    async def list_registrations(self, email: str) -> Sequence[IssuedRegistration]:
        """Every registration for this email, in any state, newest first."""
        ...

    async def list_notifications(self, user_id: UUID) -> Sequence[InstantNotification]:
        """Every notification of the user, newest first."""
        ...

    async def list_mail(self, email: str) -> Sequence[OutboxMessage]:
        """Every outbox message to this address, in any state, newest first."""
        ...

    async def list_erasable(self, deleted_before: datetime, limit: int) -> Sequence[UUID]:
        """Up to ``limit`` ids of users deleted at or before ``deleted_before`` and not erased.

        Oldest deletion first.
        """
        ...

    async def delete_rows(self, user_id: UUID, email: str) -> int:
        """Delete the person's rows; return how many went.

        By ``user_id``: sessions, recovery tokens, notifications, the TOTP credential
        and recovery codes, the calendar feed; by ``email``: registrations and outbox mail.

        The user row itself, participations and the audit log stay: the caller replaces
        the user's personal fields (:meth:`UserRepository.update`, with the user locked).
        """
        ...


class AuditRepository(Protocol):
    """The audit log. Append-only: there is no way to change or remove an entry."""

    async def add(self, entry: AuditEntry) -> None:
        """Append an entry (visible to others once the unit of work commits)."""
        ...

    async def list(self, query: AuditQuery) -> Sequence[AuditEntry]:
        """Up to ``query.limit`` entries matching ``query``, newest ``(at, id)`` first."""
        ...


class CalendarFeedRepository(Protocol):
    """Personal calendar feeds: at most one per user, found by the hash of its token."""

    async def get_by_token_hash(self, token_hash: str) -> CalendarFeed | None:
        """The feed whose token hashes to ``token_hash``, or ``None``."""
        ...

    async def put(self, feed: CalendarFeed) -> None:
        """Store the user's feed, replacing any the user had (so the old token stops working).

        Only for a user locked with :meth:`UserRepository.get_for_update` in this unit
        of work, so two rotations at once take turns and exactly one token survives.
        """
        ...

    async def delete(self, user_id: UUID) -> bool:
        """Remove the user's feed; return whether there was one."""
        ...


class WebhookRepository(Protocol):
    """Webhooks and their deliveries (the webhook outbox)."""

    async def add(self, webhook: Webhook) -> None:
        """Store a new webhook."""
        ...

    async def get(self, webhook_id: UUID) -> Webhook | None:
        """The webhook, or ``None``."""
        ...

    async def list(self, *, after: tuple[datetime, UUID] | None, limit: int) -> Sequence[Webhook]:
        """Up to ``limit`` webhooks in ``(created_at, id)`` order, after the key ``after``."""
        ...

    async def delete(self, webhook_id: UUID) -> bool:
        """Remove the webhook and its deliveries; return whether there was one.

        A worker holding a claim on one of its deliveries finds nothing left to update.
        """
        ...

    async def list_subscribed(self, event_type: str) -> Sequence[Webhook]:
        """The webhooks that are not disabled and subscribe to ``event_type``."""
        ...

    async def add_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> None:
        """Queue new deliveries (in the unit of work of the change they tell about)."""
        ...

    async def list_deliveries(
        self, webhook_id: UUID, *, before: tuple[datetime, UUID] | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        """Up to ``limit`` of the webhook's deliveries, newest ``(created_at, id)`` first."""
        ...

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[DueDelivery]:
        """Claim up to ``limit`` PENDING deliveries with ``next_attempt_at <= now``.

        Only deliveries of webhooks that are not disabled. Claiming sets
        ``next_attempt_at = lease_until``, so no other worker takes them meanwhile
        (``FOR UPDATE SKIP LOCKED``) and a crashed worker's claims come back when the
        lease ends. Oldest ``next_attempt_at`` first; returned as stored after the claim.
        """
        ...

    async def finish_attempt(self, delivery: WebhookDelivery, lease_until: datetime) -> bool:
        """Write the outcome of an attempt; return whether the claim was still held.

        Writes ``status``, ``attempts``, ``next_attempt_at``, ``last_status_code``,
        ``last_error`` and ``delivered_at`` of ``delivery`` only if the stored row is
        still PENDING with ``next_attempt_at = lease_until`` (this worker's claim): a
        delivery whose webhook was deleted, or whose lease ran out and was claimed by
        another worker, is left alone.
        """
        ...

    async def mark_success(self, webhook_id: UUID) -> None:
        """Clear the webhook's ``failing_since`` (a delivery succeeded)."""
        ...

    async def mark_failure(self, webhook_id: UUID, now: datetime, disable_before: datetime) -> bool:
        """Record a failed attempt; return whether this disabled the webhook.

        Sets ``failing_since = now`` unless already set; then, if the webhook is not
        disabled and has been failing since ``disable_before`` or earlier, sets
        ``disabled_at = now`` (one conditional update: of two workers, one disables it).
        """
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository.

    Use as ``async with factory() as uow: ...; await uow.commit()``. Leaving the block
    without :meth:`commit` (or by an exception) rolls back.
    """

    @property
    def users(self) -> UserRepository:
        """The user repository of this unit of work."""
        ...

    @property
    def sessions(self) -> SessionRepository:
        """The session repository of this unit of work."""
        ...

    @property
    def registrations(self) -> RegistrationRepository:
        """The registration repository of this unit of work."""
        ...

    @property
    def recoveries(self) -> RecoveryRepository:
        """The recovery repository of this unit of work."""
        ...

    @property
    def events(self) -> EventRepository:
        """The event repository of this unit of work."""
        ...

    @property
    def participations(self) -> ParticipationRepository:
        """The participation repository of this unit of work."""
        ...

    @property
    def notifications(self) -> NotificationRepository:
        """The notification repository of this unit of work."""
        ...

    @property
    def outbox(self) -> OutboxRepository:
        """The outbox repository of this unit of work."""
        ...

    @property
    def totp(self) -> TotpRepository:
        """The TOTP repository of this unit of work."""
        ...

    @property
    def audit(self) -> AuditRepository:
        """The audit log of this unit of work."""
        ...

    @property
    def calendar_feeds(self) -> CalendarFeedRepository:
        """The personal calendar feeds of this unit of work."""
        ...

    @property
    def webhooks(self) -> WebhookRepository:
        """The webhooks and their deliveries of this unit of work."""
        ...

    @property
    def personal_data(self) -> PersonalDataRepository:
        """A person's rows across the tables, to export and to erase."""
        ...

    async def __aenter__(self) -> Self:
        """Begin the transaction."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed, and release the connection."""
        ...

    async def commit(self) -> None:
        """Make every change of this unit of work durable and visible, at once."""
        ...

    async def rollback(self) -> None:
        """Discard every change since the last commit."""
        ...


class UnitOfWorkFactory(Protocol):
    """Opens a new :class:`UnitOfWork`.

    ``read_only=True`` asks for a unit of work that only reads, which a store may run
    cheaper: PostgreSQL in autocommit mode (no ``BEGIN``/``ROLLBACK`` round trips),
    SQLite on a reading connection that does not wait for the write lock. Each
    statement of a read-only unit of work may see its own snapshot, so use cases ask
    for one only when they read a single consistent row set (one query), and never
    write in one: :meth:`UnitOfWork.commit` raises :class:`RuntimeError` there.
    """

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A new, not yet entered, unit of work (see the class for ``read_only``)."""
        ...


# --- other ports -------------------------------------------------------------------


class Clock(Protocol):
    """Where time comes from."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class PasswordHasher(Protocol):
    """Slow, salted password hashing (argon2id in production)."""

    async def hash(self, password: str) -> str:
        """A new salted hash of ``password`` (never blocks the event loop)."""
        ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``; ``False`` for a malformed hash."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones.

        ``True`` for a hash this hasher cannot read; never raises.
        """
        ...


class TokenGenerator(Protocol):
    """Unpredictable secrets."""

    def token(self) -> str:
        """A URL-safe token with 256 bits of randomness."""
        ...

    def code(self) -> str:
        """A 6-digit verification code, uniformly random."""
        ...


@attrs.frozen(kw_only=True)
class RateLimitResult:
    """The answer of a rate limiter: whether the hit is allowed, and when to retry."""

    allowed: bool
    count: int
    limit: int
    retry_after: timedelta


class RateLimiter(Protocol):
    """Fixed-window counters shared by every process of a deployment."""

    async def hit(self, key: str, *, limit: int, window: timedelta) -> RateLimitResult:
        """Count one hit on ``key``; allowed while the count in the window is ``<= limit``.

        A refused hit is counted too. The window starts at the first hit (a later
        hit with another ``window`` does not move it) and the counter disappears when
        it ends. ``retry_after`` is the time left in the window (zero when allowed).
        Raises ``ValueError`` for ``limit < 1`` or a window that is not positive.
        """
        ...

    async def peek(self, key: str, *, limit: int, window: timedelta) -> RateLimitResult:
        """Like :meth:`hit` without counting: allowed while the count is ``< limit``."""
        ...

    async def reset(self, key: str) -> None:
        """Forget the counter of ``key``."""
        ...


@attrs.frozen(kw_only=True)
class StoredObject:
    """Bytes read back from storage with their content type."""

    data: bytes
    content_type: str


class ObjectStorage(Protocol):
    """Where pictures live (S3-compatible, local files or memory).

    Keys are relative paths of ``/``-separated segments (``events/<id>/<name>.png``):
    not empty, no leading ``/``, no ``.`` or ``..`` segment, no backslash. Adapters
    raise ``ValueError`` for any other key.
    """

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` with its content type, replacing any object there."""
        ...

    async def get(self, key: str) -> StoredObject | None:
        """The object under ``key``, or ``None``."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object under ``key``; no error if there is none."""
        ...

    def url(self, key: str) -> str:
        """An absolute URL at which a browser can fetch the object."""
        ...


class Mailer(Protocol):
    """Sends one email. Used only by mail delivery, never inside a use case."""

    async def send(self, email: Email) -> None:
        """Hand ``email`` to the mail server and return once it accepted it.

        Raises :class:`~afisha_core.errors.TemporaryDeliveryError` when a later
        attempt may succeed (4xx, connection refused, timeout) and
        :class:`~afisha_core.errors.PermanentDeliveryError` when it never will (5xx).
        """
        ...


class WebhookSendError(Exception):
    """A webhook delivery attempt failed: no answer, a timeout, a refused destination.

    ``status_code`` is the answer's status when there was one (a non-2xx, a redirect).
    The message never contains the signature or the secret.
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class WebhookSender(Protocol):
    """Sends one signed webhook request, and vets destinations."""

    async def check_destination(self, url: str) -> None:
        """Raise :class:`WebhookSendError` if ``url`` may not receive webhooks.

        Resolves the host and refuses loopback, private, link-local, multicast,
        reserved and unspecified addresses (and cloud metadata endpoints) unless the
        sender was configured to allow private destinations.
        """
        ...

    async def send(self, url: str, headers: dict[str, str], body: bytes, time_limit: float) -> int:
        """``POST`` ``body`` with ``headers`` to ``url``; return the 2xx status of the answer.

        Follows no redirect. Unless private destinations are allowed, refuses (before
        connecting, after resolving the name) a URL whose host is a loopback, private,
        link-local, multicast, reserved or unspecified address, and connects to the
        address it checked. Raises :class:`WebhookSendError` for a refused destination, a
        connection failure, running out of ``time_limit`` seconds in all, or an answer that is
        not 2xx (with its ``status_code``).
        """
        ...
