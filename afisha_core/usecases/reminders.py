"""Reminders before events start, claimed in batches by the scheduler."""

from __future__ import annotations

import attrs

from afisha_core.ports import Clock, UnitOfWorkFactory
from afisha_core.settings import Settings
from afisha_core.usecases import messages
from afisha_core.usecases._common import notification_for, outbox_message_for

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
                notifications, emails = [], []
                # One text per event and language, in the recipient's language.
                texts: dict[tuple[object, str], messages.Message] = {}
                for item in due:
                    key = (item.event.id, item.user.locale)
                    message = texts.get(key)
                    if message is None:
                        message = messages.reminder(item.event, self.settings, item.user.locale)
                        texts[key] = message
                    notifications.append(notification_for(item.user, message, now))
                    emails.append(outbox_message_for(item.user.email, message, now))
                await uow.notifications.add_many(notifications)
                await uow.outbox.add_many(emails)
                await uow.commit()
            total += len(due)
            batches += 1
            if len(due) < size:
                break
        return total
