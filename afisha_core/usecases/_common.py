"""Helpers shared by the use cases (not part of the public API)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from afisha_core._pagination import encode_cursor
from afisha_core.domain import InstantNotification, OutboxMessage, Page, User
from afisha_core.errors import Forbidden, TotpSetupRequired, ValidationFailed
from afisha_core.ports import Broadcast, UnitOfWork
from afisha_core.settings import Settings
from afisha_core.usecases.messages import Message

T = TypeVar("T")
MAX_PAGE_SIZE = 100


def require_admin(actor: User, settings: Settings | None = None) -> None:
    """Raise :class:`Forbidden` unless ``actor`` is an administrator.

    With ``settings.require_admin_totp``, an administrator without two-factor login
    gets :class:`TotpSetupRequired` instead.
    """
    if not actor.is_admin:
        raise Forbidden
    if settings is not None and settings.require_admin_totp and not actor.totp_enabled:
        raise TotpSetupRequired


def check_limit(limit: int) -> int:
    """A page size must be between 1 and 100."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed.single(
            "limit", f"must be between 1 and {MAX_PAGE_SIZE}", code="out_of_range"
        )
    return limit


def make_page(
    rows: Sequence[T], limit: int, key: Callable[[T], tuple[datetime, uuid.UUID]]
) -> Page[T]:
    """A page from up to ``limit + 1`` rows: the extra row only says that more exist."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items=items, next_cursor=encode_cursor(key(items[-1])) if more and items else None)


def outbox_message_for(to: str, message: Message, now: datetime) -> OutboxMessage:
    """The outbox row that will mail ``message`` to ``to``."""
    return OutboxMessage(
        id=uuid.uuid4(), email=message.email(to), created_at=now, next_attempt_at=now
    )


def notification_for(user: User, message: Message, now: datetime) -> InstantNotification:
    """The in-app notification of ``message`` for ``user``."""
    return InstantNotification(
        id=uuid.uuid4(),
        user_id=user.id,
        title=message.subject,
        content=message.text,
        cta_url=message.cta_url,
        cta_label=message.cta_label,
        created_at=now,
    )


def broadcast_of(
    message: Message, recipients: Sequence[tuple[uuid.UUID, str]], now: datetime
) -> Broadcast:
    """``message`` for every ``(user_id, email)`` of ``recipients``, written once.

    The notification and the email are built for the first recipient, so a text the
    domain refuses fails here, before anything is written.
    """
    email = message.email(recipients[0][1])
    broadcast = Broadcast(
        title=message.subject,
        content=message.text,
        cta_url=message.cta_url,
        cta_label=message.cta_label,
        email_subject=email.subject,
        email_text=email.text,
        email_html=email.html,
        recipients=recipients,
    )
    broadcast.notification(recipients[0][0], uuid.UUID(int=0), now)
    return broadcast


async def enqueue_email(uow: UnitOfWork, now: datetime, message: Message, to: str) -> None:
    """Write ``message`` to the outbox; it is sent after the unit of work commits."""
    await uow.outbox.add(outbox_message_for(to, message, now))


async def notify(uow: UnitOfWork, now: datetime, user: User, message: Message) -> None:
    """Tell ``user`` in the app and by email, in the caller's unit of work."""
    await uow.notifications.add(notification_for(user, message, now))
    await enqueue_email(uow, now, message, user.email)
