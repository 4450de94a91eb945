"""Mail delivery: send what the outbox holds, with retries and backoff."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import attrs

from afisha_core.domain import OutboxMessage, OutboxStatus
from afisha_core.errors import PermanentDeliveryError
from afisha_core.ports import Clock, Mailer, UnitOfWorkFactory
from afisha_core.settings import Settings

__all__ = ["REDACTED_BODY", "DeliveryReport", "MailDeliveryService", "backoff_delay"]

logger = logging.getLogger(__name__)
_MAX_ERROR_LENGTH = 2_000
#: What a sent (or given-up) message's body becomes in the outbox.
REDACTED_BODY = "(removed after delivery)"


@attrs.frozen(kw_only=True)
class DeliveryReport:
    """What one delivery tick did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


def backoff_delay(attempts: int, settings: Settings) -> timedelta:
    """The wait before retry number ``attempts`` (1-based): base * 2**(attempts-1), capped."""
    exponent = min(max(attempts - 1, 0), 30)
    delay: timedelta = settings.outbox_backoff_base * (2**exponent)
    return min(delay, settings.outbox_backoff_max)


@attrs.frozen
class MailDeliveryService:
    """One scheduler tick: hand pending outbox messages to the :class:`Mailer`.

    A message is marked SENT only once the mailer returned (the server accepted it).
    A temporary failure is retried with exponential backoff until
    ``settings.outbox_max_attempts``; a permanent one fails the message at once. The
    last error is kept either way. A worker that dies mid-batch leaves its messages
    claimed until the lease ends; then they are sent again (at least once).
    """

    uow: UnitOfWorkFactory
    clock: Clock
    mailer: Mailer
    settings: Settings = attrs.field(factory=Settings)

    async def deliver_due(self, *, max_batches: int | None = None) -> DeliveryReport:
        """Send due messages batch by batch until none is left; report the counts."""
        sent = retrying = failed = batches = 0
        size = self.settings.outbox_batch_size
        while max_batches is None or batches < max_batches:
            now = self.clock.now()
            lease_until = now + self.settings.outbox_lease
            # Stop sending before the lease runs out, or another worker could claim
            # and send the same message again; what is left returns when it ends.
            send_until = lease_until - self.settings.outbox_lease / 5
            async with self.uow() as uow:
                claimed = await uow.outbox.claim_due(now, lease_until, size)
                await uow.commit()
            for message in claimed:
                if self.clock.now() >= send_until:
                    logger.warning("outbox lease running out: leaving the rest of the batch")
                    return DeliveryReport(sent=sent, retrying=retrying, failed=failed)
                outcome = await self._deliver(message)
                sent += outcome is OutboxStatus.SENT
                failed += outcome is OutboxStatus.FAILED
                retrying += outcome is OutboxStatus.PENDING
            batches += 1
            if len(claimed) < size:
                break
        return DeliveryReport(sent=sent, retrying=retrying, failed=failed)

    async def _deliver(self, message: OutboxMessage) -> OutboxStatus:
        attempts = message.attempts + 1
        try:
            await self.mailer.send(message.email)
        except PermanentDeliveryError as exc:
            logger.warning("mail %s to %s refused for good: %s", message.id, message.email.to, exc)
            return await self._record(message, OutboxStatus.FAILED, attempts, repr(exc))
        except Exception as exc:  # any other failure may pass: retry later
            status = (
                OutboxStatus.FAILED
                if attempts >= self.settings.outbox_max_attempts
                else OutboxStatus.PENDING
            )
            logger.warning(
                "mail %s to %s failed (attempt %d): %s", message.id, message.email.to, attempts, exc
            )
            return await self._record(message, status, attempts, repr(exc))
        return await self._record(message, OutboxStatus.SENT, attempts, None)

    async def _record(
        self, message: OutboxMessage, status: OutboxStatus, attempts: int, error: str | None
    ) -> OutboxStatus:
        now: datetime = self.clock.now()
        email = message.email
        if status is not OutboxStatus.PENDING:
            # Done with: bodies may hold codes and recovery links, which must not
            # outlive their use in the database (or its backups).
            email = attrs.evolve(email, text=REDACTED_BODY, html=None)
        updated = attrs.evolve(
            message,
            email=email,
            status=status,
            attempts=attempts,
            sent_at=now if status is OutboxStatus.SENT else None,
            last_error=message.last_error if error is None else error[:_MAX_ERROR_LENGTH],
            next_attempt_at=(
                now + backoff_delay(attempts, self.settings)
                if status is OutboxStatus.PENDING
                else message.next_attempt_at
            ),
        )
        async with self.uow() as uow:
            await uow.outbox.update(updated)
            await uow.commit()
        return status
