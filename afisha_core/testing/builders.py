"""Builders of valid domain objects, for the contract suites and for your own tests.

Each ``make_*`` function returns a valid object with a fresh ``uuid4`` id (and, for
users and registrations, a unique email and username); keyword overrides replace any
field. Times default to :data:`T0`, a fixed instant, never the wall clock.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from afisha_core.domain import (
    Email,
    Event,
    InstantNotification,
    IssuedLoginRecovery,
    IssuedRegistration,
    LoginSession,
    OutboxMessage,
    Participation,
    ParticipationStatus,
    User,
)

__all__ = [
    "T0",
    "make_email",
    "make_event",
    "make_notification",
    "make_outbox_message",
    "make_participation",
    "make_recovery",
    "make_registration",
    "make_session",
    "make_user",
    "unique",
]

T0 = datetime(2030, 1, 1, tzinfo=UTC)
"""The instant builders use for every time they are not given."""


def unique() -> str:
    """Return 12 fresh lower-case hex digits, for names that must not collide."""
    return uuid4().hex[:12]


def _token_hash() -> str:
    return hashlib.sha256(uuid4().bytes).hexdigest()


def make_user(**overrides: Any) -> User:
    """Build a live USER with a unique email and username, created at :data:`T0`."""
    suffix = unique()
    fields: dict[str, Any] = {
        "id": uuid4(),
        "email": f"user-{suffix}@example.com",
        "username": f"user_{suffix}",
        "full_name": "Test User",
        "password_hash": "$fake$" + suffix,
        "created_at": T0,
    }
    fields.update(overrides)
    return User(**fields)


def make_event(**overrides: Any) -> Event:
    """Build an event a week after :data:`T0`, lasting two hours unless told otherwise."""
    fields: dict[str, Any] = {
        "id": uuid4(),
        "name": "Test event",
        "starts_at": T0 + timedelta(days=7),
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(overrides)
    fields.setdefault("ends_at", fields["starts_at"] + timedelta(hours=2))
    return Event(**fields)


def make_participation(event_id: UUID, user_id: UUID, **overrides: Any) -> Participation:
    """Build a PARTICIPATING participation created (and last changed) at :data:`T0`."""
    fields: dict[str, Any] = {
        "event_id": event_id,
        "user_id": user_id,
        "status": ParticipationStatus.PARTICIPATING,
        "created_at": T0,
        "status_changed_at": T0,
    }
    fields.update(overrides)
    return Participation(**fields)


def make_session(user_id: UUID, **overrides: Any) -> LoginSession:
    """Build an active session created at :data:`T0`, expiring 30 days later."""
    fields: dict[str, Any] = {
        "uid": uuid4(),
        "user_id": user_id,
        "token_hash": _token_hash(),
        "created_at": T0,
        "last_seen_at": T0,
        "expires_at": T0 + timedelta(days=30),
    }
    fields.update(overrides)
    return LoginSession(**fields)


def make_registration(**overrides: Any) -> IssuedRegistration:
    """Build a fresh registration with a unique email and username, valid 15 minutes."""
    suffix = unique()
    fields: dict[str, Any] = {
        "id": uuid4(),
        "token_hash": _token_hash(),
        "code_hash": _token_hash(),
        "email": f"reg-{suffix}@example.com",
        "username": f"reg_{suffix}",
        "full_name": "Registering User",
        "password_hash": "$fake$" + suffix,
        "created_at": T0,
        "expires_at": T0 + timedelta(minutes=15),
    }
    fields.update(overrides)
    return IssuedRegistration(**fields)


def make_recovery(user_id: UUID, **overrides: Any) -> IssuedLoginRecovery:
    """Build an unused recovery token created at :data:`T0`, valid one hour."""
    fields: dict[str, Any] = {
        "id": uuid4(),
        "user_id": user_id,
        "token_hash": _token_hash(),
        "created_at": T0,
        "expires_at": T0 + timedelta(hours=1),
    }
    fields.update(overrides)
    return IssuedLoginRecovery(**fields)


def make_notification(user_id: UUID, **overrides: Any) -> InstantNotification:
    """Build an unacked notification created at :data:`T0`."""
    fields: dict[str, Any] = {
        "id": uuid4(),
        "user_id": user_id,
        "title": "Something happened",
        "created_at": T0,
    }
    fields.update(overrides)
    return InstantNotification(**fields)


def make_email(**overrides: Any) -> Email:
    """Build a plain-text email to a unique address."""
    fields: dict[str, Any] = {
        "to": f"to-{unique()}@example.com",
        "subject": "Hello",
        "text": "Body",
    }
    fields.update(overrides)
    return Email(**fields)


def make_outbox_message(**overrides: Any) -> OutboxMessage:
    """Build a PENDING message created and due at :data:`T0`."""
    fields: dict[str, Any] = {
        "id": uuid4(),
        "email": make_email(),
        "created_at": T0,
        "next_attempt_at": T0,
    }
    fields.update(overrides)
    return OutboxMessage(**fields)
