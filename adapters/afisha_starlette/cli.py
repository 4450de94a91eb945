"""The ``afisha`` command: serve the API, run the worker, migrate, create an admin."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence

from afisha_core.errors import AfishaError
from afisha_starlette.config import ConfigError, ServerConfig

__all__ = ["main"]

logger = logging.getLogger("afisha")

_EPILOG = """\
configuration (environment variables, all optional):
  AFISHA_DATABASE_URL        sqlite:///./afisha-data/afisha.db | postgresql://user:pw@host/db
  AFISHA_STORAGE_URL         file://./afisha-data/media | s3://bucket?endpoint=...&region=...
  AFISHA_REDIS_URL           unset: in-process rate limiter | redis://host:6379/0
  AFISHA_SMTP_URL            unset: mails go to afisha-data/outbox/*.eml | smtp://u:p@host:587?starttls=true
  AFISHA_MAIL_FROM           Afisha <no-reply@localhost>
  AFISHA_PUBLIC_URL          http://127.0.0.1:8080 (the base of links in emails)
  AFISHA_REMINDER_LEAD       24h     AFISHA_SCHEDULER_INTERVAL  30s
  AFISHA_SESSION_TTL         30d     AFISHA_CORS_ORIGINS        comma-separated origins
  AFISHA_DATA_DIR            ./afisha-data (the .eml outbox lives under it)
  AFISHA_DB_POOL_SIZE        10 (PostgreSQL connections per process)
  AFISHA_SESSION_TOUCH_INTERVAL  1m (how often a session's last_seen_at is written)
  AFISHA_REQUIRE_ADMIN_TOTP  false (true: administrators need two-factor login)
  AFISHA_DELETED_RETENTION   30d (then the worker erases a deleted account's personal data)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="afisha",
        description="Afisha: an event-listing backend. With no configuration it runs on "
        "SQLite and local files under ./afisha-data.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (INFO)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the HTTP API (and the scheduler, unless --no-scheduler)",
        description="Run the HTTP API with uvicorn. Migrates the database first. "
        "Runs the reminder and mail-delivery scheduler in-process unless --no-scheduler.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
    serve.add_argument(
        "--no-scheduler", action="store_true", help="don't run reminders and mail delivery here"
    )
    commands.add_parser(
        "worker",
        help="run the scheduler alone (reminders and mail delivery)",
        description="Run the reminder and mail-delivery ticks every AFISHA_SCHEDULER_INTERVAL "
        "until SIGINT/SIGTERM. Several workers may run at once.",
    )
    commands.add_parser(
        "migrate",
        help="apply database migrations and exit",
        description="Apply the migrations the database lacks, then exit.",
    )
    admin = commands.add_parser(
        "create-admin",
        help="create an administrator (the first one is a system user)",
        description="Create an administrator. The password is read from standard input. "
        "The first administrator created is a system user: it cannot be deleted or demoted.",
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--username", required=True)
    admin.add_argument("--full-name", default="Administrator")
    admin.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from stdin"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``afisha`` command; return its exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=str(args.log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # APScheduler narrates every job run at INFO; our worker logs one line per tick.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        config = ServerConfig.from_env(os.environ)
    except ConfigError as exc:
        print(f"afisha: configuration error: {exc}", file=sys.stderr)
        return 2
    commands: dict[str, Callable[[argparse.Namespace, ServerConfig], int]] = {
        "serve": _serve,
        "worker": _worker,
        "migrate": _migrate,
        "create-admin": _create_admin,
    }
    try:
        return commands[args.command](args, config)
    except ConfigError as exc:
        print(f"afisha: configuration error: {exc}", file=sys.stderr)
        return 2
    except AfishaError as exc:
        print(f"afisha: {exc.code}: {exc.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(coro: Awaitable[int]) -> int:
    async def wrapper() -> int:
        return await coro

    return asyncio.run(wrapper())


def _serve(args: argparse.Namespace, config: ServerConfig) -> int:
    import uvicorn  # noqa: PLC0415 - only the serve command needs it

    from afisha_apscheduler import Worker  # noqa: PLC0415
    from afisha_starlette.app import create_app  # noqa: PLC0415
    from afisha_starlette.bootstrap import build_runtime  # noqa: PLC0415
    from afisha_starlette.runtime import Runtime  # noqa: PLC0415

    async def start_scheduler(runtime: Runtime) -> Callable[[], Awaitable[None]] | None:
        if args.no_scheduler:
            return None
        worker = Worker(runtime.afisha, config.scheduler_interval)
        worker.start()
        runtime.wake_mail = worker.wake_mail
        return worker.shutdown

    async def serve() -> int:
        # Built before the server starts, so a bad variable or an unreachable
        # database stops us with a clear message instead of a startup traceback.
        runtime = await build_runtime(config)
        try:
            app = create_app(
                runtime,
                on_startup=start_scheduler,
                cors_origins=config.cors_origins,
                public_url=config.public_url,
            )
            server = uvicorn.Server(
                uvicorn.Config(
                    app, host=args.host, port=args.port, log_level="warning", lifespan="on"
                )
            )
            where = f"http://{args.host}:{args.port}"
            scheduler = "off" if args.no_scheduler else f"every {config.scheduler_interval}"
            print(
                f"Afisha API on {where}/v1 (docs: {where}/docs, OpenAPI: {where}/openapi.json)\n"
                f"database: {config.database_url}  storage: {config.storage_url}  "
                f"mail: {config.smtp_url or config.outbox_dir + '/*.eml'}  "
                f"scheduler: {scheduler}",
                flush=True,
            )
            await server.serve()
        finally:
            await runtime.aclose()
        return 0

    return _run(serve())


def _worker(_args: argparse.Namespace, config: ServerConfig) -> int:
    from afisha_apscheduler import run_forever  # noqa: PLC0415
    from afisha_starlette.bootstrap import build_runtime  # noqa: PLC0415

    async def work() -> int:
        runtime = await build_runtime(config)
        try:
            await run_forever(runtime.afisha, config.scheduler_interval)
        finally:
            await runtime.aclose()
        return 0

    return _run(work())


def _migrate(_args: argparse.Namespace, config: ServerConfig) -> int:
    from afisha_starlette.bootstrap import open_database  # noqa: PLC0415

    async def migrate() -> int:
        _db, close = await open_database(config, migrate=True)
        await close()
        print("migrations applied", flush=True)
        return 0

    return _run(migrate())


def _create_admin(args: argparse.Namespace, config: ServerConfig) -> int:
    from afisha_core.domain import Role  # noqa: PLC0415
    from afisha_core.ports import UserQuery  # noqa: PLC0415
    from afisha_starlette.bootstrap import build_runtime  # noqa: PLC0415

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("afisha: give the password on standard input", file=sys.stderr)
        return 2

    async def create() -> int:
        runtime = await build_runtime(config)
        try:
            async with runtime.afisha.uow() as uow:
                first = not await uow.users.list(UserQuery(role=Role.ADMINISTRATOR, limit=1))
            user = await runtime.afisha.accounts.create_administrator(
                args.email, args.username, password, full_name=args.full_name, is_system=first
            )
        finally:
            await runtime.aclose()
        kind = "system administrator" if user.is_system else "administrator"
        print(f"created {kind} {user.username} <{user.email}> ({user.id})", flush=True)
        return 0

    return _run(create())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
