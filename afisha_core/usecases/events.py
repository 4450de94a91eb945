"""Publishing, editing, cancelling and listing events, and their pictures."""

from __future__ import annotations

import enum
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from afisha_core._pagination import decode_cursor
from afisha_core._validation import check_fields
from afisha_core.domain import (
    AuditAction,
    AuditTarget,
    Event,
    EventView,
    Page,
    Participant,
    ParticipationStatus,
    User,
)
from afisha_core.domain.audit import DetailValue
from afisha_core.errors import (
    CapacityTooLow,
    EventRejected,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from afisha_core.images import IMAGE_TYPES, sniff_image_type
from afisha_core.ports import Clock, EventQuery, ObjectStorage, UnitOfWork, UnitOfWorkFactory
from afisha_core.settings import Settings
from afisha_core.usecases import messages
from afisha_core.usecases._common import check_limit, make_page, notify, require_admin
from afisha_core.usecases.audit import record
from afisha_core.usecases.participation import fill_free_spots
from afisha_core.usecases.webhooks import event_data, queue_webhooks

__all__ = ["UNSET", "EventDraft", "EventPatch", "EventService", "Unset"]

logger = logging.getLogger(__name__)

_ACTIVE = frozenset({ParticipationStatus.PARTICIPATING, ParticipationStatus.WAITLISTED})


class Unset(enum.Enum):
    """Marks a field of :class:`EventPatch` that is not being changed."""

    UNSET = "UNSET"


UNSET = Unset.UNSET
"""The value of an :class:`EventPatch` field that is left as it is."""

_EDITABLE = (
    "name",
    "short_description",
    "description",
    "starts_at",
    "ends_at",
    "timezone",
    "location",
    "payment_info",
    "max_participants_count",
)


@attrs.frozen(kw_only=True)
class EventDraft:
    """What an administrator gives to publish an event."""

    name: str
    starts_at: datetime
    ends_at: datetime
    short_description: str = ""
    description: str = ""
    timezone: str = "UTC"
    location: str = ""
    payment_info: str = ""
    max_participants_count: int | None = None


@attrs.frozen(kw_only=True)
class EventPatch:
    """The fields to change on an event; :data:`UNSET` ones stay as they are."""

    name: str | Unset = UNSET
    short_description: str | Unset = UNSET
    description: str | Unset = UNSET
    starts_at: datetime | Unset = UNSET
    ends_at: datetime | Unset = UNSET
    timezone: str | Unset = UNSET
    location: str | Unset = UNSET
    payment_info: str | Unset = UNSET
    max_participants_count: int | Unset | None = UNSET

    def changes(self) -> dict[str, Any]:
        """The fields that are set, by name."""
        return {name: getattr(self, name) for name in _EDITABLE if getattr(self, name) is not UNSET}


def _as_utc(value: Any) -> Any:
    """An aware datetime in any zone, moved to UTC (naive ones are left for validation)."""
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.astimezone(UTC)
    return value


def _validated(values: dict[str, Any], max_duration: timedelta) -> Event:
    values = {k: _as_utc(v) for k, v in values.items()}
    check_fields(Event, values)
    starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
    if (
        isinstance(starts_at, datetime)
        and isinstance(ends_at, datetime)
        and None not in (starts_at.utcoffset(), ends_at.utcoffset())
        and ends_at - starts_at > max_duration
    ):
        raise ValidationFailed.single(
            "ends_at",
            f"an event lasts at most {max_duration.days} days after starts_at",
            code="too_long_event",
        )
    try:
        return Event(**values)
    except (ValueError, TypeError) as exc:  # pragma: no cover - check_fields ran the same rules
        raise ValidationFailed.single("event", str(exc)) from exc


@attrs.frozen
class EventService:
    """Events: what administrators publish and everybody browses."""

    uow: UnitOfWorkFactory
    clock: Clock
    storage: ObjectStorage
    settings: Settings = attrs.field(factory=Settings)

    # --- administrators ----------------------------------------------------------

    async def create(
        self, actor: User, draft: EventDraft, *, client_address: str | None = None
    ) -> EventView:
        """Publish an event (administrators only). Raises :class:`ValidationFailed`."""
        require_admin(actor, self.settings)
        now = self.clock.now()
        event = _validated(
            {
                **attrs.asdict(draft, recurse=False),
                "id": uuid.uuid4(),
                "created_by": actor.id,
                "created_at": now,
                "updated_at": now,
            },
            self.settings.max_event_duration,
        )
        async with self.uow() as uow:
            await uow.events.add(event)
            await _audit(uow, now, AuditAction.EVENT_CREATED, actor, event.id, client_address)
            await queue_webhooks(uow, now, "event.created", event_data(event))
            view = await self._view(uow, event.id, actor)
            await uow.commit()
            return view

    async def update(
        self,
        actor: User,
        event_id: uuid.UUID,
        patch: EventPatch,
        *,
        client_address: str | None = None,
    ) -> EventView:
        """Edit an event (administrators only).

        Participants are told when the time or place changes; a new start re-arms the
        reminders; more capacity promotes waiting users. Raises :class:`NotFound`,
        :class:`EventRejected`, :class:`ValidationFailed` and :class:`CapacityTooLow`.
        """
        require_admin(actor, self.settings)
        changes = patch.changes()
        now = self.clock.now()
        async with self.uow() as uow:
            before = await uow.events.get_for_update(event_id)
            if before is None:
                raise NotFound
            if before.is_rejected:
                raise EventRejected("A cancelled event cannot be edited.")
            if not changes:
                return await self._view(uow, event_id, actor)
            event = _validated(
                {**attrs.asdict(before, recurse=False), **changes, "updated_at": now},
                self.settings.max_event_duration,
            )
            if event.max_participants_count is not None:
                participants = await uow.participations.count(
                    event_id, ParticipationStatus.PARTICIPATING
                )
                if event.max_participants_count < participants:
                    raise CapacityTooLow(
                        f"{participants} people already participate; the capacity cannot be lower."
                    )
            await uow.events.update(event)
            await queue_webhooks(uow, now, "event.updated", event_data(event))
            if event.starts_at != before.starts_at:
                await uow.participations.clear_reminders(event_id)
            moved = (event.starts_at, event.ends_at, event.timezone) != (
                before.starts_at,
                before.ends_at,
                before.timezone,
            )
            if (moved or event.location != before.location) and not event.is_finished(now):
                for participant in await self._active_participants(uow, event_id):
                    locale = participant.user.locale
                    message = messages.event_changed(event, before, self.settings, locale)
                    await notify(uow, now, participant.user, message)
            await fill_free_spots(uow, event, now, self.settings)
            await _audit(
                uow,
                now,
                AuditAction.EVENT_UPDATED,
                actor,
                event_id,
                client_address,
                {"fields": ",".join(sorted(changes))},
            )
            view = await self._view(uow, event_id, actor)
            await uow.commit()
            return view

    async def reject(
        self,
        actor: User,
        event_id: uuid.UUID,
        reason: str | None = None,
        *,
        client_address: str | None = None,
    ) -> EventView:
        """Cancel an event (administrators only); idempotent.

        Everyone participating or waiting gets a notification and an email.
        Raises :class:`NotFound` and :class:`ValidationFailed` for an over-long reason.
        """
        require_admin(actor, self.settings)
        reason = (reason or "").strip() or None
        try:
            check_fields(Event, {"rejection_reason": reason})
        except ValidationFailed as exc:
            first = exc.errors[0]
            raise ValidationFailed.single("reason", first.message, code=first.code) from None
        now = self.clock.now()
        async with self.uow() as uow:
            event = await uow.events.get_for_update(event_id)
            if event is None:
                raise NotFound
            if event.is_rejected:
                return await self._view(uow, event_id, actor)
            event = attrs.evolve(event, rejected_at=now, rejection_reason=reason, updated_at=now)
            await uow.events.update(event)
            await queue_webhooks(uow, now, "event.cancelled", event_data(event))
            for participant in await self._active_participants(uow, event_id):
                locale = participant.user.locale
                message = messages.event_cancelled(event, self.settings, locale)
                await notify(uow, now, participant.user, message)
            await _audit(uow, now, AuditAction.EVENT_CANCELLED, actor, event_id, client_address)
            view = await self._view(uow, event_id, actor)
            await uow.commit()
            return view

    async def set_image(
        self,
        actor: User,
        event_id: uuid.UUID,
        data: bytes,
        content_type: str | None = None,
        *,
        client_address: str | None = None,
    ) -> EventView:
        """Store a new picture for the event (administrators only).

        The content must be PNG, JPEG or WebP by its magic bytes (and match
        ``content_type`` when given) and at most ``settings.max_image_bytes``. The old
        picture is deleted once the new one is in place. Raises :class:`NotFound`,
        :class:`PayloadTooLarge` and :class:`UnsupportedMediaType`.
        """
        require_admin(actor, self.settings)
        if len(data) > self.settings.max_image_bytes:
            raise PayloadTooLarge(
                f"The image must be at most {self.settings.max_image_bytes} bytes."
            )
        sniffed = sniff_image_type(data)
        declared = (content_type or "").split(";")[0].strip().lower() or None
        if sniffed is None or (declared is not None and declared != sniffed):
            raise UnsupportedMediaType(
                "The image must be PNG, JPEG or WebP, and its content type must match its content."
            )
        async with self.uow() as uow:
            if await uow.events.get(event_id) is None:
                raise NotFound
        key = f"events/{event_id}/{uuid.uuid4().hex}.{IMAGE_TYPES[sniffed]}"
        await self.storage.put(key, data, sniffed)
        try:
            view, old_key = await self._replace_image_key(
                actor, event_id, key, sniffed, client_address
            )
        except BaseException:
            await self.storage.delete(key)
            raise
        if old_key is not None:
            try:
                await self.storage.delete(old_key)
            except Exception:  # the new picture is in place; a stale file is harmless
                logger.warning("could not delete old image %s", old_key, exc_info=True)
        return view

    async def list_participants(
        self,
        actor: User,
        event_id: uuid.UUID,
        *,
        status: ParticipationStatus | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[Participant]:
        """Who signed up (administrators only), in sign-up order."""
        require_admin(actor, self.settings)
        check_limit(limit)
        after = decode_cursor(cursor) if cursor else None
        async with self.uow() as uow:
            if await uow.events.get(event_id) is None:
                raise NotFound
            rows = await uow.participations.list_participants(
                event_id, status=status, after=after, limit=limit + 1
            )
        return make_page(
            rows, limit, lambda p: (p.participation.created_at, p.participation.user_id)
        )

    async def _replace_image_key(
        self,
        actor: User,
        event_id: uuid.UUID,
        key: str,
        content_type: str,
        client_address: str | None,
    ) -> tuple[EventView, str | None]:
        now = self.clock.now()
        async with self.uow() as uow:
            event = await uow.events.get_for_update(event_id)
            if event is None:
                raise NotFound
            await uow.events.update(attrs.evolve(event, image_key=key, updated_at=now))
            await _audit(
                uow,
                now,
                AuditAction.EVENT_IMAGE_SET,
                actor,
                event_id,
                client_address,
                {"content_type": content_type},
            )
            view = await self._view(uow, event_id, actor)
            await uow.commit()
            return view, event.image_key

    # --- everybody ---------------------------------------------------------------

    async def get(self, viewer: User | None, event_id: uuid.UUID) -> EventView:
        """One event as ``viewer`` sees it (``None`` for anonymous).

        A cancelled event stays reachable by its id for anyone (with its
        ``rejected_at``), so links in mails and calendar subscriptions show the
        cancellation instead of breaking; listings still leave it out. Raises
        :class:`NotFound` for an unknown id.
        """
        async with self.uow(read_only=True) as uow:
            view = await uow.events.get_view(event_id, viewer.id if viewer else None)
        if view is None:
            raise NotFound
        return view

    async def list_events(
        self,
        viewer: User | None,
        *,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        text: str | None = None,
        include_rejected: bool = False,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[EventView]:
        """A page of events in ``(starts_at, id)`` order.

        By default only events that are not cancelled and have not ended; with a
        time range, events overlapping it. ``include_rejected`` is for administrators
        (:class:`Forbidden` otherwise).
        """
        check_limit(limit)
        for name, value in (("from", starts_from), ("to", starts_before)):
            if value is not None and value.utcoffset() is None:
                raise ValidationFailed.single(name, "must include a UTC offset", code="no_offset")
        if include_rejected and (viewer is None or not viewer.is_admin):
            raise Forbidden("Only administrators can list cancelled events.")
        if starts_from and starts_before and starts_before <= starts_from:
            raise ValidationFailed.single("to", "must be after 'from'", code="before_start")
        query = EventQuery(
            starts_from=starts_from,
            starts_before=starts_before,
            text=(text or "").strip() or None,
            include_rejected=include_rejected,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        return await self._list(query, viewer, limit)

    async def list_my_events(
        self,
        actor: User,
        *,
        status: ParticipationStatus | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[EventView]:
        """The events the actor participates in or waits for, in ``(starts_at, id)`` order.

        With ``status``, those where the actor has that status. Past and cancelled
        events are included.
        """
        check_limit(limit)
        query = EventQuery(
            include_finished=True,
            include_rejected=True,
            participant_id=actor.id,
            participant_statuses=frozenset({status}) if status else _ACTIVE,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        return await self._list(query, actor, limit)

    # --- helpers -----------------------------------------------------------------

    async def _list(self, query: EventQuery, viewer: User | None, limit: int) -> Page[EventView]:
        async with self.uow(read_only=True) as uow:
            rows = await uow.events.list_views(
                query, self.clock.now(), viewer.id if viewer else None
            )
        return make_page(rows, limit, lambda v: (v.event.starts_at, v.event.id))

    @staticmethod
    async def _view(uow: UnitOfWork, event_id: uuid.UUID, actor: User) -> EventView:
        view = await uow.events.get_view(event_id, actor.id)
        if view is None:  # pragma: no cover - we hold the event
            raise NotFound
        return view

    @staticmethod
    async def _active_participants(uow: UnitOfWork, event_id: uuid.UUID) -> list[Participant]:
        found: list[Participant] = []
        after = None
        while True:
            page = await uow.participations.list_participants(
                event_id, status=None, after=after, limit=500
            )
            found.extend(p for p in page if p.participation.is_active and not p.user.is_deleted)
            if len(page) < 500:
                return found
            last = page[-1].participation
            after = (last.created_at, last.user_id)


async def _audit(
    uow: UnitOfWork,
    now: datetime,
    action: AuditAction,
    actor: User,
    event_id: uuid.UUID,
    client_address: str | None,
    details: dict[str, DetailValue] | None = None,
) -> None:
    """Write an administrator's action on an event to the audit log."""
    await record(
        uow,
        now,
        action,
        actor_id=actor.id,
        target=AuditTarget.EVENT,
        target_id=event_id,
        client_address=client_address,
        details=details,
    )
