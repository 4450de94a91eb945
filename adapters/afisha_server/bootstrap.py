"""The composition root: the only place that builds adapters and wires them to the core.

Everything is chosen from :class:`~afisha_server.config.ServerConfig`: PostgreSQL or
SQLite, S3 or local files, Redis or an in-process limiter, SMTP or ``.eml`` files.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

import attrs

from afisha_argon2 import Argon2PasswordHasher
from afisha_core.app import Afisha
from afisha_core.clock import SystemClock
from afisha_core.limiter import InProcessRateLimiter
from afisha_core.ports import Mailer, RateLimiter
from afisha_core.settings import Settings
from afisha_httpx import HttpxWebhookSender
from afisha_obstore import ObstoreStorage
from afisha_postgres import PostgresDatabase, split_schema
from afisha_redis import RedisRateLimiter
from afisha_server.config import ConfigError, ServerConfig
from afisha_smtp import EmlFileMailer, SmtpMailer
from afisha_sqlite import SqliteDatabase
from afisha_starlette.runtime import Check, Runtime

__all__ = ["Wiring", "build_core", "build_runtime", "open_database"]

logger = logging.getLogger("afisha")


def settings_of(config: ServerConfig) -> Settings:
    """The core's settings from the server configuration."""
    return Settings(
        public_url=config.public_url,
        reminder_lead=config.reminder_lead,
        session_ttl=config.session_ttl,
        session_touch_interval=config.session_touch_interval,
        require_admin_totp=config.require_admin_totp,
        deleted_retention=config.deleted_retention,
        event_url_template=config.event_url,
        recovery_url_template=config.recovery_url,
        home_url=config.home_url.format(public_url=config.public_url),
        default_locale=config.locale,
        locale_dirs=(config.locale_dir,) if config.locale_dir else (),
        brand=config.brand,
    )


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///`` database URL."""
    # sqlite:///relative/path.db and sqlite:////absolute/path.db, like SQLAlchemy.
    rest = url.split("://", 1)[1]
    if not rest.startswith("/") or rest == "/":
        raise ConfigError(f"AFISHA_DATABASE_URL={url!r}: write sqlite:///path/to/file.db")
    return Path(rest[1:])


async def open_database(
    config: ServerConfig, *, migrate: bool = True
) -> tuple[SqliteDatabase | PostgresDatabase, Callable[[], Awaitable[None]]]:
    """Open (and by default migrate) the configured database.

    Returns the unit-of-work factory and how to close it.
    """
    scheme = urlsplit(config.database_url).scheme
    if scheme == "sqlite":
        sqlite = SqliteDatabase(sqlite_path(config.database_url))
        await sqlite.open()
        if migrate:
            await sqlite.migrate()
        return sqlite, sqlite.close
    try:
        conninfo, schema = split_schema(config.database_url)
    except ValueError as exc:
        raise ConfigError(f"AFISHA_DATABASE_URL: {exc}") from None
    postgres = PostgresDatabase(conninfo, schema=schema, max_size=config.db_pool_size)
    if migrate:
        await postgres.migrate()
    await postgres.open()
    return postgres, postgres.close


@attrs.define(kw_only=True)
class Wiring:
    """The core built from configuration, with what its hosts need around it.

    ``checks`` name each backing service for readiness; ``serve_media`` says whether
    pictures are local files the HTTP app serves itself; ``closers`` close the adapters
    (last opened, first closed); ``backlog`` reads what waits for the worker.
    """

    afisha: Afisha
    checks: dict[str, Check]
    serve_media: bool
    closers: list[Callable[[], Awaitable[None]]]
    backlog: Callable[[], Awaitable[dict[str, float]]]

    async def aclose(self) -> None:
        """Close every adapter, in the reverse order of opening."""
        while self.closers:
            await self.closers.pop()()


async def build_core(config: ServerConfig, *, migrate: bool = True) -> Wiring:
    """Build every adapter from ``config`` and the core on top of them (no HTTP)."""
    clock = SystemClock()
    settings = settings_of(config)
    runtime_closers: list[Callable[[], Awaitable[None]]] = []
    checks: dict[str, Check] = {}

    db, close_db = await open_database(config, migrate=migrate)
    runtime_closers.append(close_db)

    async def database_ping() -> None:
        async with db() as uow:
            await uow.users.get(UUID(int=0))

    checks["database"] = database_ping

    async def backlog() -> dict[str, float]:
        return await db.backlog(clock.now(), config.reminder_lead)

    try:
        storage = ObstoreStorage.from_url(config.storage_url, public_url=config.public_url)
    except ValueError as exc:
        raise ConfigError(f"AFISHA_STORAGE_URL: {exc}") from None
    checks["storage"] = storage.ping
    serve_media = storage.served_by_app

    limiter: RateLimiter
    if config.redis_url:
        try:
            redis_limiter = RedisRateLimiter.from_url(config.redis_url)
        except ValueError as exc:
            raise ConfigError(f"AFISHA_REDIS_URL: {exc}") from None
        runtime_closers.append(redis_limiter.aclose)
        checks["rate_limiter"] = redis_limiter.ping
        limiter = redis_limiter
    else:
        limiter = InProcessRateLimiter(clock)

    # No readiness check for the mailer: mail waits in the outbox, so an SMTP outage
    # must not take the API out of the load balancer (the worker's health says more).
    mailer: Mailer
    if config.smtp_url:
        try:
            mailer = SmtpMailer.from_url(config.smtp_url, mail_from=config.mail_from)
        except ValueError as exc:
            raise ConfigError(f"AFISHA_SMTP_URL: {exc}") from None
    else:
        mailer = EmlFileMailer(config.outbox_dir, mail_from=config.mail_from)

    webhook_sender = HttpxWebhookSender(allow_private=config.webhooks_allow_private)
    runtime_closers.append(webhook_sender.aclose)
    afisha = Afisha(
        uow=db,
        hasher=Argon2PasswordHasher(),
        limiter=limiter,
        storage=storage,
        mailer=mailer,
        clock=clock,
        settings=settings,
        webhook_sender=webhook_sender,
    )
    return Wiring(
        afisha=afisha,
        checks=checks,
        serve_media=serve_media,
        closers=runtime_closers,
        backlog=backlog,
    )


async def build_runtime(config: ServerConfig, *, migrate: bool = True) -> Runtime:
    """The core from ``config``, as the HTTP app takes it."""
    wiring = await build_core(config, migrate=migrate)
    return Runtime(
        afisha=wiring.afisha,
        checks=wiring.checks,
        serve_media=wiring.serve_media,
        closers=wiring.closers,
        event_url_template=config.event_url,
        backlog=wiring.backlog,
    )
