"""Pages for people, rendered on the server: plain HTML that works without JavaScript.

Links meant for people (emails, notifications, a calendar entry's ``URL:``) point here,
never at raw JSON. Every text comes from the message catalogues in the reader's
language, dates are CLDR-formatted in the event's zone, and every piece of text from the
database is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from afisha_core.domain import EventView
from afisha_core.i18n import Translator, format_period, translator

__all__ = ["event_page_html", "home_page_html", "recovery_page_html"]

_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}.cancelled{color:#b00;font-weight:600}dt{font-weight:600}dd{margin:0 0 .6rem}"
    "li{margin:0 0 .8rem}"
)


def _when(view: EventView, locale: str) -> str:
    event = view.event
    return format_period(event.starts_at, event.ends_at, event.timezone, locale)


def _page(locale: str, title: str, body: str) -> str:
    lang = escape(locale.replace("_", "-"), quote=True)
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_STYLE}</style></head><body>
{body}
</body></html>
"""


def event_page_html(
    view: EventView,
    *,
    calendar_url: str,
    locale: str = "en",
    texts: Translator | None = None,
    brand: str = "Afisha",
) -> str:
    """The page about one event: what, when, where, how many spots, its calendar file."""
    t = texts or translator()
    event = view.event
    rows = [(t.gettext(locale, "page.when"), _when(view, locale))]
    if event.location:
        rows.append((t.gettext(locale, "page.where"), event.location))
    if event.payment_info:
        rows.append((t.gettext(locale, "page.payment"), event.payment_info))
    if event.max_participants_count is not None:
        rows.append(
            (
                t.gettext(locale, "page.spots"),
                t.ngettext(
                    locale,
                    "page.spots_left",
                    view.spots_left or 0,
                    capacity=event.max_participants_count,
                ),
            )
        )
    rows.append((t.gettext(locale, "page.participants"), str(view.participants_count)))
    details = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    status = ""
    if event.is_rejected:
        text = (
            t.gettext(locale, "page.cancelled_because", reason=event.rejection_reason)
            if event.rejection_reason
            else t.gettext(locale, "page.cancelled")
        )
        status = f'<p class="cancelled">{escape(text)}</p>'
    paragraphs = "".join(
        f"<p>{escape(part)}</p>"
        for text in (event.short_description, event.description)
        for part in text.split("\n\n")
        if part.strip()
    )
    add = escape(t.gettext(locale, "page.add_to_calendar"))
    body = (
        f"<h1>{escape(event.name)}</h1>\n{status}<dl>{details}</dl>\n{paragraphs}\n"
        f'<p><a href="{escape(calendar_url, quote=True)}">{add}</a></p>'
    )
    return _page(locale, f"{event.name} - {brand}", body)


def home_page_html(
    views: Sequence[EventView],
    *,
    event_url: str,
    locale: str = "en",
    texts: Translator | None = None,
    brand: str = "Afisha",
) -> str:
    """The front page: upcoming events, each linking to its page (``event_url`` + id)."""
    t = texts or translator()
    title = t.gettext(locale, "page.home.title", brand=brand)
    if not views:
        items = f"<p>{escape(t.gettext(locale, 'page.home.empty'))}</p>"
    else:
        entries = "".join(
            f'<li><a href="{escape(event_url + str(v.event.id), quote=True)}">'
            f"{escape(v.event.name)}</a><br>{escape(_when(v, locale))}</li>"
            for v in views
        )
        items = f"<ul>{entries}</ul>"
    return _page(locale, title, f"<h1>{escape(title)}</h1>\n{items}")


def recovery_page_html(
    *,
    locale: str = "en",
    texts: Translator | None = None,
    brand: str = "Afisha",
    error: str | None = None,
    done: bool = False,
) -> str:
    """The page a recovery link opens: a plain form posted back to the same URL.

    ``error`` is shown above the form (a weak password, an expired link); ``done``
    replaces the form by the confirmation. No JavaScript is needed.
    """
    t = texts or translator()
    title = t.gettext(locale, "page.recovery.title")
    if done:
        body = f'<p role="status">{escape(t.gettext(locale, "page.recovery.done"))}</p>'
    else:
        shown = f'<p role="alert" class="cancelled">{escape(error)}</p>' if error else ""
        label = escape(t.gettext(locale, "page.recovery.label"))
        button = escape(t.gettext(locale, "page.recovery.submit"))
        body = (
            f'{shown}<form method="post"><label>{label}<br>'
            '<input name="password" type="password" autocomplete="new-password" '
            'minlength="8" required></label><br>'
            f'<button type="submit">{button}</button></form>'
        )
    return _page(locale, f"{title} - {brand}", f"<h1>{escape(title)}</h1>\n{body}")
