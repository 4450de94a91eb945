"""The ``afisha`` command: serve the API, run the worker, migrate, back up, create an admin."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from afisha_core.errors import AfishaError
from afisha_server.config import ConfigError, ServerConfig
from afisha_server.gc_tuning import tune_garbage_collector
from afisha_server.logs import configure_logging, redact, redact_url

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
  AFISHA_DATA_DIR            ./afisha-data (the SQLite file, media, .eml outbox, heartbeat)
  AFISHA_DB_POOL_SIZE        10 (PostgreSQL connections per process)
  AFISHA_SESSION_TOUCH_INTERVAL  1m (how often a session's last_seen_at is written)
  AFISHA_REQUIRE_ADMIN_TOTP  false (true: administrators need two-factor login)
  AFISHA_WEBHOOKS_ALLOW_PRIVATE  false (true: webhooks may go to private addresses)
  AFISHA_DELETED_RETENTION   30d (then the worker erases a deleted account's personal data)
  AFISHA_LOG_FORMAT          text | json (one JSON object per line)
  AFISHA_METRICS_TOKEN       unset: /metrics is open | a bearer token /metrics asks for
  AFISHA_TRACING             false | true (OpenTelemetry; needs the otel extra)
  AFISHA_HEARTBEAT_FILE      AFISHA_DATA_DIR/worker-heartbeat.json
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
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="serve from this many processes (1); /metrics counts the requests of all",
    )
    commands.add_parser(
        "worker",
        help="run the scheduler alone (reminders and mail delivery)",
        description="Run the reminder and mail-delivery ticks every AFISHA_SCHEDULER_INTERVAL "
        "until SIGINT/SIGTERM. Several workers may run at once. After every tick the worker "
        "rewrites its heartbeat file (AFISHA_HEARTBEAT_FILE); see worker-health.",
    )
    health = commands.add_parser(
        "worker-health",
        help="exit 0 while the worker ticks, 1 when it stopped (a container health check)",
        description="Read the worker's heartbeat file: exit 0 when the last tick is more "
        "recent than --max-age (default: three scheduler intervals plus 30 s), else 1.",
    )
    health.add_argument("--max-age", default=None, help="e.g. 2m; default 3 x interval + 30s")
    migrate = commands.add_parser(
        "migrate",
        help="apply database migrations and exit",
        description="Apply the migrations the database lacks, printing each one, then exit.",
    )
    migrate.add_argument(
        "--list", action="store_true", help="list every migration as applied or pending"
    )
    migrate.add_argument(
        "--dry-run", action="store_true", help="print what would be applied; apply nothing"
    )
    backup = commands.add_parser(
        "backup",
        help="write a consistent copy of the SQLite database to PATH",
        description="Copy the embedded SQLite database to PATH with SQLite's online backup "
        "(safe while the server runs; the copy is one self-contained file). For PostgreSQL "
        "use pg_dump (see docs/operations.md).",
    )
    backup.add_argument("path", help="the file to write (replaced if it exists)")
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
    wanted_format = os.environ.get("AFISHA_LOG_FORMAT", "").strip().lower()
    configure_logging(str(args.log_level), "json" if wanted_format == "json" else "text")
    try:
        config = ServerConfig.from_env(os.environ)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}")
        return 2
    commands: dict[str, Callable[[argparse.Namespace, ServerConfig], int]] = {
        "serve": _serve,
        "worker": _worker,
        "worker-health": _worker_health,
        "migrate": _migrate,
        "backup": _backup,
        "create-admin": _create_admin,
    }
    try:
        return commands[args.command](args, config)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}")
        return 2
    except AfishaError as exc:
        _fail(f"{exc.code}: {exc.detail}")
        return 1
    except KeyboardInterrupt:
        return 130
    except _Terminated:
        return 0


def _fail(message: str) -> None:
    """Say why the command stops (credentials removed), as a log line in JSON mode."""
    if os.environ.get("AFISHA_LOG_FORMAT", "").strip().lower() == "json":
        logger.error(redact(message))
    else:
        print(f"afisha: {redact(message)}", file=sys.stderr)


def _say(config: ServerConfig, text: str) -> None:
    """Tell the operator something: printed, or one JSON log line per line in JSON mode."""
    for line in text.splitlines():
        if config.log_format == "json":
            logger.info(redact(line))
        else:
            print(redact(line), flush=True)


def _run(coro: Awaitable[int], *, serving: bool = False) -> int:
    async def wrapper() -> int:
        return await coro

    loop_factory = _fast_loop_factory() if serving else None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(wrapper())


def _fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """Uvloop's event loop when it is installed (the server's ``speedups`` extra)."""
    try:
        import uvloop  # noqa: PLC0415 - optional
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


class _Terminated(Exception):
    """SIGTERM arrived: stop cleanly (close the database), then exit 0."""


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    raise _Terminated


def _positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number from 1 to 256")
    return int(text)


def _bind(host: str, port: int) -> socket.socket:
    """Listen on ``host:port`` before anything else happens (a busy port stops us here)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns TCP_NODELAY on only for sockets that say TCP,
    # and without it every small response waits for a delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _serve(args: argparse.Namespace, config: ServerConfig) -> int:
    import uvicorn  # noqa: PLC0415 - only the serve command needs it

    config = config.listening_on(args.host, args.port)
    # The port first: a second server on a busy port must fail before it touches
    # the database (no migration, no mail or reminder pass, no banner).
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        return 1
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(sock.close)
        _run(_migrate_quietly(config))  # once, before any worker process starts
        where = f"http://{args.host}:{args.port}"
        scheduler = "off" if args.no_scheduler else f"every {config.scheduler_interval}"
        mail = redact_url(config.smtp_url) if config.smtp_url else config.outbox_dir + "/*.eml"
        workers = f"  workers: {args.workers}" if args.workers > 1 else ""
        _say(
            config,
            f"Afisha API on {where}/v1 (docs: {where}/docs, OpenAPI: {where}/openapi.json)\n"
            f"database: {redact_url(config.database_url)}  "
            f"storage: {redact_url(config.storage_url)}  "
            f"mail: {mail}  scheduler: {scheduler}{workers}",
        )
        if args.workers == 1:
            return _serve_one(args, config, sock, uvicorn)
        return _serve_many(args, config, sock, uvicorn, cleanup)


def _serve_one(
    args: argparse.Namespace, config: ServerConfig, sock: socket.socket, uvicorn: Any
) -> int:
    from afisha_server.asgi import create_app  # noqa: PLC0415
    from afisha_server.bootstrap import build_runtime  # noqa: PLC0415
    from afisha_server.tracing import instrument_databases  # noqa: PLC0415

    # uvicorn handles SIGTERM itself and, once it has shut down, raises the signal
    # again for the previous handler. With the default one the process would die right
    # there, before the database is closed (and the SQLite file checkpointed): ours
    # turns it into an exception that unwinds through the ``finally`` below.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)

    async def serve() -> int:
        # Built before the server starts, so a bad variable or an unreachable
        # service stops us with a clear message instead of a startup traceback.
        if config.tracing:
            instrument_databases()  # before the database is opened, or it is not traced
        runtime = await build_runtime(config, migrate=False)
        try:
            app = create_app(config, scheduler=not args.no_scheduler, runtime=runtime)
            tune_garbage_collector()
            server = uvicorn.Server(
                uvicorn.Config(app, log_level="warning", lifespan="on", log_config=None)
            )
            await server.serve(sockets=[sock])
        finally:
            await runtime.aclose()
        return 0

    return _run(serve(), serving=True)


def _serve_many(
    args: argparse.Namespace,
    config: ServerConfig,
    sock: socket.socket,
    uvicorn: Any,
    cleanup: contextlib.ExitStack,
) -> int:
    """N processes on one listening socket; request metrics shared through files."""
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415

    from afisha_server import asgi  # noqa: PLC0415

    metrics_dir = tempfile.mkdtemp(prefix="afisha-metrics-")
    cleanup.callback(shutil.rmtree, metrics_dir, ignore_errors=True)
    # Read by the worker processes (spawned, so they see this environment).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ["AFISHA_PUBLIC_URL"] = config.public_url
    os.environ[asgi.SERVE_SCHEDULER] = "0" if args.no_scheduler else "1"
    os.environ[asgi.SERVE_LOG_LEVEL] = str(args.log_level)
    uvicorn_config = uvicorn.Config(
        "afisha_server.asgi:serve_worker_app",
        factory=True,
        workers=args.workers,
        log_level="warning",
        lifespan="on",
        log_config=None,
    )
    Multiprocess(uvicorn_config, sockets=[sock]).run()
    return 0


async def _migrate_quietly(config: ServerConfig) -> int:
    from afisha_server.bootstrap import open_database  # noqa: PLC0415

    db, close = await open_database(config, migrate=False)
    try:
        for migration in await db.migrate():
            logger.info("applied migration %04d_%s", migration.version, migration.name)
    finally:
        await close()
    return 0


def _worker(_args: argparse.Namespace, config: ServerConfig) -> int:
    from afisha_apscheduler import run_forever  # noqa: PLC0415
    from afisha_server.bootstrap import build_core  # noqa: PLC0415
    from afisha_server.heartbeat import Heartbeat  # noqa: PLC0415

    heartbeat = Heartbeat(Path(config.heartbeat_path))

    async def work() -> int:
        wiring = await build_core(config)  # the core alone: the worker serves no HTTP
        try:
            await run_forever(wiring.afisha, config.scheduler_interval, on_tick=heartbeat.beat)
        finally:
            await wiring.aclose()
        return 0

    return _run(work())


def _worker_health(args: argparse.Namespace, config: ServerConfig) -> int:
    from afisha_server.config import parse_duration  # noqa: PLC0415
    from afisha_server.heartbeat import check_heartbeat  # noqa: PLC0415

    try:
        max_age = (
            parse_duration(args.max_age)
            if args.max_age
            else 3 * config.scheduler_interval + timedelta(seconds=30)
        )
    except ValueError as exc:
        _fail(f"--max-age: {exc}")
        return 2
    problem = check_heartbeat(Path(config.heartbeat_path), max_age)
    if problem is not None:
        _fail(f"worker unhealthy: {problem}")
        return 1
    return 0


def _migrate(args: argparse.Namespace, config: ServerConfig) -> int:
    from afisha_core.migrations import load_migrations  # noqa: PLC0415
    from afisha_server.bootstrap import open_database  # noqa: PLC0415

    async def migrate() -> int:
        db, close = await open_database(config, migrate=False)
        try:
            if args.list:
                applied = set(await db.applied_migrations())
                available = load_migrations(_migrations_dir(config))
                for migration in available:
                    state = "applied" if migration.version in applied else "pending"
                    _say(config, f"{migration.version:04d}_{migration.name}  {state}")
                return 0
            todo = await db.migrate(dry_run=args.dry_run)
        finally:
            await close()
        verb = "would apply" if args.dry_run else "applied"
        for migration in todo:
            _say(config, f"{verb} {migration.version:04d}_{migration.name}")
        if not todo:
            _say(config, "database schema up to date: nothing to apply")
        elif not args.dry_run:
            _say(config, f"migrations applied: {len(todo)}")
        return 0

    return _run(migrate())


def _migrations_dir(config: ServerConfig) -> Path:
    if urlsplit(config.database_url).scheme == "sqlite":
        from afisha_sqlite.migrate import default_migrations_dir  # noqa: PLC0415

        return default_migrations_dir()
    from afisha_postgres.migrate import MIGRATIONS_DIR  # noqa: PLC0415

    return MIGRATIONS_DIR


def _backup(args: argparse.Namespace, config: ServerConfig) -> int:
    from afisha_server.bootstrap import sqlite_path  # noqa: PLC0415
    from afisha_sqlite import SqliteDatabase  # noqa: PLC0415

    if urlsplit(config.database_url).scheme != "sqlite":
        _fail(
            "backup copies the embedded SQLite database; for PostgreSQL use "
            "pg_dump --format=custom (see docs/operations.md)"
        )
        return 2
    source = sqlite_path(config.database_url)
    if not source.is_file():
        _fail(f"no database at {source}")
        return 1

    async def backup() -> int:
        db = SqliteDatabase(source)
        await db.open()
        try:
            written = await db.backup(args.path)
        finally:
            await db.close()
        _say(config, f"backup of {source} written to {written}")
        return 0

    return _run(backup())


def _create_admin(args: argparse.Namespace, config: ServerConfig) -> int:
    from afisha_server.bootstrap import build_core  # noqa: PLC0415

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("afisha: give the password on standard input", file=sys.stderr)
        return 2

    async def create() -> int:
        wiring = await build_core(config)
        try:
            # The core decides: the first administrator is a system user.
            user = await wiring.afisha.accounts.create_administrator(
                args.email, args.username, password, full_name=args.full_name
            )
        finally:
            await wiring.aclose()
        kind = "system administrator" if user.is_system else "administrator"
        print(f"created {kind} {user.username} <{user.email}> ({user.id})", flush=True)
        return 0

    return _run(create())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
