"""An event as an RFC 5545 calendar file (through the icalendar library).

The file must read the same in every calendar engine people use (ical.js in
Thunderbird and Nextcloud, vobject and dateutil, icalendar, the ``ics`` package).
icalendar's generated VTIMEZONE lists the past transitions of an observance as one
comma-separated ``RDATE``; several parsers read only the first value of such a line
and then pick an old offset (Moscow at +04:00, so 19:00 shows as 15:00 UTC). Each
transition therefore gets its own ``RDATE`` line, which every parser reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import icalendar

from afisha_core.domain import Event
from afisha_core.settings import Settings

__all__ = ["event_calendar", "event_sequence", "feed_calendar"]


def event_sequence(event: Event) -> int:
    """The ``SEQUENCE`` of the event's calendar entry: whole seconds since it was created.

    Every change of an event sets its ``updated_at`` to the time of the change, which
    only moves forward, so the number grows with every change made at least a second
    after the previous one (two changes within the same second share it; the entry's
    ``LAST-MODIFIED`` and ``DTSTAMP`` still tell them apart). It fits RFC 5545's
    32-bit integer for 68 years.
    """
    return max(0, int((event.updated_at - event.created_at).total_seconds()))


def _one_rdate_per_line(calendar: icalendar.Calendar) -> None:
    for timezone in calendar.walk("VTIMEZONE"):
        for observance in timezone.subcomponents:
            rdates = observance.get("RDATE")
            if rdates is None:
                continue
            values = [
                when.dt
                for group in (rdates if isinstance(rdates, list) else [rdates])
                for when in group.dts
            ]
            del observance["RDATE"]
            for value in values:
                observance.add("RDATE", value)


def _vevent(event: Event, settings: Settings, url: str, dtstamp: datetime) -> icalendar.Event:
    """One event's VEVENT (times in its zone), with a DISPLAY alarm at the reminder lead."""
    zone = ZoneInfo(event.timezone)
    vevent = icalendar.Event()
    vevent.add("uid", f"{event.id}@afisha")
    vevent.add("sequence", event_sequence(event))
    vevent.add("dtstamp", dtstamp.astimezone(UTC).replace(microsecond=0))
    vevent.add("dtstart", event.starts_at.astimezone(zone).replace(microsecond=0))
    vevent.add("dtend", event.ends_at.astimezone(zone).replace(microsecond=0))
    vevent.add("created", event.created_at.replace(microsecond=0))
    vevent.add("last-modified", event.updated_at.replace(microsecond=0))
    vevent.add("summary", event.name)
    description = "\n\n".join(p for p in (event.short_description, event.description) if p)
    if description:
        vevent.add("description", description)
    if event.location:
        vevent.add("location", event.location)
    vevent.add("url", url)
    vevent.add("status", "CANCELLED" if event.is_rejected else "CONFIRMED")
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"Reminder: {event.name}")
    alarm.add("trigger", -settings.reminder_lead)
    vevent.add_component(alarm)
    return vevent


def _finish(cal: icalendar.Calendar) -> bytes:
    """Add one VTIMEZONE per zone used (one ``RDATE`` per line) and serialise."""
    cal.add_missing_timezones()
    _one_rdate_per_line(cal)
    return bytes(cal.to_ical())


def event_calendar(
    event: Event,
    settings: Settings,
    *,
    event_url: str | None = None,
    now: datetime | None = None,
) -> bytes:
    """A VCALENDAR with one VEVENT in the event's time zone and a VALARM at the lead.

    ``event_url`` is the page for people the entry links to (``URL:``); by default
    the core's link to the event. A cancelled event is marked ``STATUS:CANCELLED``
    so calendars that imported it show the cancellation; ``SEQUENCE`` (see
    :func:`event_sequence`) tells them a newer version replaces the one they have.
    """
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Afisha//Afisha events//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    url = event_url or settings.event_url(event.id)
    cal.add_component(_vevent(event, settings, url, now or datetime.now(UTC)))
    return _finish(cal)


def feed_calendar(
    events: Iterable[Event],
    settings: Settings,
    *,
    event_url: Callable[[UUID], str],
    name: str = "Afisha",
) -> bytes:
    """A personal feed: one VCALENDAR, a VEVENT per event, one VTIMEZONE per zone used.

    The body depends only on the events (and the settings), never on the time it is
    made: with no ``METHOD``, RFC 5545 makes ``DTSTAMP`` the time the entry was last
    revised, which is the event's ``updated_at``. So an unchanged feed is byte for byte
    the same, and its hash is a strong ``ETag``. Cancelled events stay, marked
    ``STATUS:CANCELLED``; ``SEQUENCE`` grows with every change of an event.
    """
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Afisha//Afisha personal feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-published-ttl", "PT15M")
    for event in events:
        cal.add_component(_vevent(event, settings, event_url(event.id), event.updated_at))
    return _finish(cal)
