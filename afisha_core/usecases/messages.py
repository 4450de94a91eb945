"""What the core tells people: email and notification texts.

Times are shown in the event's own time zone; links are built only from
:attr:`Settings.public_url <afisha_core.settings.Settings.public_url>`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

import attrs

from afisha_core.domain import Email, Event, User
from afisha_core.settings import Settings

__all__ = [
    "Message",
    "account_exists",
    "event_cancelled",
    "event_changed",
    "format_event_time",
    "recovery_link",
    "recovery_no_account",
    "registration_code",
    "reminder",
    "waitlist_promoted",
]


@attrs.frozen(kw_only=True)
class Message:
    """A message to one person: an email, and optionally the same as a notification."""

    subject: str
    text: str
    cta_url: str | None = None
    cta_label: str | None = None

    def email(self, to: str) -> Email:
        """The email form: plain text plus a simple HTML alternative."""
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in self.text.split("\n\n") if p)
        link = ""
        if self.cta_url:
            href = escape(self.cta_url, quote=True)
            link = f'<p><a href="{href}">{escape(self.cta_label or self.cta_url)}</a></p>'

        text = (
            self.text
            if not self.cta_url
            else f"{self.text}\n\n{self.cta_label or 'Link'}: {self.cta_url}"
        )
        return Email(
            to=to,
            subject=self.subject,
            text=text + "\n",
            html=f"<html><body>{paragraphs}{link}</body></html>",
        )


def _offset(dt: datetime) -> str:
    offset = dt.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_event_time(event: Event, at: datetime | None = None) -> str:
    """The event's period (or one instant ``at``) in the event's time zone, e.g.

    ``Tuesday 01 December 2026, 18:00–20:00 (Europe/Moscow, UTC+03:00)``.
    """
    zone = ZoneInfo(event.timezone)
    if at is not None:
        local = at.astimezone(zone)
        return f"{local:%A %d %B %Y, %H:%M} ({event.timezone}, {_offset(local)})"
    start = event.starts_at.astimezone(zone)
    end = event.ends_at.astimezone(zone)
    if start.date() == end.date():
        period = f"{start:%A %d %B %Y, %H:%M}–{end:%H:%M}"
    else:
        period = f"{start:%A %d %B %Y, %H:%M} – {end:%A %d %B %Y, %H:%M}"
    return f"{period} ({event.timezone}, {_offset(start)})"


def _where(event: Event) -> str:
    return f"\n\nWhere: {event.location}" if event.location else ""


def registration_code(full_name: str, code: str, ttl: timedelta) -> Message:
    """The verification code of a new registration."""
    minutes = int(ttl.total_seconds() // 60)
    return Message(
        # The code stays out of the subject: subjects are kept after delivery.
        subject="Your Afisha verification code",
        text=(
            f"Hello {full_name},\n\nyour verification code is {code}. It is valid for "
            f"{minutes} minutes.\n\nIf you did not try to register, ignore this email."
        ),
    )


def account_exists(settings: Settings) -> Message:
    """Sent instead of a code when someone registers with an address that has an account."""
    return Message(
        subject="Someone tried to register with your email",
        text=(
            "Someone (maybe you) tried to register an Afisha account with this email, "
            "but an account with it already exists.\n\nIf you forgot your password, "
            "you can recover it. If this was not you, ignore this email."
        ),
        cta_url=settings.public_url,
        cta_label="Open Afisha",
    )


def recovery_link(user: User, url: str, ttl: timedelta) -> Message:
    """The single-use password-recovery link."""
    minutes = int(ttl.total_seconds() // 60)
    return Message(
        subject="Reset your Afisha password",
        text=(
            f"Hello {user.full_name},\n\nuse this link within {minutes} minutes to set a "
            "new password. It works once. If you did not ask for it, ignore this email: "
            "your password stays as it is."
        ),
        cta_url=url,
        cta_label="Set a new password",
    )


def recovery_no_account(settings: Settings) -> Message:
    """Sent when a recovery link is asked for an address that has no account."""
    return Message(
        subject="Reset your Afisha password",
        text=(
            "Someone (maybe you) asked to reset the Afisha password of this email, but no "
            "account uses it. If you meant another address, try that one; you can also "
            "register. If this was not you, ignore this email."
        ),
        cta_url=settings.public_url,
        cta_label="Open Afisha",
    )


def reminder(event: Event, settings: Settings) -> Message:
    """The reminder before an event starts."""
    return Message(
        subject=f"Reminder: {event.name}",
        text=f"{event.name} starts soon.\n\nWhen: {format_event_time(event)}{_where(event)}",
        cta_url=settings.calendar_url(event.id),
        cta_label="Add to calendar",
    )


def event_cancelled(event: Event, settings: Settings) -> Message:
    """Told to everyone who had a place (or waited for one) when an event is cancelled."""
    reason = f"\n\nReason: {event.rejection_reason}" if event.rejection_reason else ""
    return Message(
        subject=f"Cancelled: {event.name}",
        text=f"{event.name} ({format_event_time(event)}) has been cancelled.{reason}",
        cta_url=settings.event_url(event.id),
        cta_label="View the event",
    )


def event_changed(event: Event, before: Event, settings: Settings) -> Message:
    """Told to participants when an event's time or location changes."""
    changes = []
    if (event.starts_at, event.ends_at, event.timezone) != (
        before.starts_at,
        before.ends_at,
        before.timezone,
    ):
        changes.append(f"When: {format_event_time(event)} (was {format_event_time(before)})")
    if event.location != before.location:
        changes.append(
            f"Where: {event.location or '(not set)'} (was {before.location or '(not set)'})"
        )
    return Message(
        subject=f"Changed: {event.name}",
        text=f"{event.name} has changed.\n\n" + "\n".join(changes),
        cta_url=settings.event_url(event.id),
        cta_label="View the event",
    )


def waitlist_promoted(event: Event, settings: Settings) -> Message:
    """Told to a waiting user who got a spot."""
    return Message(
        subject=f"You have a spot: {event.name}",
        text=(
            f"A spot at {event.name} opened up and it is yours: you are now participating."
            f"\n\nWhen: {format_event_time(event)}{_where(event)}"
        ),
        cta_url=settings.event_url(event.id),
        cta_label="View the event",
    )
