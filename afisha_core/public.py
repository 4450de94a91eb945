"""Safe public views of the domain, for host applications that show Afisha's data.

The domain classes hold what the core needs, including secrets (a user's password
hash, a session's token hash). A host application that returns them from its own
routes must never send those. :func:`public` turns a domain object into a view with
only the fields a client may see, made of JSON types only (ids and times as strings,
times in RFC 3339 with an offset), so any web framework serialises it without a
custom encoder::

    from afisha_core.public import public, to_json

    @app.get("/me")                       # FastAPI: a dataclass is a response model
    async def me(principal=Depends(current_principal)) -> PublicUser:
        return public(principal.user)

    return JsonResponse(to_json(view))    # Django: a plain dict

The views are standard-library dataclasses (not attrs classes) precisely so that
frameworks which know dataclasses (FastAPI, pydantic, msgspec) accept them as they are.
They carry the same fields as the bundled HTTP API's documents.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime
from typing import Any, overload

from afisha_core.domain import (
    EventView,
    InstantNotification,
    LoginSession,
    Participant,
    User,
)
from afisha_core.serialization import format_datetime

__all__ = [
    "PublicEvent",
    "PublicNotification",
    "PublicParticipant",
    "PublicSession",
    "PublicUser",
    "public",
    "to_json",
]


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_datetime(value)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublicUser:
    """A user without the password hash or credential details."""

    id: str
    email: str
    username: str
    full_name: str
    role: str
    is_system: bool
    created_at: str
    locale: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublicSession:
    """A login session without its token hash or client address."""

    uid: str
    user_agent: str
    created_at: str
    last_seen_at: str
    expires_at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublicEvent:
    """An event with its live counts and the viewer's status (``None`` when anonymous)."""

    id: str
    name: str
    short_description: str
    description: str
    starts_at: str
    ends_at: str
    timezone: str
    location: str
    payment_info: str
    max_participants_count: int | None
    created_at: str
    rejected_at: str | None
    participants_count: int
    waitlist_count: int
    spots_left: int | None
    my_status: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublicNotification:
    """An in-app notification."""

    id: str
    title: str
    content: str
    cta_url: str | None
    cta_label: str | None
    created_at: str
    acked_at: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublicParticipant:
    """A participant as administrators see it."""

    user: PublicUser
    status: str
    created_at: str
    reminder_queued_at: str | None


@functools.singledispatch
def _public(value: object) -> Any:
    raise TypeError(f"no public view of {type(value).__name__}")


@_public.register
def _user(user: User) -> PublicUser:
    return PublicUser(
        id=str(user.id),
        email=user.email,
        username=user.username,
        full_name=user.full_name,
        role=user.role.value,
        is_system=user.is_system,
        created_at=format_datetime(user.created_at),
        locale=user.locale,
    )


@_public.register
def _session(session: LoginSession) -> PublicSession:
    return PublicSession(
        uid=str(session.uid),
        user_agent=session.user_agent,
        created_at=format_datetime(session.created_at),
        last_seen_at=format_datetime(session.last_seen_at),
        expires_at=format_datetime(session.expires_at),
    )


@_public.register
def _event(view: EventView) -> PublicEvent:
    event = view.event
    return PublicEvent(
        id=str(event.id),
        name=event.name,
        short_description=event.short_description,
        description=event.description,
        starts_at=format_datetime(event.starts_at),
        ends_at=format_datetime(event.ends_at),
        timezone=event.timezone,
        location=event.location,
        payment_info=event.payment_info,
        max_participants_count=event.max_participants_count,
        created_at=format_datetime(event.created_at),
        rejected_at=_time(event.rejected_at),
        participants_count=view.participants_count,
        waitlist_count=view.waitlist_count,
        spots_left=view.spots_left,
        my_status=view.my_status.value if view.my_status else None,
    )


@_public.register
def _notification(notification: InstantNotification) -> PublicNotification:
    return PublicNotification(
        id=str(notification.id),
        title=notification.title,
        content=notification.content,
        cta_url=notification.cta_url,
        cta_label=notification.cta_label,
        created_at=format_datetime(notification.created_at),
        acked_at=_time(notification.acked_at),
    )


@_public.register
def _participant(participant: Participant) -> PublicParticipant:
    p = participant.participation
    return PublicParticipant(
        user=_user(participant.user),
        status=p.status.value,
        created_at=format_datetime(p.created_at),
        reminder_queued_at=_time(p.reminder_queued_at),
    )


@overload
def public(value: User) -> PublicUser: ...
@overload
def public(value: LoginSession) -> PublicSession: ...
@overload
def public(value: EventView) -> PublicEvent: ...
@overload
def public(value: InstantNotification) -> PublicNotification: ...
@overload
def public(value: Participant) -> PublicParticipant: ...
def public(value: object) -> Any:
    """The safe public view of a domain object.

    Accepts a :class:`~afisha_core.domain.User`, a
    :class:`~afisha_core.domain.LoginSession`, an :class:`~afisha_core.domain.EventView`,
    an :class:`~afisha_core.domain.InstantNotification` or a
    :class:`~afisha_core.domain.Participant`; raises ``TypeError`` for anything else
    (there is deliberately no view of registrations, recoveries or outbox messages).
    """
    return _public(value)


def to_json(value: object) -> dict[str, Any]:
    """The public view of ``value`` as a plain dict of JSON types (``json.dumps`` takes it)."""
    return dataclasses.asdict(public(value))  # type: ignore[call-overload]
