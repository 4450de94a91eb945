"""Settings the use cases obey: lifetimes, limits and the public URL for links."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import attrs

__all__ = ["Limit", "Settings"]


@attrs.frozen(kw_only=True)
class Limit:
    """At most ``count`` events per ``window``."""

    count: int = attrs.field(validator=attrs.validators.ge(1))
    window: timedelta = attrs.field()

    @window.validator
    def _positive(self, _attribute: object, value: timedelta) -> None:
        if value <= timedelta(0):
            raise ValueError("window must be positive")


def _strip_slash(value: object) -> str:
    return str(value).rstrip("/")


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _public_url(_inst: object, _attribute: object, value: str) -> None:
    if not value.startswith(("http://", "https://")):
        raise ValueError("public_url must start with http:// or https://")


@attrs.frozen(kw_only=True)
class Settings:
    """Everything tunable in the core; the defaults are the documented ones.

    ``public_url`` is the only base for links in emails (never a request's Host).
    """

    public_url: str = attrs.field(
        default="http://127.0.0.1:8080",
        converter=_strip_slash,
        validator=_public_url,
    )
    reminder_lead: timedelta = timedelta(hours=24)
    session_ttl: timedelta = timedelta(days=30)
    session_touch_interval: timedelta = timedelta(minutes=1)
    registration_ttl: timedelta = timedelta(minutes=15)
    recovery_ttl: timedelta = timedelta(hours=1)
    max_image_bytes: int = 10 * 1024 * 1024
    registrations_per_email: Limit = Limit(count=3, window=timedelta(hours=1))
    recoveries_per_email: Limit = Limit(count=3, window=timedelta(hours=1))
    login_attempts_per_account: Limit = Limit(count=10, window=timedelta(minutes=15))
    login_attempts_per_address: Limit = Limit(count=50, window=timedelta(minutes=15))
    #: Requests that make the server send mail (registration, recovery) per client address.
    mail_requests_per_address: Limit = Limit(count=20, window=timedelta(hours=1))
    #: The longest an event may last (a longer one is a typo: 422).
    max_event_duration: timedelta = timedelta(days=366)
    reminder_batch_size: int = attrs.field(default=500, validator=attrs.validators.ge(1))
    outbox_batch_size: int = attrs.field(default=50, validator=attrs.validators.ge(1))
    outbox_lease: timedelta = timedelta(minutes=5)
    outbox_backoff_base: timedelta = timedelta(seconds=30)
    outbox_backoff_max: timedelta = timedelta(hours=1)
    outbox_max_attempts: int = attrs.field(default=10, validator=attrs.validators.ge(1))
    require_admin_totp: bool = False
    """Whether administrators must have two-factor login on to act as administrators."""
    totp_issuer: str = "Afisha"
    """The issuer an authenticator app shows next to the account (``otpauth://`` URI)."""
    deleted_retention: timedelta = timedelta(days=30)
    """How long a deleted account keeps its personal data before it is erased."""
    recovery_path: str = "/password-recovery/{token}"
    event_path: str = "/events/{event_id}"
    calendar_path: str = "/v1/events/{event_id}/calendar.ics"
    home_path: str = "/"
    event_url_template: str | None = None
    """The operator's own event page, e.g. ``https://example.org/e/{id}`` (``{id}``,
    ``{event_id}`` and ``{public_url}`` are filled in); ``None``: the bundled page."""
    recovery_url_template: str | None = None
    """The operator's own recovery page (``{token}`` and ``{public_url}`` filled in);
    ``None``: the bundled page."""
    home_url: str | None = None
    """The operator's own front page; ``None``: the bundled page of upcoming events."""
    default_locale: str = "en"
    """The language of a person whose language is not known (``AFISHA_LOCALE``)."""
    locale_dirs: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    """An embedder's catalogue directories (``<dir>/<locale>/LC_MESSAGES/afisha.po``):
    their messages override the shipped ones, and a new ``<locale>`` adds a language."""
    brand: str = "Afisha"
    """The operator's name, shown in emails and pages."""

    def recovery_url(self, token: str) -> str:
        """The link mailed for password recovery."""
        if self.recovery_url_template:
            return self.recovery_url_template.format(public_url=self.public_url, token=token)
        return self.public_url + self.recovery_path.format(token=token)

    def event_url(self, event_id: object) -> str:
        """The link to an event, meant for a person (a page, never JSON)."""
        if self.event_url_template:
            return self.event_url_template.format(
                public_url=self.public_url, id=event_id, event_id=event_id
            )
        return self.public_url + self.event_path.format(event_id=event_id)

    def home_link(self) -> str:
        """The link to the front page (upcoming events)."""
        return self.home_url or self.public_url + self.home_path

    def calendar_url(self, event_id: object) -> str:
        """The link to an event's calendar file."""
        return self.public_url + self.calendar_path.format(event_id=event_id)
