"""The server's configuration, read from ``AFISHA_*`` environment variables."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from afisha_core.i18n import translator
from afisha_server.logs import LOG_FORMATS, redact_url

__all__ = ["ConfigError", "ServerConfig", "parse_duration"]

_DURATION = re.compile(r"(\d+)\s*(ms|s|m|h|d|w)")
_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


class ConfigError(ValueError):
    """A configuration variable has a value the server cannot use; the message names it."""


def parse_duration(text: str) -> timedelta:
    """Parse ``"30s"``, ``"15m"``, ``"24h"``, ``"30d"``, ``"1h30m"`` into a timedelta.

    Raises ``ValueError`` for anything else, including zero.
    """
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 24h or 30d")
    total = sum((int(n) * _UNITS[unit] for n, unit in _DURATION.findall(compact)), timedelta())
    if total <= timedelta(0):
        raise ValueError(f"{text!r} must be longer than zero")
    return total


def _url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    scheme = urlsplit(value).scheme
    if scheme not in schemes:
        raise ConfigError(
            f"{name}={redact_url(value)!r}: the URL must start with one of "
            + ", ".join(f"{s}://" for s in schemes)
        )
    return value


@attrs.frozen(kw_only=True)
class ServerConfig:
    """Everything ``afisha serve`` and ``afisha worker`` can be told (see docs/configuration.md).

    Every field has the embedded default: SQLite and local files under
    ``./afisha-data`` (or ``AFISHA_DATA_DIR``), an in-process rate limiter, and mails
    written as ``.eml`` files. ``public_url_given`` says whether ``AFISHA_PUBLIC_URL``
    was set; when it was not, :meth:`listening_on` makes the public URL follow the
    address ``afisha serve`` listens on.
    """

    database_url: str = "sqlite:///./afisha-data/afisha.db"
    storage_url: str = "file://./afisha-data/media"
    redis_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "Afisha <no-reply@localhost>"
    public_url: str = "http://127.0.0.1:8080"
    reminder_lead: timedelta = timedelta(hours=24)
    scheduler_interval: timedelta = timedelta(seconds=30)
    session_ttl: timedelta = timedelta(days=30)
    session_touch_interval: timedelta = timedelta(minutes=1)
    data_dir: str = "./afisha-data"
    cors_origins: tuple[str, ...] = ()
    db_pool_size: int = 10
    #: The page about an event that links for people point at (``AFISHA_EVENT_URL``).
    event_url: str = "{public_url}/events/{id}"
    #: The page a recovery link opens (``AFISHA_RECOVERY_URL``); ``{token}`` is filled in.
    recovery_url: str = "{public_url}/password-recovery/{token}"
    #: The front page "open Afisha" links point at (``AFISHA_HOME_URL``).
    home_url: str = "{public_url}/"
    #: The language of a person whose language is not known (``AFISHA_LOCALE``).
    locale: str = "en"
    #: An embedder's catalogue directory (``AFISHA_LOCALE_DIR``): overrides and new languages.
    locale_dir: str | None = None
    #: The operator's name in emails and pages (``AFISHA_BRAND``).
    brand: str = "Afisha"
    public_url_given: bool = False
    log_format: str = "text"
    metrics_token: str | None = None
    tracing: bool = False
    heartbeat_file: str | None = None

    @property
    def heartbeat_path(self) -> str:
        """The worker's heartbeat file (``AFISHA_HEARTBEAT_FILE``, or under the data dir)."""
        return self.heartbeat_file or f"{self.data_dir.rstrip('/')}/worker-heartbeat.json"

    def listening_on(self, host: str, port: int) -> ServerConfig:
        """The configuration for a server on ``host:port``.

        Without ``AFISHA_PUBLIC_URL`` the links in emails and the media URLs point at
        that address (``0.0.0.0`` and ``::`` become ``127.0.0.1``).
        """
        if self.public_url_given:
            return self
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - a name
        if ":" in shown:
            shown = f"[{shown}]"
        return attrs.evolve(self, public_url=f"http://{shown}:{port}")

    require_admin_totp: bool = False
    #: Whether webhooks may go to loopback, private and link-local addresses.
    webhooks_allow_private: bool = False
    deleted_retention: timedelta = timedelta(days=30)

    @property
    def outbox_dir(self) -> str:
        """Where mails go as ``.eml`` files when no SMTP server is configured."""
        return f"{self.data_dir.rstrip('/')}/outbox"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServerConfig:
        """Read the configuration; raise :class:`ConfigError` naming any bad variable."""

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        def duration(name: str, default: timedelta, *, zero: bool = False) -> timedelta:
            raw = get(name)
            if raw is None:
                return default
            if zero and re.fullmatch(r"0+[smhd]?", raw.strip().lower()):
                return timedelta(0)
            try:
                return parse_duration(raw)
            except ValueError as exc:
                raise ConfigError(f"{name}: {exc}") from None

        defaults = cls()
        data_dir = (get("AFISHA_DATA_DIR") or defaults.data_dir).rstrip("/") or "/"
        database_url = get("AFISHA_DATABASE_URL")
        storage_url = get("AFISHA_STORAGE_URL")
        redis_url = get("AFISHA_REDIS_URL")
        smtp_url = get("AFISHA_SMTP_URL")
        mail_from = get("AFISHA_MAIL_FROM")
        public_url = get("AFISHA_PUBLIC_URL")
        pool_size = get("AFISHA_DB_POOL_SIZE")
        cors = get("AFISHA_CORS_ORIGINS")
        event_url = get("AFISHA_EVENT_URL")
        if event_url is not None:
            _check_event_url(event_url)
        require_totp = _flag("AFISHA_REQUIRE_ADMIN_TOTP", get("AFISHA_REQUIRE_ADMIN_TOTP"))
        allow_private = _flag("AFISHA_WEBHOOKS_ALLOW_PRIVATE", get("AFISHA_WEBHOOKS_ALLOW_PRIVATE"))
        if database_url is not None:
            _url("AFISHA_DATABASE_URL", database_url, ("sqlite", "postgresql", "postgres"))
        if storage_url is not None:
            _url("AFISHA_STORAGE_URL", storage_url, ("s3", "file", "memory"))
        if redis_url is not None:
            _url("AFISHA_REDIS_URL", redis_url, ("redis", "rediss", "unix"))
        if smtp_url is not None:
            _url("AFISHA_SMTP_URL", smtp_url, ("smtp", "smtps"))
        if mail_from is not None and ("@" not in mail_from or any(c in mail_from for c in "\r\n")):
            raise ConfigError(
                f"AFISHA_MAIL_FROM={mail_from!r}: "
                "give an address like Afisha <no-reply@example.org>"
            )
        if public_url is not None:
            parts = urlsplit(public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(f"AFISHA_PUBLIC_URL={public_url!r}: give an http(s) URL")
        if pool_size is not None and not (
            re.fullmatch(r"[0-9]{1,4}", pool_size) and 1 <= int(pool_size) <= 1000
        ):
            raise ConfigError(f"AFISHA_DB_POOL_SIZE={pool_size!r}: give a number from 1 to 1000")
        log_format = (get("AFISHA_LOG_FORMAT") or "text").lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"AFISHA_LOG_FORMAT={log_format!r}: give text or json")
        tracing = (get("AFISHA_TRACING") or "false").lower()
        if tracing not in ("true", "false", "1", "0", "yes", "no"):
            raise ConfigError(f"AFISHA_TRACING={tracing!r}: give true or false")
        return cls(
            # Everything the embedded server keeps lives under AFISHA_DATA_DIR.
            database_url=database_url or f"sqlite:///{data_dir}/afisha.db",
            storage_url=storage_url or f"file://{data_dir}/media",
            redis_url=redis_url,
            smtp_url=smtp_url,
            mail_from=mail_from or defaults.mail_from,
            public_url=(public_url or defaults.public_url).rstrip("/"),
            public_url_given=public_url is not None,
            reminder_lead=duration("AFISHA_REMINDER_LEAD", defaults.reminder_lead),
            scheduler_interval=duration("AFISHA_SCHEDULER_INTERVAL", defaults.scheduler_interval),
            session_ttl=duration("AFISHA_SESSION_TTL", defaults.session_ttl),
            session_touch_interval=duration(
                "AFISHA_SESSION_TOUCH_INTERVAL", defaults.session_touch_interval, zero=True
            ),
            data_dir=data_dir,
            cors_origins=tuple(o.strip() for o in (cors or "").split(",") if o.strip()),
            db_pool_size=int(pool_size) if pool_size else defaults.db_pool_size,
            log_format=log_format,
            metrics_token=get("AFISHA_METRICS_TOKEN"),
            heartbeat_file=get("AFISHA_HEARTBEAT_FILE"),
            tracing=tracing in ("true", "1", "yes") or bool(get("OTEL_EXPORTER_OTLP_ENDPOINT")),
            require_admin_totp=require_totp,
            webhooks_allow_private=allow_private,
            deleted_retention=duration("AFISHA_DELETED_RETENTION", defaults.deleted_retention),
            event_url=event_url or defaults.event_url,
            **_language_and_links(get, defaults),
        )


def _language_and_links(get: Callable[[str], str | None], defaults: ServerConfig) -> dict[str, Any]:
    """``AFISHA_RECOVERY_URL``, ``AFISHA_HOME_URL``, ``AFISHA_LOCALE(_DIR)``, ``AFISHA_BRAND``."""
    recovery_url = get("AFISHA_RECOVERY_URL")
    if recovery_url is not None:
        _check_template("AFISHA_RECOVERY_URL", recovery_url, "token")
    home_url = get("AFISHA_HOME_URL")
    if home_url is not None:
        _check_template("AFISHA_HOME_URL", home_url, None)
    locale_dir = get("AFISHA_LOCALE_DIR")
    if locale_dir is not None and not Path(locale_dir).is_dir():
        raise ConfigError(f"AFISHA_LOCALE_DIR={locale_dir!r}: no such directory")
    locale = get("AFISHA_LOCALE") or defaults.locale
    known = translator([locale_dir] if locale_dir else []).locales
    if locale not in known:
        raise ConfigError(f"AFISHA_LOCALE={locale!r}: give one of {', '.join(known)}")
    return {
        "recovery_url": recovery_url or defaults.recovery_url,
        "home_url": home_url or defaults.home_url,
        "locale": locale,
        "locale_dir": locale_dir,
        "brand": get("AFISHA_BRAND") or defaults.brand,
    }


def _check_template(name: str, template: str, placeholder: str | None) -> None:
    """A link template fills ``{public_url}`` (and ``placeholder``) into an http(s) URL."""
    values = {"public_url": "http://example.org"}
    if placeholder:
        values[placeholder] = "x"
    try:
        filled = template.format(**values)
    except (KeyError, IndexError, ValueError):
        raise ConfigError(f"{name}={template!r}: only {sorted(values)} may be filled in") from None
    needs = "{" + placeholder + "}" if placeholder else ""
    if needs not in template or urlsplit(filled).scheme not in ("http", "https"):
        raise ConfigError(f"{name}={template!r}: give an http(s) URL {needs}".rstrip())


def _check_event_url(template: str) -> None:
    """An event URL template fills ``{id}`` (and maybe ``{public_url}``) into an http(s) URL."""
    try:
        filled = template.format(public_url="http://example.org", id="0")
    except (KeyError, IndexError, ValueError):
        raise ConfigError(
            f"AFISHA_EVENT_URL={template!r}: only {{public_url}} and {{id}} may be filled in"
        ) from None
    if "{id}" not in template or urlsplit(filled).scheme not in ("http", "https"):
        raise ConfigError(
            f"AFISHA_EVENT_URL={template!r}: give an http(s) URL with {{id}}, "
            "like https://example.org/events/{id}"
        )


def _flag(name: str, value: str | None) -> bool:
    """A true/false variable (``true``, ``1``, ``yes`` or ``false``, ``0``, ``no``)."""
    text = (value or "false").lower()
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"{name}={text!r}: give true or false")
    return text in ("true", "1", "yes")
