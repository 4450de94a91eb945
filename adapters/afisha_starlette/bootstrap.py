"""The composition root: the only place that builds adapters and wires them to the core.

Everything is chosen from :class:`~afisha_starlette.config.ServerConfig`: PostgreSQL or
SQLite, S3 or local files, Redis or an in-process limiter, SMTP or ``.eml`` files.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

from afisha_argon2 import Argon2PasswordHasher
from afisha_core.app import Afisha
from afisha_core.clock import SystemClock
from afisha_core.ports import Mailer, RateLimiter, UnitOfWorkFactory
from afisha_core.settings import Settings
from afisha_core.testing.fakes import InMemoryRateLimiter
from afisha_obstore import ObstoreStorage
from afisha_postgres import PostgresDatabase
from afisha_redis import RedisRateLimiter
from afisha_smtp import EmlFileMailer, SmtpMailer
from afisha_sqlite import SqliteDatabase
from afisha_starlette.config import ConfigError, ServerConfig
from afisha_starlette.runtime import Check, Runtime

__all__ = ["build_runtime", "open_database"]

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
    )


def _sqlite_path(url: str) -> Path:
    # sqlite:///relative/path.db and sqlite:////absolute/path.db, like SQLAlchemy.
    rest = url.split("://", 1)[1]
    if not rest.startswith("/") or rest == "/":
        raise ConfigError(f"AFISHA_DATABASE_URL={url!r}: write sqlite:///path/to/file.db")
    return Path(rest[1:])


async def open_database(
    config: ServerConfig, *, migrate: bool = True
) -> tuple[UnitOfWorkFactory, Callable[[], Awaitable[None]]]:
    """Open (and by default migrate) the configured database.

    Returns the unit-of-work factory and how to close it.
    """
    scheme = urlsplit(config.database_url).scheme
    if scheme == "sqlite":
        sqlite = SqliteDatabase(_sqlite_path(config.database_url))
        await sqlite.open()
        if migrate:
            await sqlite.migrate()
        return sqlite, sqlite.close
    postgres = PostgresDatabase(config.database_url, max_size=config.db_pool_size)
    if migrate:
        await postgres.migrate()
    await postgres.open()
    return postgres, postgres.close


async def build_runtime(config: ServerConfig, *, migrate: bool = True) -> Runtime:
    """Build every adapter from ``config`` and the core on top of them."""
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
        limiter = InMemoryRateLimiter(clock)

    mailer: Mailer
    if config.smtp_url:
        try:
            smtp = SmtpMailer.from_url(config.smtp_url, mail_from=config.mail_from)
        except ValueError as exc:
            raise ConfigError(f"AFISHA_SMTP_URL: {exc}") from None
        checks["mailer"] = smtp.ping
        mailer = smtp
    else:
        eml = EmlFileMailer(config.outbox_dir, mail_from=config.mail_from)
        checks["mailer"] = eml.ping
        mailer = eml

    afisha = Afisha(
        uow=db,
        hasher=Argon2PasswordHasher(),
        limiter=limiter,
        storage=storage,
        mailer=mailer,
        clock=clock,
        settings=settings,
    )
    return Runtime(afisha=afisha, checks=checks, serve_media=serve_media, closers=runtime_closers)
