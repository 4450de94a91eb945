"""The ASGI application of Afisha's HTTP API, for any ASGI server.

    uvicorn afisha_server.asgi:app --workers 4 --host 0.0.0.0 --port 8080
    gunicorn afisha_server.asgi:app -k uvicorn_worker.UvicornWorker -w 4
    uvicorn afisha_server.asgi:create_app --factory

``app`` is built from the ``AFISHA_*`` environment variables the first time it is
looked up; ``create_app(config=None)`` builds a new one (from the environment when
``config`` is ``None``). Each process opens its own connections in the lifespan
(and migrates the database, which is safe from many processes at once); the
reminder and mail scheduler is not run here: run ``afisha worker`` beside it.
For ``/metrics`` across processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty
directory before the server starts (``afisha serve --workers N`` does).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette

from afisha_server.bootstrap import build_runtime
from afisha_server.config import ServerConfig
from afisha_server.gc_tuning import tune_garbage_collector
from afisha_server.logs import configure_logging
from afisha_server.tracing import setup_tracing
from afisha_starlette.app import create_app as create_starlette_app
from afisha_starlette.runtime import Runtime

__all__ = ["app", "create_app"]

#: Set by ``afisha serve --workers N`` for its worker processes (not for operators).
SERVE_SCHEDULER = "AFISHA_SERVE_SCHEDULER"
SERVE_LOG_LEVEL = "AFISHA_SERVE_LOG_LEVEL"


def create_app(
    config: ServerConfig | None = None,
    *,
    scheduler: bool = False,
    runtime: Runtime | None = None,
) -> Starlette:
    """The HTTP API on the adapters ``config`` names (the environment's by default).

    Nothing connects until the ASGI lifespan starts. ``scheduler`` also runs the
    reminder and mail ticks in this process (what ``afisha serve`` does by default).
    ``runtime``, when given, is used as it is (and left open) instead of being built.
    """
    config = config if config is not None else ServerConfig.from_env(os.environ)

    async def runtime_factory() -> Runtime:
        return await build_runtime(config)

    async def start_scheduler(runtime: Runtime) -> Callable[[], Awaitable[None]] | None:
        if not scheduler:
            return None
        from afisha_apscheduler import Worker  # noqa: PLC0415 - only when asked for

        worker = Worker(runtime.afisha, config.scheduler_interval)
        worker.start()
        runtime.wake_mail = worker.wake_mail
        return worker.shutdown

    application = create_starlette_app(
        runtime,
        runtime_factory=None if runtime is not None else runtime_factory,
        on_startup=start_scheduler,
        cors_origins=config.cors_origins,
        public_url=config.public_url,
        metrics_token=config.metrics_token,
    )
    if config.tracing:
        setup_tracing(application)
    return application


def serve_worker_app() -> Starlette:
    """The app of one ``afisha serve --workers N`` process (its logging set up first)."""
    config = ServerConfig.from_env(os.environ)
    configure_logging(os.environ.get(SERVE_LOG_LEVEL, "INFO"), config.log_format)
    app = create_app(config, scheduler=os.environ.get(SERVE_SCHEDULER) == "1")
    tune_garbage_collector()
    return app


#: The application configured from the environment (built on first use, see below).
app: Starlette
_app: Starlette | None = None


def __getattr__(name: str) -> Starlette:
    """``app``: built from the environment on first use, so importing stays cheap."""
    global _app  # noqa: PLW0603 - one lazily built application per process
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _app is None:
        _app = create_app()
    return _app
