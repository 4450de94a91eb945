"""Pages for people, rendered on the server: plain HTML that works without JavaScript.

Links meant for people (a calendar entry's ``URL:``) point here, never at raw JSON.
Every piece of text from the database is escaped.
"""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from afisha_core.domain import EventView

__all__ = ["event_page_html"]

_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}.cancelled{color:#b00;font-weight:600}dt{font-weight:600}dd{margin:0 0 .6rem}"
)


def _when(view: EventView) -> str:
    event = view.event
    zone = ZoneInfo(event.timezone)
    start = event.starts_at.astimezone(zone)
    end = event.ends_at.astimezone(zone)
    day = f"{start:%A}, {start.day} {start:%B %Y}"
    if start.date() == end.date():
        return f"{day}, {start:%H:%M}–{end:%H:%M} ({event.timezone})"
    return f"{day}, {start:%H:%M} – {end.day} {end:%B %Y}, {end:%H:%M} ({event.timezone})"


def event_page_html(view: EventView, *, calendar_url: str) -> str:
    """The page about one event: what, when, where, how many spots, its calendar file."""
    event = view.event
    rows = [("When", _when(view))]
    if event.location:
        rows.append(("Where", event.location))
    if event.payment_info:
        rows.append(("Payment", event.payment_info))
    if event.max_participants_count is not None:
        rows.append(("Spots left", f"{view.spots_left} of {event.max_participants_count}"))
    rows.append(("Participants", str(view.participants_count)))
    details = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    status = ""
    if event.is_rejected:
        reason = f": {escape(event.rejection_reason)}" if event.rejection_reason else ""
        status = f'<p class="cancelled">This event was cancelled{reason}.</p>'
    paragraphs = "".join(
        f"<p>{escape(part)}</p>"
        for text in (event.short_description, event.description)
        for part in text.split("\n\n")
        if part.strip()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(event.name)} - Afisha</title>
<style>{_STYLE}</style></head><body>
<h1>{escape(event.name)}</h1>
{status}<dl>{details}</dl>
{paragraphs}
<p><a href="{escape(calendar_url)}">Add to calendar (.ics)</a></p>
</body></html>
"""
