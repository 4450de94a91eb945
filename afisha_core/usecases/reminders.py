"""Reminders before events start, claimed in batches by the scheduler."""

from __future__ import annotations

from uuid import UUID

import attrs

from afisha_core.ports import Clock, UnitOfWorkFactory
from afisha_core.settings import Settings
from afisha_core.usecases import messages
from afisha_core.usecases._common import broadcast_of

__all__ = ["ReminderService"]


@attrs.frozen
class ReminderService:
    """One scheduler tick: remind every participant whose event starts within the lead."""

    uow: UnitOfWorkFactory
    clock: Clock
    settings: Settings = attrs.field(factory=Settings)

    async def send_due(self, *, max_batches: int | None = None) -> int:
        """Claim due reminders batch by batch; each claim writes a notification and an email.

        Claims are exclusive (two workers never remind the same participation) and a
        batch commits as a whole. Returns how many reminders were queued.
        """
        total = 0
        batches = 0
        size = self.settings.reminder_batch_size
        while max_batches is None or batches < max_batches:
            now = self.clock.now()
            async with self.uow() as uow:
                claims = await uow.participations.claim_due_reminders(
                    now, now + self.settings.reminder_lead, size
                )
                # One text per event and language, written once for all its recipients.
                groups: dict[tuple[UUID, str], list[tuple[UUID, str]]] = {}
                for item in claims:
                    groups.setdefault((item.event_id, item.locale), []).append(
                        (item.user_id, item.email)
                    )
                broadcasts = [
                    broadcast_of(
                        messages.reminder(claims.events[event_id], self.settings, locale),
                        recipients,
                        now,
                    )
                    for (event_id, locale), recipients in groups.items()
                ]
                await uow.notifications.add_broadcasts(broadcasts, now)
                await uow.commit()
            total += len(claims)
            batches += 1
            if len(claims) < size:
                break
        return total
