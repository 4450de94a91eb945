"""Webhooks (Standard Webhooks): administration, queueing with the change, delivery.

A change that has subscribers (an event created, updated or cancelled, a participation
changed, a user registered) queues one delivery per subscribed webhook in the unit of
work of the change (:func:`queue_webhooks`), so a rolled-back change sends nothing and
a committed one loses nothing. The worker (:class:`WebhookDeliveryService`) claims due
deliveries with a lease, sends each signed as the Standard Webhooks specification says,
and retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h with the same
``webhook-id``; a webhook failing for 24 hours is disabled, with an audit entry.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import attrs

from afisha_core._pagination import decode_cursor
from afisha_core.domain import (
    DISABLE_AFTER,
    RETRY_SCHEDULE,
    WEBHOOK_EVENT_TYPES,
    AuditAction,
    AuditTarget,
    DeliveryStatus,
    Event,
    Page,
    Participation,
    User,
    Webhook,
    WebhookDelivery,
)
from afisha_core.errors import NotFound, ValidationFailed
from afisha_core.ports import (
    Clock,
    DueDelivery,
    UnitOfWork,
    UnitOfWorkFactory,
    WebhookSender,
    WebhookSendError,
)
from afisha_core.settings import Settings
from afisha_core.usecases._common import check_limit, make_page, require_admin
from afisha_core.usecases.audit import record

__all__ = [
    "UnconfiguredWebhookSender",
    "WebhookDeliveryReport",
    "WebhookDeliveryService",
    "WebhookService",
    "event_data",
    "new_webhook_secret",
    "participation_data",
    "queue_webhooks",
    "sign",
    "user_data",
    "webhook_request",
]

_MAX_ERROR = 500


class UnconfiguredWebhookSender:
    """The sender of a core wired without webhook delivery: it refuses every destination.

    The composition root passes a real one (the httpx adapter); with this one webhooks
    cannot be created, so nothing is ever queued for them.
    """

    async def check_destination(self, url: str) -> None:
        """Always refuses: webhook delivery is not configured."""
        raise WebhookSendError("webhook delivery is not configured on this server")

    async def send(self, url: str, headers: dict[str, str], body: bytes, time_limit: float) -> int:
        """Always fails: webhook delivery is not configured."""
        raise WebhookSendError("webhook delivery is not configured on this server")


def new_webhook_secret() -> str:
    """A new signing secret: ``whsec_`` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and base64 HMAC-SHA256 of ``id.timestamp.body``.

    The key is the base64-decoded part of the secret after ``whsec_``.
    """
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_request(
    webhook: Webhook, delivery: WebhookDelivery, now: datetime
) -> tuple[dict[str, str], bytes]:
    """The headers and body of one attempt: the same id and body on every attempt."""
    body = json.dumps(
        {
            "type": delivery.event_type,
            "timestamp": delivery.created_at.isoformat().replace("+00:00", "Z"),
            "data": delivery.payload,
        },
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    ).encode()
    message_id = f"msg_{delivery.id.hex}"
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": "Afisha-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(webhook.secret, message_id, timestamp, body),
    }
    return headers, body


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def event_data(event: Event) -> dict[str, Any]:
    """The ``data`` of an ``event.*`` notice."""
    return {
        "id": str(event.id),
        "name": event.name,
        "starts_at": _iso(event.starts_at),
        "ends_at": _iso(event.ends_at),
        "timezone": event.timezone,
        "location": event.location,
        "max_participants_count": event.max_participants_count,
        "cancelled": event.is_rejected,
        "updated_at": _iso(event.updated_at),
    }


def participation_data(participation: Participation) -> dict[str, Any]:
    """The ``data`` of a ``participation.changed`` notice."""
    return {
        "event_id": str(participation.event_id),
        "user_id": str(participation.user_id),
        "status": participation.status.value,
        "changed_at": _iso(participation.status_changed_at),
    }


def user_data(user: User) -> dict[str, Any]:
    """The ``data`` of a ``user.registered`` notice: the id only, no personal data.

    Deliveries are kept for their audit trail, so they must not hold what the erasure
    of a deleted account removes (email, username, name).
    """
    return {"id": str(user.id), "created_at": _iso(user.created_at)}


async def queue_webhooks(
    uow: UnitOfWork, now: datetime, event_type: str, data: Mapping[str, Any]
) -> int:
    """Queue a delivery of ``data`` to every webhook subscribed to ``event_type``.

    Runs in the caller's unit of work, so the deliveries commit (or roll back) with the
    change. Returns how many were queued.
    """
    webhooks = await uow.webhooks.list_subscribed(event_type)
    deliveries = [
        WebhookDelivery(
            id=uuid.uuid4(),
            webhook_id=w.id,
            event_type=event_type,
            payload=dict(data),
            next_attempt_at=now,
            created_at=now,
        )
        for w in webhooks
    ]
    await uow.webhooks.add_deliveries(deliveries)
    return len(deliveries)


def _check_url(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:
        raise ValidationFailed.single("url", "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host or len(url) > 2000:
        raise ValidationFailed.single("url", "must be an http or https URL with a host")
    if parts.username or parts.password:
        raise ValidationFailed.single("url", "must not contain credentials")
    return url


@attrs.frozen
class WebhookService:
    """Creating, listing and deleting webhooks and reading their deliveries (admins only)."""

    uow: UnitOfWorkFactory
    clock: Clock
    sender: WebhookSender
    settings: Settings = attrs.field(factory=Settings)

    async def create(
        self,
        actor: User,
        url: str,
        event_types: Sequence[str],
        description: str = "",
        *,
        client_address: str | None = None,
    ) -> Webhook:
        """Register a webhook; the returned one carries its secret (shown this once).

        Raises :class:`ValidationFailed` for a malformed URL, an unknown event type or a
        destination the sender refuses (loopback, private, link-local, ...).
        """
        require_admin(actor, self.settings)
        url = _check_url(url)
        if len(description) > 500:
            raise ValidationFailed.single("description", "must be at most 500 characters")
        unknown = [t for t in event_types if t not in WEBHOOK_EVENT_TYPES]
        if unknown or not event_types:
            raise ValidationFailed.single(
                "events", f"must be one or more of {', '.join(WEBHOOK_EVENT_TYPES)}"
            )
        try:
            await self.sender.check_destination(url)
        except WebhookSendError as exc:
            raise ValidationFailed.single("url", str(exc)) from None
        now = self.clock.now()
        webhook = Webhook(
            id=uuid.uuid4(),
            url=url,
            event_types=tuple(dict.fromkeys(event_types)),
            description=description.strip(),
            secret=new_webhook_secret(),
            created_at=now,
        )
        async with self.uow() as uow:
            await uow.webhooks.add(webhook)
            await record(
                uow,
                now,
                AuditAction.WEBHOOK_CREATED,
                actor_id=actor.id,
                target=AuditTarget.WEBHOOK,
                target_id=webhook.id,
                client_address=client_address,
            )
            await uow.commit()
        return webhook

    async def list(
        self, actor: User, *, limit: int = 20, cursor: str | None = None
    ) -> Page[Webhook]:
        """A page of webhooks, oldest first."""
        require_admin(actor, self.settings)
        check_limit(limit)
        after = decode_cursor(cursor) if cursor else None
        async with self.uow() as uow:
            rows = await uow.webhooks.list(after=after, limit=limit + 1)
        return make_page(rows, limit, lambda w: (w.created_at, w.id))

    async def delete(
        self, actor: User, webhook_id: uuid.UUID, *, client_address: str | None = None
    ) -> None:
        """Remove a webhook and its deliveries. Raises :class:`NotFound`."""
        require_admin(actor, self.settings)
        now = self.clock.now()
        async with self.uow() as uow:
            if not await uow.webhooks.delete(webhook_id):
                raise NotFound
            await record(
                uow,
                now,
                AuditAction.WEBHOOK_DELETED,
                actor_id=actor.id,
                target=AuditTarget.WEBHOOK,
                target_id=webhook_id,
                client_address=client_address,
            )
            await uow.commit()

    async def list_deliveries(
        self, actor: User, webhook_id: uuid.UUID, *, limit: int = 20, cursor: str | None = None
    ) -> Page[WebhookDelivery]:
        """A page of the webhook's deliveries, newest first. Raises :class:`NotFound`."""
        require_admin(actor, self.settings)
        check_limit(limit)
        before = decode_cursor(cursor) if cursor else None
        async with self.uow() as uow:
            if await uow.webhooks.get(webhook_id) is None:
                raise NotFound
            rows = await uow.webhooks.list_deliveries(webhook_id, before=before, limit=limit + 1)
        return make_page(rows, limit, lambda d: (d.created_at, d.id))


@attrs.frozen(kw_only=True)
class WebhookDeliveryReport:
    """What one delivery run did."""

    claimed: int
    delivered: int
    failed: int
    disabled: int


@attrs.frozen
class WebhookDeliveryService:
    """The worker's side: claim due deliveries, send them concurrently, record attempts.

    ``time_limit`` bounds each attempt (seconds); the claim's lease is longer than it,
    so no other worker takes a delivery while it is being sent, and a crashed worker's
    deliveries come back when the lease ends.
    """

    uow: UnitOfWorkFactory
    clock: Clock
    sender: WebhookSender
    time_limit: float = 10.0
    batch: int = 50
    concurrency: int = 10

    @property
    def lease(self) -> timedelta:
        """How long a claim holds: the time limit, twice, and a minute."""
        return timedelta(seconds=self.time_limit * 2 + 60)

    async def deliver_due(self) -> WebhookDeliveryReport:
        """Send every due delivery (one batch); never raises for a receiver's failure."""
        now = self.clock.now()
        lease_until = now + self.lease
        async with self.uow() as uow:
            claimed = list(await uow.webhooks.claim_due(now, lease_until, self.batch))
            await uow.commit()
        gate = asyncio.Semaphore(self.concurrency)

        async def attempt(due: DueDelivery) -> tuple[bool, bool]:
            async with gate:
                return await self._attempt(due, lease_until)

        outcomes = await asyncio.gather(*(attempt(d) for d in claimed))
        return WebhookDeliveryReport(
            claimed=len(claimed),
            delivered=sum(1 for ok, _ in outcomes if ok),
            failed=sum(1 for ok, _ in outcomes if not ok),
            disabled=sum(1 for _, disabled in outcomes if disabled),
        )

    async def _attempt(self, due: DueDelivery, lease_until: datetime) -> tuple[bool, bool]:
        delivery, webhook = due.delivery, due.webhook
        headers, body = webhook_request(webhook, delivery, self.clock.now())
        status_code: int | None
        error: str | None
        try:
            status_code = await self.sender.send(webhook.url, headers, body, self.time_limit)
            error = None
        except WebhookSendError as exc:
            status_code, error = exc.status_code, str(exc)[:_MAX_ERROR] or type(exc).__name__
        now = self.clock.now()
        attempts = delivery.attempts + 1
        if error is None:
            outcome = attrs.evolve(
                delivery,
                status=DeliveryStatus.DELIVERED,
                attempts=attempts,
                next_attempt_at=None,
                last_status_code=status_code,
                last_error=None,
                delivered_at=now,
            )
        else:
            retry = attempts <= len(RETRY_SCHEDULE)
            outcome = attrs.evolve(
                delivery,
                status=DeliveryStatus.PENDING if retry else DeliveryStatus.FAILED,
                attempts=attempts,
                next_attempt_at=now + RETRY_SCHEDULE[attempts - 1] if retry else None,
                last_status_code=status_code,
                last_error=error,
            )
        disabled = False
        async with self.uow() as uow:
            if await uow.webhooks.finish_attempt(outcome, lease_until):
                if error is None:
                    await uow.webhooks.mark_success(webhook.id)
                else:
                    disabled = await uow.webhooks.mark_failure(webhook.id, now, now - DISABLE_AFTER)
                    if disabled:
                        await record(
                            uow,
                            now,
                            AuditAction.WEBHOOK_DISABLED,
                            actor_id=None,
                            target=AuditTarget.WEBHOOK,
                            target_id=webhook.id,
                            details={"last_error": error[:200]},
                        )
                await uow.commit()
        return error is None, disabled
