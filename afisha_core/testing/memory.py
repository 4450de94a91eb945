"""An in-memory database: the unit of work and every repository, kept in dicts.

:class:`InMemoryDatabase` holds the committed tables; each :class:`InMemoryUnitOfWork`
is one transaction over them. It keeps the promises of :mod:`afisha_core.ports` the way
a real database does, and passes the same contract suite
(:class:`afisha_core.testing.contracts.repositories.UnitOfWorkContract`):

- Units of work are serialised: entering one waits for the previous one to leave, so
  everything a unit of work does is atomic (which is also what makes
  ``get_for_update``, ``get_by_token_hash`` and the claim methods safe under races).
- A unit of work writes to its own copy of the tables; :meth:`~InMemoryUnitOfWork.commit`
  publishes the copy at once, and leaving the ``async with`` without committing (or by
  an exception) drops it.
- Live users have unique emails and usernames; deleted users free theirs.

Because units of work take turns, one task must not open a second unit of work while
its first is still open: that would wait for itself forever, so it raises
:class:`RuntimeError` instead.

Only the standard library, attrs and the core are imported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self
from uuid import UUID, uuid4

import attrs

from afisha_core._turns import TurnTaking
from afisha_core.domain import (
    AuditEntry,
    CalendarFeed,
    DeliveryStatus,
    Event,
    EventView,
    InstantNotification,
    IssuedLoginRecovery,
    IssuedRegistration,
    LoginSession,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Participation,
    ParticipationStatus,
    TotpCredential,
    TotpRecoveryCode,
    User,
    Webhook,
    WebhookDelivery,
)
from afisha_core.errors import EmailTaken, UsernameTaken
from afisha_core.ports import (
    AuditQuery,
    AuditRepository,
    Broadcast,
    CalendarFeedRepository,
    DueDelivery,
    DueReminder,
    EventQuery,
    EventRepository,
    NotificationRepository,
    OutboxRepository,
    ParticipationRepository,
    PersonalDataRepository,
    RecoveryRepository,
    RegistrationRepository,
    ReminderClaims,
    SessionRepository,
    TotpRepository,
    UserQuery,
    UserRepository,
    WebhookRepository,
)

__all__ = ["InMemoryDatabase", "InMemoryUnitOfWork"]


@attrs.frozen
class _ParticipationRow:
    """A stored participation and its write order (bumped when its status changes)."""

    participation: Participation
    seq: int


@attrs.define
class _Tables:
    """Every table of the database. A committed ``_Tables`` is never changed in place."""

    users: dict[UUID, User] = attrs.Factory(dict)
    sessions: dict[UUID, LoginSession] = attrs.Factory(dict)
    registrations: dict[UUID, IssuedRegistration] = attrs.Factory(dict)
    recoveries: dict[UUID, IssuedLoginRecovery] = attrs.Factory(dict)
    events: dict[UUID, Event] = attrs.Factory(dict)
    participations: dict[tuple[UUID, UUID], _ParticipationRow] = attrs.Factory(dict)
    notifications: dict[UUID, InstantNotification] = attrs.Factory(dict)
    outbox: dict[UUID, OutboxMessage] = attrs.Factory(dict)
    totp: dict[UUID, TotpCredential] = attrs.Factory(dict)
    recovery_codes: dict[UUID, TotpRecoveryCode] = attrs.Factory(dict)
    calendar_feeds: dict[UUID, CalendarFeed] = attrs.Factory(dict)
    webhooks: dict[UUID, Webhook] = attrs.Factory(dict)
    deliveries: dict[UUID, WebhookDelivery] = attrs.Factory(dict)
    audit: tuple[AuditEntry, ...] = ()
    last_seq: int = 0

    def copy(self) -> _Tables:
        """Return a copy whose dicts can change without touching this one's."""
        return _Tables(
            users=dict(self.users),
            sessions=dict(self.sessions),
            registrations=dict(self.registrations),
            recoveries=dict(self.recoveries),
            events=dict(self.events),
            participations=dict(self.participations),
            notifications=dict(self.notifications),
            outbox=dict(self.outbox),
            totp=dict(self.totp),
            recovery_codes=dict(self.recovery_codes),
            calendar_feeds=dict(self.calendar_feeds),
            webhooks=dict(self.webhooks),
            deliveries=dict(self.deliveries),
            audit=self.audit,
            last_seq=self.last_seq,
        )

    def next_seq(self) -> int:
        """Return a write-order number greater than every one handed out before."""
        self.last_seq += 1
        return self.last_seq


class InMemoryDatabase:
    """All tables of a deployment, in memory; call it to open a unit of work.

    It is a :class:`~afisha_core.ports.UnitOfWorkFactory`: ``async with db() as uow``.
    It can be created outside a running event loop, and used from several loops one
    after another (each ``asyncio.run`` of a test, for instance).
    """

    def __init__(self) -> None:
        self._tables = _Tables()
        self._turns = TurnTaking("InMemoryDatabase")

    def unit_of_work(self, *, read_only: bool = False) -> InMemoryUnitOfWork:
        """Open a new, not yet entered, unit of work over this database.

        A ``read_only`` one reads the last committed tables without waiting for its
        turn, and raises :class:`RuntimeError` on any write or commit.
        """
        return InMemoryUnitOfWork(self, read_only=read_only)

    def __call__(self, *, read_only: bool = False) -> InMemoryUnitOfWork:
        """Open a new, not yet entered, unit of work over this database."""
        return self.unit_of_work(read_only=read_only)

    async def _begin(self) -> _Tables:
        """Wait for the turn of the current task; return the committed tables."""
        await self._turns.acquire()
        return self._tables

    def _end(self) -> None:
        """Give the turn to the next unit of work."""
        self._turns.release()


class InMemoryUnitOfWork:
    """One transaction over an :class:`InMemoryDatabase`, with every repository.

    Use it as ``async with``; using it outside the block raises :class:`RuntimeError`.
    """

    users: UserRepository
    sessions: SessionRepository
    registrations: RegistrationRepository
    recoveries: RecoveryRepository
    events: EventRepository
    participations: ParticipationRepository
    notifications: NotificationRepository
    outbox: OutboxRepository
    totp: TotpRepository
    audit: AuditRepository
    calendar_feeds: CalendarFeedRepository
    webhooks: WebhookRepository
    personal_data: PersonalDataRepository

    def __init__(self, database: InMemoryDatabase, *, read_only: bool = False) -> None:
        self._database = database
        self._read_only = read_only
        self._tables: _Tables | None = None
        self._owns_tables = False
        self.users = _Users(self)
        self.sessions = _Sessions(self)
        self.registrations = _Registrations(self)
        self.recoveries = _Recoveries(self)
        self.events = _Events(self)
        self.participations = _Participations(self)
        self.notifications = _Notifications(self)
        self.outbox = _Outbox(self)
        self.totp = _Totp(self)
        self.audit = _Audit(self)
        self.calendar_feeds = _CalendarFeeds(self)
        self.webhooks = _Webhooks(self)
        self.personal_data = _PersonalData(self)

    async def __aenter__(self) -> Self:
        """Begin the transaction (waiting for any other unit of work to end)."""
        if self._tables is not None:
            raise RuntimeError("this unit of work is already open")
        if self._read_only:
            # Writers copy before they change anything and publish by replacing the
            # reference, so the committed tables are a snapshot nobody mutates.
            self._tables = self._database._tables
        else:
            self._tables = await self._database._begin()
        self._owns_tables = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Discard whatever was not committed and let the next unit of work in."""
        if self._tables is None:
            return
        self._tables = None
        self._owns_tables = False
        if not self._read_only:
            self._database._end()

    async def commit(self) -> None:
        """Publish every change of this unit of work at once."""
        tables = self._read()
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        if self._owns_tables:
            self._database._tables = tables
            self._owns_tables = False

    async def rollback(self) -> None:
        """Discard every change since the last commit."""
        self._read()
        self._tables = self._database._tables
        self._owns_tables = False

    def _read(self) -> _Tables:
        """Return the tables as this unit of work sees them."""
        if self._tables is None:
            raise RuntimeError(
                "the unit of work is not open: use it inside `async with factory() as uow:`"
            )
        return self._tables

    def _write(self) -> _Tables:
        """Return the tables, copied first if they are still the committed ones."""
        tables = self._read()
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot write")
        if not self._owns_tables:
            tables = tables.copy()
            self._tables = tables
            self._owns_tables = True
        return tables


class _Repository:
    """Base of the repositories: access to the tables of their unit of work."""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    def _read(self) -> _Tables:
        return self._uow._read()

    def _write(self) -> _Tables:
        return self._uow._write()


def _casefold_contains(needle: str, haystacks: Iterable[str | None]) -> bool:
    """Whether ``needle`` (already casefolded) is a substring of one of ``haystacks``."""
    return any(h is not None and needle in h.casefold() for h in haystacks)


class _Users(_Repository):
    """Users; live ones have unique emails and usernames."""

    async def get(self, user_id: UUID) -> User | None:
        return self._read().users.get(user_id)

    async def get_for_update(self, user_id: UUID) -> User | None:
        # Units of work take turns, so every read is already as good as locked.
        return self._read().users.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        return next(
            (u for u in self._read().users.values() if u.deleted_at is None and u.email == email),
            None,
        )

    async def get_by_username(self, username: str) -> User | None:
        return next(
            (
                u
                for u in self._read().users.values()
                if u.deleted_at is None and u.username == username
            ),
            None,
        )

    async def add(self, user: User) -> None:
        tables = self._read()
        if user.id in tables.users:
            raise ValueError(f"a user with id {user.id} already exists")
        self._check_unique(tables, user)
        self._write().users[user.id] = user

    async def update(self, user: User) -> None:
        tables = self._read()
        if user.id not in tables.users:
            return
        self._check_unique(tables, user)
        self._write().users[user.id] = user

    async def list(self, query: UserQuery) -> Sequence[User]:
        needle = query.text.casefold() if query.text else None
        found = [
            u
            for u in self._read().users.values()
            if u.deleted_at is None
            and (query.role is None or u.role is query.role)
            and (needle is None or _casefold_contains(needle, (u.email, u.username, u.full_name)))
            and (query.after is None or (u.created_at, u.id) > query.after)
        ]
        found.sort(key=lambda u: (u.created_at, u.id))
        return found[: max(query.limit, 0)]

    @staticmethod
    def _check_unique(tables: _Tables, user: User) -> None:
        """Raise when another live user has the email or username of live ``user``."""
        if user.deleted_at is not None:
            return
        others = [u for u in tables.users.values() if u.id != user.id and u.deleted_at is None]
        if any(u.email == user.email for u in others):
            raise EmailTaken
        if any(u.username == user.username for u in others):
            raise UsernameTaken


class _Sessions(_Repository):
    """Login sessions."""

    async def add(self, session: LoginSession) -> None:
        if session.uid in self._read().sessions:
            raise ValueError(f"a session with uid {session.uid} already exists")
        self._write().sessions[session.uid] = session

    async def get(self, uid: UUID) -> LoginSession | None:
        return self._read().sessions.get(uid)

    async def get_by_token_hash(self, token_hash: str) -> LoginSession | None:
        return next((s for s in self._read().sessions.values() if s.token_hash == token_hash), None)

    async def get_with_user(self, token_hash: str) -> tuple[LoginSession, User] | None:
        tables = self._read()
        session = next((s for s in tables.sessions.values() if s.token_hash == token_hash), None)
        user = tables.users.get(session.user_id) if session is not None else None
        return (session, user) if session is not None and user is not None else None

    async def touch(self, uid: UUID, now: datetime) -> bool:
        session = self._read().sessions.get(uid)
        if session is None or session.revoked_at is not None or session.last_seen_at >= now:
            return False
        self._write().sessions[uid] = attrs.evolve(session, last_seen_at=now)
        return True

    async def revoke(self, uid: UUID, now: datetime) -> bool:
        session = self._read().sessions.get(uid)
        if session is None or session.revoked_at is not None:
            return False
        self._write().sessions[uid] = attrs.evolve(session, revoked_at=now)
        return True

    async def carry_over(self, uid: UUID, credential_version: int) -> bool:
        session = self._read().sessions.get(uid)
        if session is None or session.revoked_at is not None:
            return False
        self._write().sessions[uid] = attrs.evolve(session, credential_version=credential_version)
        return True

    async def list_active(
        self,
        user_id: UUID,
        now: datetime,
        *,
        before: tuple[datetime, UUID] | None = None,
        limit: int | None = None,
    ) -> Sequence[LoginSession]:
        found = [
            s
            for s in self._read().sessions.values()
            if s.user_id == user_id
            and s.is_active(now)
            and (before is None or (s.created_at, s.uid) < before)
        ]
        found.sort(key=lambda s: (s.created_at, s.uid), reverse=True)
        return found if limit is None else found[: max(limit, 0)]

    async def revoke_all(
        self, user_id: UUID, now: datetime, *, except_uid: UUID | None = None
    ) -> int:
        targets = [
            s
            for s in self._read().sessions.values()
            if s.user_id == user_id and s.uid != except_uid and s.is_active(now)
        ]
        if targets:
            sessions = self._write().sessions
            for s in targets:
                sessions[s.uid] = attrs.evolve(s, revoked_at=now)
        return len(targets)


class _Registrations(_Repository):
    """Registrations waiting for their code."""

    async def add(self, registration: IssuedRegistration) -> None:
        if registration.id in self._read().registrations:
            raise ValueError(f"a registration with id {registration.id} already exists")
        self._write().registrations[registration.id] = registration

    async def get_by_token_hash(self, token_hash: str) -> IssuedRegistration | None:
        return next(
            (r for r in self._read().registrations.values() if r.token_hash == token_hash),
            None,
        )

    async def update(self, registration: IssuedRegistration) -> None:
        if registration.id in self._read().registrations:
            self._write().registrations[registration.id] = registration


class _Recoveries(_Repository):
    """Password-recovery tokens."""

    async def add(self, recovery: IssuedLoginRecovery) -> None:
        if recovery.id in self._read().recoveries:
            raise ValueError(f"a recovery with id {recovery.id} already exists")
        self._write().recoveries[recovery.id] = recovery

    async def get_by_token_hash(self, token_hash: str) -> IssuedLoginRecovery | None:
        return next(
            (r for r in self._read().recoveries.values() if r.token_hash == token_hash), None
        )

    async def update(self, recovery: IssuedLoginRecovery) -> None:
        if recovery.id in self._read().recoveries:
            self._write().recoveries[recovery.id] = recovery


class _Events(_Repository):
    """Events and their views."""

    async def add(self, event: Event) -> None:
        if event.id in self._read().events:
            raise ValueError(f"an event with id {event.id} already exists")
        self._write().events[event.id] = event

    async def update(self, event: Event) -> None:
        if event.id in self._read().events:
            self._write().events[event.id] = event

    async def get(self, event_id: UUID) -> Event | None:
        return self._read().events.get(event_id)

    async def get_for_update(self, event_id: UUID) -> Event | None:
        # Units of work take turns, so whatever this one reads stays as it is until
        # it ends: the lock is implied.
        return self._read().events.get(event_id)

    async def get_view(self, event_id: UUID, viewer_id: UUID | None) -> EventView | None:
        tables = self._read()
        event = tables.events.get(event_id)
        if event is None:
            return None
        return _views(tables, [event], viewer_id)[0]

    async def list_views(
        self, query: EventQuery, now: datetime, viewer_id: UUID | None
    ) -> Sequence[EventView]:
        tables = self._read()
        lower = query.starts_from
        if lower is None and not query.include_finished:
            lower = now
        needle = query.text.casefold() if query.text else None
        wanted: set[UUID] | None = None
        if query.participant_id is not None:
            wanted = {
                p.event_id
                for p in (row.participation for row in tables.participations.values())
                if p.user_id == query.participant_id and p.status in query.participant_statuses
            }
        found = [
            e
            for e in tables.events.values()
            if (lower is None or e.ends_at > lower)
            and (query.starts_before is None or e.starts_at < query.starts_before)
            and (query.include_rejected or e.rejected_at is None)
            and (wanted is None or e.id in wanted)
            and (query.after is None or (e.starts_at, e.id) > query.after)
            and (
                needle is None
                or _casefold_contains(
                    needle, (e.name, e.short_description, e.description, e.location)
                )
            )
        ]
        found.sort(key=lambda e: (e.starts_at, e.id))
        return _views(tables, found[: max(query.limit, 0)], viewer_id)


def _views(tables: _Tables, events: Sequence[Event], viewer_id: UUID | None) -> list[EventView]:
    """``events`` with their live counts and the viewer's status, in one pass."""
    participating = dict.fromkeys((e.id for e in events), 0)
    waitlisted = dict.fromkeys((e.id for e in events), 0)
    mine: dict[UUID, ParticipationStatus] = {}
    for row in tables.participations.values():
        p = row.participation
        if p.event_id not in participating:
            continue
        if p.status is ParticipationStatus.PARTICIPATING:
            participating[p.event_id] += 1
        elif p.status is ParticipationStatus.WAITLISTED:
            waitlisted[p.event_id] += 1
        if viewer_id is not None and p.user_id == viewer_id:
            mine[p.event_id] = p.status
    return [
        EventView(
            event=e,
            participants_count=participating[e.id],
            waitlist_count=waitlisted[e.id],
            my_status=mine.get(e.id),
        )
        for e in events
    ]


class _Participations(_Repository):
    """Participations, one per (event, user)."""

    async def get(self, event_id: UUID, user_id: UUID) -> Participation | None:
        row = self._read().participations.get((event_id, user_id))
        return None if row is None else row.participation

    async def save(self, participation: Participation) -> None:
        tables = self._write()
        key = (participation.event_id, participation.user_id)
        old = tables.participations.get(key)
        if old is None or old.participation.status is not participation.status:
            seq = tables.next_seq()
        else:
            seq = old.seq
        if old is not None:  # the reminder claim is not the saver's to change
            participation = attrs.evolve(
                participation, reminder_queued_at=old.participation.reminder_queued_at
            )
        tables.participations[key] = _ParticipationRow(participation, seq)

    async def count(self, event_id: UUID, status: ParticipationStatus) -> int:
        return sum(
            1
            for row in self._read().participations.values()
            if row.participation.event_id == event_id and row.participation.status is status
        )

    async def next_waitlisted(self, event_id: UUID) -> Participation | None:
        rows = [
            row
            for row in self._read().participations.values()
            if row.participation.event_id == event_id
            and row.participation.status is ParticipationStatus.WAITLISTED
        ]
        if not rows:
            return None
        first = min(rows, key=lambda row: (row.participation.status_changed_at, row.seq))
        return first.participation

    async def list_participants(
        self,
        event_id: UUID,
        *,
        status: ParticipationStatus | None,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> Sequence[Participant]:
        tables = self._read()
        found = [
            Participant(user=user, participation=p)
            for p in (row.participation for row in tables.participations.values())
            if p.event_id == event_id
            and (status is None or p.status is status)
            and (after is None or (p.created_at, p.user_id) > after)
            and (user := tables.users.get(p.user_id)) is not None
        ]
        found.sort(key=lambda x: (x.participation.created_at, x.participation.user_id))
        return found[: max(limit, 0)]

    async def list_for_user(
        self, user_id: UUID, statuses: frozenset[ParticipationStatus]
    ) -> Sequence[Participation]:
        found = [
            row.participation
            for row in self._read().participations.values()
            if row.participation.user_id == user_id and row.participation.status in statuses
        ]
        found.sort(key=lambda p: (p.created_at, p.event_id))
        return found

    async def clear_reminders(self, event_id: UUID) -> int:
        keys = [
            key
            for key, row in self._read().participations.items()
            if key[0] == event_id and row.participation.reminder_queued_at is not None
        ]
        if keys:
            rows = self._write().participations
            for key in keys:
                row = rows[key]
                rows[key] = attrs.evolve(
                    row, participation=attrs.evolve(row.participation, reminder_queued_at=None)
                )
        return len(keys)

    async def claim_due_reminders(
        self, now: datetime, horizon: datetime, limit: int
    ) -> ReminderClaims:
        tables = self._read()
        due: list[tuple[Event, User, Participation]] = []
        for row in tables.participations.values():
            p = row.participation
            if (
                p.status is not ParticipationStatus.PARTICIPATING
                or p.reminder_queued_at is not None
            ):
                continue
            event = tables.events.get(p.event_id)
            user = tables.users.get(p.user_id)
            if (
                event is not None
                and user is not None
                and user.deleted_at is None
                and event.rejected_at is None
                and now < event.starts_at <= horizon
            ):
                due.append((event, user, p))
        due.sort(key=lambda d: (d[0].starts_at, d[0].id, d[1].id))
        claimed = due[: max(limit, 0)]
        if not claimed:
            return ReminderClaims()
        rows = self._write().participations
        for event, user, p in claimed:
            key = (event.id, user.id)
            updated = attrs.evolve(p, reminder_queued_at=now)
            rows[key] = attrs.evolve(rows[key], participation=updated)
        return ReminderClaims(
            events={event.id: event for event, _, _ in claimed},
            due=[
                DueReminder(
                    event_id=event.id, user_id=user.id, email=user.email, locale=user.locale
                )
                for event, user, _ in claimed
            ],
        )


class _Notifications(_Repository):
    """In-app notifications."""

    async def add_broadcasts(self, broadcasts: Sequence[Broadcast], now: datetime) -> int:
        notifications = [
            b.notification(user_id, uuid4(), now) for b in broadcasts for user_id, _ in b.recipients
        ]
        emails = [
            OutboxMessage(id=uuid4(), email=b.email(to), created_at=now, next_attempt_at=now)
            for b in broadcasts
            for _, to in b.recipients
        ]
        tables = self._write()
        for notification in notifications:
            tables.notifications[notification.id] = notification
        for message in emails:
            tables.outbox[message.id] = message
        return len(notifications)

    async def add(self, notification: InstantNotification) -> None:
        if notification.id in self._read().notifications:
            raise ValueError(f"a notification with id {notification.id} already exists")
        self._write().notifications[notification.id] = notification

    async def add_many(self, notifications: Sequence[InstantNotification]) -> None:
        for notification in notifications:
            await self.add(notification)

    async def get(self, notification_id: UUID) -> InstantNotification | None:
        return self._read().notifications.get(notification_id)

    async def ack(
        self, notification_id: UUID, user_id: UUID, now: datetime
    ) -> InstantNotification | None:
        notification = self._read().notifications.get(notification_id)
        if notification is None or notification.user_id != user_id:
            return None
        if notification.acked_at is None:
            notification = attrs.evolve(notification, acked_at=now)
            self._write().notifications[notification_id] = notification
        return notification

    async def list(
        self,
        user_id: UUID,
        *,
        unacked_only: bool,
        before: tuple[datetime, UUID] | None,
        limit: int,
    ) -> Sequence[InstantNotification]:
        found = [
            n
            for n in self._read().notifications.values()
            if n.user_id == user_id
            and (not unacked_only or n.acked_at is None)
            and (before is None or (n.created_at, n.id) < before)
        ]
        found.sort(key=lambda n: (n.created_at, n.id), reverse=True)
        return found[: max(limit, 0)]

    async def ack_all(self, user_id: UUID, now: datetime) -> int:
        targets = [
            n
            for n in self._read().notifications.values()
            if n.user_id == user_id and n.acked_at is None
        ]
        if targets:
            notifications = self._write().notifications
            for n in targets:
                notifications[n.id] = attrs.evolve(n, acked_at=now)
        return len(targets)


class _Outbox(_Repository):
    """Emails waiting for delivery."""

    async def add(self, message: OutboxMessage) -> None:
        if message.id in self._read().outbox:
            raise ValueError(f"an outbox message with id {message.id} already exists")
        self._write().outbox[message.id] = message

    async def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        for message in messages:
            await self.add(message)

    async def get(self, message_id: UUID) -> OutboxMessage | None:
        return self._read().outbox.get(message_id)

    async def update(self, message: OutboxMessage) -> None:
        if message.id in self._read().outbox:
            self._write().outbox[message.id] = message

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[OutboxMessage]:
        due = [
            m
            for m in self._read().outbox.values()
            if m.status is OutboxStatus.PENDING and m.next_attempt_at <= now
        ]
        due.sort(key=lambda m: (m.next_attempt_at, m.created_at, m.id))
        claimed = [attrs.evolve(m, next_attempt_at=lease_until) for m in due[: max(limit, 0)]]
        if claimed:
            outbox = self._write().outbox
            for m in claimed:
                outbox[m.id] = m
        return claimed


class _Totp(_Repository):
    """TOTP credentials and recovery codes."""

    async def get(self, user_id: UUID) -> TotpCredential | None:
        return self._read().totp.get(user_id)

    async def put(self, credential: TotpCredential) -> None:
        self._write().totp[credential.user_id] = credential

    async def use_step(self, user_id: UUID, step: int) -> bool:
        credential = self._read().totp.get(user_id)
        if (
            credential is None
            or credential.confirmed_at is None
            or (credential.last_step is not None and credential.last_step >= step)
        ):
            return False
        self._write().totp[user_id] = attrs.evolve(credential, last_step=step)
        return True

    async def delete(self, user_id: UUID) -> bool:
        tables = self._read()
        codes = [c.id for c in tables.recovery_codes.values() if c.user_id == user_id]
        if user_id not in tables.totp and not codes:
            return False
        tables = self._write()
        for code_id in codes:
            del tables.recovery_codes[code_id]
        return tables.totp.pop(user_id, None) is not None

    async def add_recovery_codes(self, codes: Sequence[TotpRecoveryCode]) -> None:
        tables = self._read()
        for code in codes:
            if code.id in tables.recovery_codes:
                raise ValueError(f"a recovery code with id {code.id} already exists")
        if codes:
            stored = self._write().recovery_codes
            for code in codes:
                stored[code.id] = code

    async def use_recovery_code(self, user_id: UUID, code_hash: str, now: datetime) -> bool:
        found = next(
            (
                c
                for c in self._read().recovery_codes.values()
                if c.user_id == user_id and c.code_hash == code_hash and c.used_at is None
            ),
            None,
        )
        if found is None:
            return False
        self._write().recovery_codes[found.id] = attrs.evolve(found, used_at=now)
        return True

    async def list_recovery_codes(self, user_id: UUID) -> Sequence[TotpRecoveryCode]:
        found = [c for c in self._read().recovery_codes.values() if c.user_id == user_id]
        found.sort(key=lambda c: (c.created_at, c.id))
        return found


class _Audit(_Repository):
    """The audit log: a tuple that only ever grows."""

    async def add(self, entry: AuditEntry) -> None:
        tables = self._read()
        if any(e.id == entry.id for e in tables.audit):
            raise ValueError(f"an audit entry with id {entry.id} already exists")
        tables = self._write()
        tables.audit = (*tables.audit, entry)

    async def list(self, query: AuditQuery) -> Sequence[AuditEntry]:
        found = [
            e
            for e in self._read().audit
            if (query.actor_id is None or e.actor_id == query.actor_id)
            and (query.action is None or e.action is query.action)
            and (query.target_id is None or e.target_id == query.target_id)
            and (query.involving is None or query.involving in (e.actor_id, e.target_id))
            and (query.starts_from is None or e.at >= query.starts_from)
            and (query.starts_before is None or e.at < query.starts_before)
            and (query.before is None or (e.at, e.id) < query.before)
        ]
        found.sort(key=lambda e: (e.at, e.id), reverse=True)
        return found[: max(query.limit, 0)]


class _CalendarFeeds(_Repository):
    """Personal calendar feeds, one per user."""

    async def get_by_token_hash(self, token_hash: str) -> CalendarFeed | None:
        return next(
            (f for f in self._read().calendar_feeds.values() if f.token_hash == token_hash), None
        )

    async def put(self, feed: CalendarFeed) -> None:
        tables = self._read()
        if any(
            f.token_hash == feed.token_hash and f.user_id != feed.user_id
            for f in tables.calendar_feeds.values()
        ):
            raise ValueError("a calendar feed with this token hash already exists")
        self._write().calendar_feeds[feed.user_id] = feed

    async def delete(self, user_id: UUID) -> bool:
        if user_id not in self._read().calendar_feeds:
            return False
        del self._write().calendar_feeds[user_id]
        return True


class _Webhooks(_Repository):
    """Webhooks and their deliveries."""

    async def add(self, webhook: Webhook) -> None:
        if webhook.id in self._read().webhooks:
            raise ValueError(f"a webhook with id {webhook.id} already exists")
        self._write().webhooks[webhook.id] = webhook

    async def get(self, webhook_id: UUID) -> Webhook | None:
        return self._read().webhooks.get(webhook_id)

    async def list(self, *, after: tuple[datetime, UUID] | None, limit: int) -> Sequence[Webhook]:
        found = [
            w
            for w in self._read().webhooks.values()
            if after is None or (w.created_at, w.id) > after
        ]
        found.sort(key=lambda w: (w.created_at, w.id))
        return found[: max(limit, 0)]

    async def delete(self, webhook_id: UUID) -> bool:
        tables = self._read()
        if webhook_id not in tables.webhooks:
            return False
        tables = self._write()
        del tables.webhooks[webhook_id]
        for key in [k for k, d in tables.deliveries.items() if d.webhook_id == webhook_id]:
            del tables.deliveries[key]
        return True

    async def list_subscribed(self, event_type: str) -> Sequence[Webhook]:
        found = [
            w
            for w in self._read().webhooks.values()
            if w.disabled_at is None and event_type in w.event_types
        ]
        found.sort(key=lambda w: (w.created_at, w.id))
        return found

    async def add_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> None:
        tables = self._read()
        for delivery in deliveries:
            if delivery.id in tables.deliveries:
                raise ValueError(f"a delivery with id {delivery.id} already exists")
        if deliveries:
            stored = self._write().deliveries
            for delivery in deliveries:
                stored[delivery.id] = delivery

    async def list_deliveries(
        self, webhook_id: UUID, *, before: tuple[datetime, UUID] | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        found = [
            d
            for d in self._read().deliveries.values()
            if d.webhook_id == webhook_id and (before is None or (d.created_at, d.id) < before)
        ]
        found.sort(key=lambda d: (d.created_at, d.id), reverse=True)
        return found[: max(limit, 0)]

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[DueDelivery]:
        tables = self._read()
        due = [
            d
            for d in tables.deliveries.values()
            if d.status is DeliveryStatus.PENDING
            and d.next_attempt_at is not None
            and d.next_attempt_at <= now
            and d.webhook_id in tables.webhooks
            and tables.webhooks[d.webhook_id].disabled_at is None
        ]
        due.sort(key=lambda d: (d.next_attempt_at or now, d.id))
        claimed = [attrs.evolve(d, next_attempt_at=lease_until) for d in due[: max(limit, 0)]]
        if claimed:
            tables = self._write()
            for d in claimed:
                tables.deliveries[d.id] = d
        return [DueDelivery(delivery=d, webhook=tables.webhooks[d.webhook_id]) for d in claimed]

    async def finish_attempt(self, delivery: WebhookDelivery, lease_until: datetime) -> bool:
        stored = self._read().deliveries.get(delivery.id)
        if (
            stored is None
            or stored.status is not DeliveryStatus.PENDING
            or stored.next_attempt_at != lease_until
        ):
            return False
        self._write().deliveries[delivery.id] = attrs.evolve(
            stored,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            delivered_at=delivery.delivered_at,
        )
        return True

    async def mark_success(self, webhook_id: UUID) -> None:
        webhook = self._read().webhooks.get(webhook_id)
        if webhook is not None and webhook.failing_since is not None:
            self._write().webhooks[webhook_id] = attrs.evolve(webhook, failing_since=None)

    async def mark_failure(self, webhook_id: UUID, now: datetime, disable_before: datetime) -> bool:
        webhook = self._read().webhooks.get(webhook_id)
        if webhook is None:
            return False
        failing_since = webhook.failing_since or now
        disable = webhook.disabled_at is None and failing_since <= disable_before
        updated = attrs.evolve(
            webhook,
            failing_since=failing_since,
            disabled_at=now if disable else webhook.disabled_at,
        )
        if updated != webhook:
            self._write().webhooks[webhook_id] = updated
        return disable


class _PersonalData(_Repository):
    """One person's rows across the tables."""

    async def list_sessions(self, user_id: UUID) -> Sequence[LoginSession]:
        found = [s for s in self._read().sessions.values() if s.user_id == user_id]
        found.sort(key=lambda s: (s.created_at, s.uid), reverse=True)
        return found

    async def list_recoveries(self, user_id: UUID) -> Sequence[IssuedLoginRecovery]:
        found = [r for r in self._read().recoveries.values() if r.user_id == user_id]
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return found

    async def list_registrations(self, email: str) -> Sequence[IssuedRegistration]:
        found = [r for r in self._read().registrations.values() if r.email == email]
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return found

    async def list_notifications(self, user_id: UUID) -> Sequence[InstantNotification]:
        found = [n for n in self._read().notifications.values() if n.user_id == user_id]
        found.sort(key=lambda n: (n.created_at, n.id), reverse=True)
        return found

    async def list_mail(self, email: str) -> Sequence[OutboxMessage]:
        found = [m for m in self._read().outbox.values() if m.email.to == email]
        found.sort(key=lambda m: (m.created_at, m.id), reverse=True)
        return found

    async def list_erasable(self, deleted_before: datetime, limit: int) -> Sequence[UUID]:
        found = [
            u
            for u in self._read().users.values()
            if u.deleted_at is not None and u.deleted_at <= deleted_before and u.erased_at is None
        ]
        found.sort(key=lambda u: (u.deleted_at or deleted_before, u.id))
        return [u.id for u in found[: max(limit, 0)]]

    async def delete_rows(self, user_id: UUID, email: str) -> int:
        tables = self._read()
        doomed = {
            "sessions": [k for k, s in tables.sessions.items() if s.user_id == user_id],
            "recoveries": [k for k, r in tables.recoveries.items() if r.user_id == user_id],
            "notifications": [k for k, n in tables.notifications.items() if n.user_id == user_id],
            "recovery_codes": [k for k, c in tables.recovery_codes.items() if c.user_id == user_id],
            "totp": [k for k in tables.totp if k == user_id],
            "calendar_feeds": [k for k in tables.calendar_feeds if k == user_id],
            "registrations": [k for k, r in tables.registrations.items() if r.email == email],
            "outbox": [k for k, m in tables.outbox.items() if m.email.to == email],
        }
        count = sum(len(keys) for keys in doomed.values())
        if count:
            tables = self._write()
            for name, keys in doomed.items():
                table: dict[UUID, object] = getattr(tables, name)
                for key in keys:
                    del table[key]
        return count
