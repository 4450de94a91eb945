"""An event as an RFC 5545 calendar file (through the icalendar library)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar

from afisha_core.domain import Event
from afisha_core.settings import Settings

__all__ = ["event_calendar"]


def event_calendar(event: Event, settings: Settings, *, now: datetime | None = None) -> bytes:
    """A VCALENDAR with one VEVENT in the event's time zone and a VALARM at the lead.

    A cancelled event is marked ``STATUS:CANCELLED`` so calendars that imported it
    can drop it.
    """
    zone = ZoneInfo(event.timezone)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Afisha//Afisha events//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    vevent = icalendar.Event()
    vevent.add("uid", f"{event.id}@afisha")
    vevent.add("dtstamp", (now or datetime.now(UTC)).replace(microsecond=0))
    vevent.add("dtstart", event.starts_at.astimezone(zone).replace(microsecond=0))
    vevent.add("dtend", event.ends_at.astimezone(zone).replace(microsecond=0))
    vevent.add("last-modified", event.updated_at.replace(microsecond=0))
    vevent.add("summary", event.name)
    description = "\n\n".join(p for p in (event.short_description, event.description) if p)
    if description:
        vevent.add("description", description)
    if event.location:
        vevent.add("location", event.location)
    vevent.add("url", settings.event_url(event.id))
    vevent.add("status", "CANCELLED" if event.is_rejected else "CONFIRMED")
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"Reminder: {event.name}")
    alarm.add("trigger", -settings.reminder_lead)
    vevent.add_component(alarm)
    cal.add_component(vevent)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
