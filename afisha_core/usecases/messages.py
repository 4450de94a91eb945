"""What the core tells people: email and notification texts, in the reader's language.

Every text comes from the message catalogues (:mod:`afisha_core.i18n`), rendered
when the message is queued, in the recipient's locale. Times are formatted with CLDR
data in the event's own time zone; links are built by :class:`Settings
<afisha_core.settings.Settings>` (the bundled pages, or the operator's front end).

Email HTML is built with the standard library only: every value is escaped with
:func:`html.escape` before it is put into the fixed layout below (no template engine
in the core).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

import attrs

from afisha_core.domain import Email, Event, User
from afisha_core.i18n import Translator, format_instant, format_period, translator
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
    "texts",
    "waitlist_promoted",
]


@attrs.frozen(kw_only=True)
class Message:
    """A message to one person: an email, and optionally the same as a notification."""

    subject: str
    text: str
    cta_url: str | None = None
    cta_label: str | None = None
    locale: str = "en"
    """The language the texts are in (the email's ``Content-Language``)."""
    footer: str = ""
    """A closing line (the operator's name), in the email only."""

    def email(self, to: str) -> Email:
        """The email form: plain text plus an HTML alternative, every value escaped."""
        paragraphs = "".join(
            "<p>" + escape(p).replace("\n", "<br>") + "</p>" for p in self.text.split("\n\n") if p
        )
        link = ""
        if self.cta_url:
            href = escape(self.cta_url, quote=True)
            label = escape(self.cta_label or self.cta_url)
            link = f'<p><a href="{href}">{label}</a></p>'
        footer = f'<p style="color:#666">{escape(self.footer)}</p>' if self.footer else ""
        text = self.text
        if self.cta_url:
            text = f"{text}\n\n{self.cta_label or self.cta_url}:\n{self.cta_url}"
        if self.footer:
            text = f"{text}\n\n-- \n{self.footer}"
        lang = escape(self.locale.replace("_", "-"), quote=True)
        return Email(
            to=to,
            subject=self.subject,
            text=text + "\n",
            html=(
                f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
                f"<title>{escape(self.subject)}</title></head>"
                f"<body>{paragraphs}{link}{footer}</body></html>"
            ),
        )


def texts(settings: Settings) -> Translator:
    """The catalogues for ``settings`` (shipped, plus ``settings.locale_dirs``)."""
    return translator(settings.locale_dirs)


def format_event_time(event: Event, at: datetime | None = None, locale: str = "en") -> str:
    """The event's period (or one instant ``at``) in the event's time zone, e.g.

    ``Friday, December 4, 2026, 7:00 PM–9:00 PM (Moscow)`` in ``en``.
    """
    if at is not None:
        return format_instant(at, event.timezone, locale)
    return format_period(event.starts_at, event.ends_at, event.timezone, locale)


def _message(
    settings: Settings,
    locale: str,
    subject: str,
    text: str,
    cta_url: str | None = None,
    cta_label: str | None = None,
) -> Message:
    t = texts(settings)
    locale = t.resolve(locale)
    return Message(
        subject=subject,
        text=text,
        cta_url=cta_url,
        cta_label=cta_label,
        locale=locale,
        footer=t.gettext(locale, "email.footer", brand=settings.brand),
    )


def _when_where(event: Event, t: Translator, locale: str) -> str:
    when = t.gettext(locale, "event.when", when=format_event_time(event, locale=locale))
    if not event.location:
        return when
    return when + "\n" + t.gettext(locale, "event.where", where=event.location)


def registration_code(
    full_name: str, code: str, ttl: timedelta, settings: Settings, locale: str = "en"
) -> Message:
    """The verification code of a new registration."""
    t = texts(settings)
    minutes = int(ttl.total_seconds() // 60)
    # The code stays out of the subject: subjects are kept after delivery.
    return _message(
        settings,
        locale,
        t.gettext(locale, "email.registration_code.subject", brand=settings.brand),
        "\n\n".join(
            [
                t.gettext(locale, "email.greeting", name=full_name),
                t.ngettext(locale, "email.registration_code.body", minutes, code=code),
                t.gettext(locale, "email.registration_code.ignore"),
            ]
        ),
    )


def account_exists(settings: Settings, locale: str = "en") -> Message:
    """Sent instead of a code when someone registers with an address that has an account."""
    t = texts(settings)
    return _message(
        settings,
        locale,
        t.gettext(locale, "email.account_exists.subject"),
        t.gettext(locale, "email.account_exists.body", brand=settings.brand),
        settings.home_link(),
        t.gettext(locale, "link.open_home", brand=settings.brand),
    )


def recovery_link(
    user: User, url: str, ttl: timedelta, settings: Settings, locale: str | None = None
) -> Message:
    """The single-use password-recovery link, in ``locale`` (else the user's)."""
    t = texts(settings)
    locale = locale or user.locale
    minutes = int(ttl.total_seconds() // 60)
    return _message(
        settings,
        locale,
        t.gettext(locale, "email.recovery.subject", brand=settings.brand),
        "\n\n".join(
            [
                t.gettext(locale, "email.greeting", name=user.full_name),
                t.ngettext(locale, "email.recovery.body", minutes),
            ]
        ),
        url,
        t.gettext(locale, "link.new_password"),
    )


def recovery_no_account(settings: Settings, locale: str = "en") -> Message:
    """Sent when a recovery link is asked for an address that has no account."""
    t = texts(settings)
    return _message(
        settings,
        locale,
        t.gettext(locale, "email.recovery.subject", brand=settings.brand),
        t.gettext(locale, "email.recovery_no_account.body", brand=settings.brand),
        settings.home_link(),
        t.gettext(locale, "link.open_home", brand=settings.brand),
    )


def reminder(event: Event, settings: Settings, locale: str = "en") -> Message:
    """The reminder before an event starts."""
    t = texts(settings)
    return _message(
        settings,
        locale,
        t.gettext(locale, "email.reminder.subject", name=event.name),
        t.gettext(locale, "email.reminder.body", name=event.name)
        + "\n\n"
        + _when_where(event, t, locale),
        settings.event_url(event.id),
        t.gettext(locale, "link.view_event"),
    )


def event_cancelled(event: Event, settings: Settings, locale: str = "en") -> Message:
    """Told to everyone who had a place (or waited for one) when an event is cancelled."""
    t = texts(settings)
    text = t.gettext(
        locale,
        "email.event_cancelled.body",
        name=event.name,
        when=format_event_time(event, locale=locale),
    )
    if event.rejection_reason:
        text += "\n\n" + t.gettext(locale, "event.reason", reason=event.rejection_reason)
    return _message(
        settings,
        locale,
        t.gettext(locale, "email.event_cancelled.subject", name=event.name),
        text,
        settings.event_url(event.id),
        t.gettext(locale, "link.view_event"),
    )


def event_changed(event: Event, before: Event, settings: Settings, locale: str = "en") -> Message:
    """Told to participants when an event's time or location changes."""
    t = texts(settings)
    changes = []
    if (event.starts_at, event.ends_at, event.timezone) != (
        before.starts_at,
        before.ends_at,
        before.timezone,
    ):
        changes.append(
            t.gettext(
                locale,
                "email.event_changed.when",
                when=format_event_time(event, locale=locale),
                before=format_event_time(before, locale=locale),
            )
        )
    if event.location != before.location:
        unset = t.gettext(locale, "event.location_not_set")
        changes.append(
            t.gettext(
                locale,
                "email.event_changed.where",
                where=event.location or unset,
                before=before.location or unset,
            )
        )
    return _message(
        settings,
        locale,
        t.gettext(locale, "email.event_changed.subject", name=event.name),
        t.gettext(locale, "email.event_changed.body", name=event.name)
        + "\n\n"
        + "\n".join(changes),
        settings.event_url(event.id),
        t.gettext(locale, "link.view_event"),
    )


def waitlist_promoted(event: Event, settings: Settings, locale: str = "en") -> Message:
    """Told to a waiting user who got a spot."""
    t = texts(settings)
    return _message(
        settings,
        locale,
        t.gettext(locale, "email.waitlist_promoted.subject", name=event.name),
        t.gettext(locale, "email.waitlist_promoted.body", name=event.name)
        + "\n\n"
        + _when_where(event, t, locale),
        settings.event_url(event.id),
        t.gettext(locale, "link.view_event"),
    )
