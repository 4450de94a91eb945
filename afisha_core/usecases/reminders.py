"""Reminders before events start, claimed in batches by the scheduler."""

from __future__ import annotations

import attrs

from afisha_core.ports import Clock, UnitOfWorkFactory
from afisha_core.settings import Settings
from afisha_core.usecases import messages
from afisha_core.usecases._common import notify

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
                due = await uow.participations.claim_due_reminders(
                    now, now + self.settings.reminder_lead, size
                )
                for item in due:
                    await notify(uow, now, item.user, messages.reminder(item.event, self.settings))
                await uow.commit()
            total += len(due)
            batches += 1
            if len(due) < size:
                break
        return total
