"""Emails waiting to be delivered (the transactional outbox)."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import attrs

from afisha_core.domain import _validators as v


@attrs.frozen(kw_only=True)
class Email:
    """One email: a recipient, a subject, a plain-text body and an optional HTML one."""

    to: str = attrs.field(validator=v.email)
    subject: str = attrs.field(validator=[v.not_blank, v.single_line, v.max_length(998)])
    text: str
    html: str | None = None


class OutboxStatus(enum.Enum):
    """PENDING waits (or is retried), SENT was accepted, FAILED gave up."""

    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


@attrs.frozen(kw_only=True)
class OutboxMessage:
    """An email written in the same transaction as the change that caused it.

    Delivery claims it by pushing ``next_attempt_at`` forward (a lease), then marks it
    SENT once the mail server accepted it, or records ``last_error`` and schedules the
    next attempt with exponential backoff.
    """

    id: UUID
    email: Email
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    next_attempt_at: datetime = attrs.field(validator=v.utc_datetime)
    last_error: str | None = None
    sent_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
