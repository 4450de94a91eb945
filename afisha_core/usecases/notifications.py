"""A user's in-app notifications."""

from __future__ import annotations

import uuid

import attrs

from afisha_core._pagination import decode_cursor
from afisha_core.domain import InstantNotification, Page, User
from afisha_core.errors import NotFound
from afisha_core.ports import Clock, UnitOfWorkFactory
from afisha_core.usecases._common import check_limit, make_page

__all__ = ["NotificationService"]


@attrs.frozen
class NotificationService:
    """List and acknowledge one's own notifications; nobody sees another's."""

    uow: UnitOfWorkFactory
    clock: Clock

    async def list_notifications(
        self, actor: User, *, unacked_only: bool = False, limit: int = 20, cursor: str | None = None
    ) -> Page[InstantNotification]:
        """A page of the actor's notifications, newest first."""
        check_limit(limit)
        before = decode_cursor(cursor) if cursor else None
        async with self.uow(read_only=True) as uow:
            rows = await uow.notifications.list(
                actor.id, unacked_only=unacked_only, before=before, limit=limit + 1
            )
        return make_page(rows, limit, lambda n: (n.created_at, n.id))

    async def ack(self, actor: User, notification_id: uuid.UUID) -> InstantNotification:
        """Mark one notification as read (idempotent: the first time is kept).

        Raises :class:`NotFound` for an unknown notification or another user's.
        """
        async with self.uow() as uow:
            notification = await uow.notifications.ack(notification_id, actor.id, self.clock.now())
            if notification is None:
                raise NotFound
            await uow.commit()
            return notification

    async def ack_all(self, actor: User) -> int:
        """Mark every unread notification of the actor as read; return how many."""
        async with self.uow() as uow:
            count = await uow.notifications.ack_all(actor.id, self.clock.now())
            await uow.commit()
            return count
