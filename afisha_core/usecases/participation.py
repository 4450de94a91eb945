"""Joining and leaving events, the waitlist and its promotions.

Every change runs with the event row locked (``events.get_for_update``) so the
capacity check and the write are one atomic step, however many requests race.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from afisha_core.domain import (
    Event,
    EventView,
    Participation,
    ParticipationStatus,
    User,
)
from afisha_core.errors import EventFinished, EventFull, EventRejected, NotFound
from afisha_core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from afisha_core.settings import Settings
from afisha_core.usecases import messages
from afisha_core.usecases._common import notify
from afisha_core.usecases.webhooks import participation_data, queue_webhooks

__all__ = ["ParticipationService", "fill_free_spots", "withdraw"]

_P = ParticipationStatus


async def fill_free_spots(
    uow: UnitOfWork, event: Event, now: datetime, settings: Settings
) -> list[Participation]:
    """Promote the longest-waiting users while the (locked) event has room.

    Each promoted user is notified in the same unit of work. Returns the promotions.
    A cancelled or finished event promotes nobody.
    """
    promoted: list[Participation] = []
    if event.is_rejected or event.is_finished(now):
        return promoted
    participants = await uow.participations.count(event.id, _P.PARTICIPATING)
    while event.has_room(participants):
        waiting = await uow.participations.next_waitlisted(event.id)
        if waiting is None:
            break
        moved = attrs.evolve(waiting, status=_P.PARTICIPATING, status_changed_at=now)
        await uow.participations.save(moved)
        await queue_webhooks(uow, now, "participation.changed", participation_data(moved))
        participants += 1
        promoted.append(moved)
        user = await uow.users.get(moved.user_id)
        if user is not None and not user.is_deleted:
            await notify(uow, now, user, messages.waitlist_promoted(event, settings, user.locale))
    return promoted


async def withdraw(
    uow: UnitOfWork, event: Event, user_id: uuid.UUID, now: datetime, settings: Settings
) -> Participation | None:
    """Set the user's participation in the locked ``event`` to REJECTED and refill.

    Returns the updated participation, or ``None`` when there was none to withdraw.
    """
    current = await uow.participations.get(event.id, user_id)
    if current is None or current.status is _P.REJECTED:
        return current
    left = attrs.evolve(current, status=_P.REJECTED, status_changed_at=now)
    await uow.participations.save(left)
    await queue_webhooks(uow, now, "participation.changed", participation_data(left))
    if current.status is _P.PARTICIPATING:
        await fill_free_spots(uow, event, now, settings)
    return left


@attrs.frozen
class ParticipationService:
    """Join, wait for and leave events."""

    uow: UnitOfWorkFactory
    clock: Clock
    settings: Settings = attrs.field(factory=Settings)

    async def join(self, actor: User, event_id: uuid.UUID, *, waitlist: bool = False) -> EventView:
        """Take a spot at the event (idempotent).

        When the event is full: raises :class:`EventFull`, or with ``waitlist`` puts
        the user on the waitlist (WAITLISTED). Raises :class:`EventRejected` for a
        cancelled event, :class:`EventFinished` for an event that has ended and
        :class:`NotFound` for an unknown one. Returns the event as the user now sees it.
        """
        now = self.clock.now()
        async with self.uow() as uow:
            event = await uow.events.get_for_update(event_id)
            if event is None:
                raise NotFound
            current = await uow.participations.get(event_id, actor.id)
            if current is not None and current.status is _P.PARTICIPATING:
                return await self._view(uow, event_id, actor)
            if event.is_rejected:
                raise EventRejected
            if event.is_finished(now):
                raise EventFinished
            if current is not None and current.status is _P.WAITLISTED:
                # The waitlist only holds people while the event is full.
                if waitlist:
                    return await self._view(uow, event_id, actor)
                raise EventFull
            participants = await uow.participations.count(event_id, _P.PARTICIPATING)
            if event.has_room(participants):
                status = _P.PARTICIPATING
            elif waitlist:
                status = _P.WAITLISTED
            else:
                raise EventFull
            joined = Participation(
                event_id=event_id,
                user_id=actor.id,
                status=status,
                created_at=current.created_at if current else now,
                status_changed_at=now,
                reminder_queued_at=current.reminder_queued_at if current else None,
            )
            await uow.participations.save(joined)
            await queue_webhooks(uow, now, "participation.changed", participation_data(joined))
            view = await self._view(uow, event_id, actor)
            await uow.commit()
            return view

    async def leave(self, actor: User, event_id: uuid.UUID) -> EventView:
        """Give up a spot or a place on the waitlist (idempotent).

        A freed spot goes at once to the longest-waiting user, who is notified.
        Raises :class:`NotFound` for an unknown event (or a cancelled one the user
        never joined) and :class:`EventFinished` once the event has ended.
        """
        now = self.clock.now()
        async with self.uow() as uow:
            event = await uow.events.get_for_update(event_id)
            if event is None:
                raise NotFound
            current = await uow.participations.get(event_id, actor.id)
            if event.is_rejected and (current is None or not current.is_active):
                raise NotFound  # a cancelled event is visible only to its people
            if event.is_finished(now):
                raise EventFinished
            if current is None:
                # Nothing to leave: store nothing (an admin's list stays truthful),
                # but answer as the HTTP contract says, with the caller's status REJECTED.
                view = await self._view(uow, event_id, actor)
                return attrs.evolve(view, my_status=_P.REJECTED)
            await withdraw(uow, event, actor.id, now, self.settings)
            view = await self._view(uow, event_id, actor)
            await uow.commit()
            return view

    @staticmethod
    async def _view(uow: UnitOfWork, event_id: uuid.UUID, actor: User) -> EventView:
        view = await uow.events.get_view(event_id, actor.id)
        if view is None:  # pragma: no cover - the event row is locked by us
            raise NotFound
        return view
