"""Webhooks: destinations that receive signed notices of changes, and their deliveries."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import attrs

from afisha_core.domain import _validators as v

WEBHOOK_EVENT_TYPES: tuple[str, ...] = (
    "event.created",
    "event.updated",
    "event.cancelled",
    "participation.changed",
    "user.registered",
)
"""Every event type a webhook may subscribe to."""

RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
"""The Standard Webhooks retry schedule: the wait before each retry after a failure."""

DISABLE_AFTER = timedelta(hours=24)
"""A webhook whose deliveries failed for this long without a success is disabled."""


def _event_types(value: Any) -> tuple[str, ...]:
    types = tuple(value)
    unknown = [t for t in types if t not in WEBHOOK_EVENT_TYPES]
    if unknown or not types:
        raise ValueError(f"unknown or no event types: {unknown}")
    return types


@attrs.frozen(kw_only=True)
class Webhook:
    """A destination for signed notices of the chosen ``event_types``.

    ``secret`` (``whsec_`` and base64) signs every delivery; it is shown once, at
    creation. It cannot be stored hashed: the server needs it to sign. ``failing_since``
    is when the current run of failed attempts began (``None`` after a success);
    ``disabled_at`` is set when that run lasted :data:`DISABLE_AFTER`.
    """

    id: UUID
    url: str = attrs.field(validator=v.not_blank)
    event_types: tuple[str, ...] = attrs.field(converter=_event_types)
    description: str = ""
    secret: str = attrs.field(repr=False, validator=v.not_blank)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    failing_since: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    disabled_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)


class DeliveryStatus(enum.Enum):
    """Where a delivery stands."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@attrs.frozen(kw_only=True)
class WebhookDelivery:
    """One notice for one webhook, queued in the transaction of the change it tells about.

    ``id`` is the ``webhook-id`` header, the same on every attempt, so receivers can
    drop duplicates. ``payload`` is the ``data`` of the body; ``created_at`` its
    ``timestamp``. ``next_attempt_at`` is when the worker may try it (a claim moves it
    to the end of the worker's lease); ``None`` once DELIVERED or FAILED.
    """

    id: UUID
    webhook_id: UUID
    event_type: str
    payload: dict[str, Any]
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    delivered_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
