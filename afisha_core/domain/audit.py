"""The audit log: one append-only entry per administrative action or security event."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from afisha_core.domain import _validators as v

DetailValue = str | int | bool | None
"""What a value of an entry's ``details`` may be."""


class AuditAction(enum.Enum):
    """What happened. The values are stable (they are the API's ``action``)."""

    EVENT_CREATED = "event.created"
    EVENT_UPDATED = "event.updated"
    EVENT_CANCELLED = "event.cancelled"
    EVENT_IMAGE_SET = "event.image_set"
    USER_ROLE_CHANGED = "user.role_changed"
    USER_DELETED = "user.deleted"
    LOGIN_FAILED = "login.failed"
    PASSWORD_CHANGED = "password.changed"  # noqa: S105 - an action's name, not a password
    PASSWORD_RESET = "password.reset"  # noqa: S105 - an action's name, not a password
    SESSIONS_REVOKED = "sessions.revoked"
    TOTP_ENABLED = "totp.enabled"
    TOTP_DISABLED = "totp.disabled"
    ACCOUNT_DELETED = "account.deleted"
    ACCOUNT_ERASED = "account.erased"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_DISABLED = "webhook.disabled"


class AuditTarget(enum.Enum):
    """What kind of thing an entry is about."""

    USER = "user"
    EVENT = "event"
    SESSION = "session"
    WEBHOOK = "webhook"


def _details(value: Any) -> dict[str, DetailValue]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise TypeError("details must be a dict with string keys")
    for item in value.values():
        if item is not None and not isinstance(item, str | int | bool):
            raise TypeError("details values must be str, int, bool or None")
    return dict(value)


@attrs.frozen(kw_only=True)
class AuditEntry:
    """Who (``actor_id``, ``None`` for the system or an unknown caller) did what to what.

    ``ip`` is the client address the request came from, when there was a request.
    ``details`` is a small flat object (never a password, token, email or name).
    Entries are only ever added: no store has a way to change or remove one.
    """

    id: UUID
    at: datetime = attrs.field(validator=v.utc_datetime)
    actor_id: UUID | None = None
    action: AuditAction
    target_type: AuditTarget | None = None
    target_id: UUID | None = None
    ip: str | None = attrs.field(default=None, validator=v.max_length(64))
    details: dict[str, DetailValue] = attrs.field(factory=dict, converter=_details, hash=False)
