"""The Starlette application: the route table, middleware, errors as problem documents."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

from starlette.applications import Starlette
from starlette.background import BackgroundTasks
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import afisha_core
from afisha_core.app import Afisha
from afisha_core.errors import AfishaError
from afisha_core.usecases import Principal
from afisha_starlette import metrics
from afisha_starlette.endpoints import Endpoint
from afisha_starlette.openapi import openapi_document
from afisha_starlette.problems import JsonResponse, handle_afisha_error, handle_http, problem
from afisha_starlette.routes import API_ENDPOINTS
from afisha_starlette.routes.system import SYSTEM_ENDPOINTS
from afisha_starlette.runtime import Runtime

__all__ = ["RequestIdMiddleware", "create_app"]

access_log = logging.getLogger("afisha.access")
error_log = logging.getLogger("afisha.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Paths that carry a secret token: it never reaches the logs.
_SECRET_PATHS = re.compile(r"^(/v1/registrations/|/v1/password-recovery/|/password-recovery/)[^/]+")


def loggable_path(path: str) -> str:
    """``path`` with any token in it replaced by ``***``."""
    return _SECRET_PATHS.sub(r"\1***", path)


class RequestIdMiddleware:
    """Give every response an ``X-Request-ID`` (the caller's, when sane) and log a line.

    The access log line is structured: ``method path status duration_ms request_id``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tag the request and its response with the request id, then log the line."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope["afisha.request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        started_response = False

        async def send_tracked(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send_with_id(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception:
            # Answer here rather than in Starlette's outermost error middleware, so a
            # 500 carries the request id too. Logged with the id, never re-raised.
            error_log.exception(
                "unhandled error on %s %s (request %s)",
                scope["method"],
                loggable_path(scope["path"]),
                request_id,
            )
            if not started_response:
                response = problem(500, "internal_error", "Something went wrong on our side.")
                await response(scope, receive, send_tracked)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            metrics.observe(scope["method"], route, status, elapsed)
            access_log.info(
                "%s %s %s %.1fms %s",
                scope["method"],
                loggable_path(scope["path"]),
                status,
                elapsed * 1000,
                request_id,
                extra={
                    "method": scope["method"],
                    "path": loggable_path(scope["path"]),
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "request_id": request_id,
                },
            )


def _route_template(scope: Scope) -> str:
    """The route's path template (``/v1/events/{event_id}``), or ``unmatched``.

    Templates, not paths, label the metrics: a path can hold any id or token.
    """
    app = scope.get("app")
    templates: dict[object, str] = getattr(getattr(app, "state", None), "route_templates", {})
    return templates.get(scope.get("endpoint"), "unmatched")


def _runtime_of(request: Request) -> Runtime:
    # An app built without a runtime still answers what needs none (/openapi.json, the
    # docs page, /healthz): the documentation build reads the document that way.
    return cast(Runtime, getattr(request.app.state, "runtime", None))


def _record_seen_after(request: Request, runtime: Runtime, response: Response) -> None:
    """Write the caller's ``last_seen_at``, when due, after the response is sent.

    The write is off the response's path: the client has its answer while the
    session row is updated (at most once per ``session_touch_interval``).
    """
    principal: Principal | None = request.scope.get("afisha.principal")
    if principal is None:
        return
    sessions = runtime.afisha.sessions
    if not sessions.seen_due(principal):
        return

    async def record() -> None:
        try:
            await sessions.record_seen(principal)
        except Exception:  # the answer is out; a missed last-seen is not worth a 500
            error_log.warning("could not record the session as seen", exc_info=True)

    tasks = BackgroundTasks([response.background] if response.background else [])
    tasks.add_task(record)
    response.background = tasks


def _route(endpoint: Endpoint) -> Route:
    """A route calling ``endpoint.handler(request, runtime)`` with the app's runtime."""
    handler = endpoint.handler

    async def read(request: Request) -> Response:
        runtime = _runtime_of(request)
        response = await handler(request, runtime)
        _record_seen_after(request, runtime, response)
        return response

    async def write(request: Request) -> Response:
        runtime = _runtime_of(request)
        response = await handler(request, runtime)
        if runtime.wake_mail is not None and response.status_code < 400:
            runtime.wake_mail()
        _record_seen_after(request, runtime, response)
        return response

    # The route's name is the handler's, which the OpenAPI document and logs read.
    call = read if endpoint.method == "GET" else write
    return Route(endpoint.path, call, methods=[endpoint.method], name=handler.__name__)


def create_app(
    core: Runtime | Afisha | None = None,
    *,
    runtime_factory: Callable[[], Awaitable[Runtime]] | None = None,
    on_startup: Callable[[Runtime], Awaitable[Callable[[], Awaitable[None]] | None]] | None = None,
    cors_origins: tuple[str, ...] = (),
    public_url: str = "http://127.0.0.1:8080",
    metrics_token: str | None = None,
) -> Starlette:
    """The ASGI application of the HTTP API (``/v1``, the pages, health, docs).

    Give the core: an :class:`~afisha_core.app.Afisha` as it is, or a
    :class:`Runtime` around it when the app should also check services for
    ``/readyz``, serve local pictures or wake the mail delivery (tests, embedding); or
    a ``runtime_factory`` that the lifespan awaits at start-up and closes at shutdown.
    ``on_startup`` may start background work (the in-process scheduler) and return how
    to stop it.
    ``metrics_token``, when given, is the bearer token ``/metrics`` asks for.
    """
    runtime = Runtime(afisha=core) if isinstance(core, Afisha) else core

    async def get_openapi_document(request: Request, _runtime: Runtime) -> Response:
        """The OpenAPI document; mounted under a prefix, its server URL carries the prefix."""
        root_path = request.scope.get("root_path", "").rstrip("/")
        if root_path and not public_url.rstrip("/").endswith(root_path):
            return JsonResponse(
                {**document, "servers": [{"url": public_url.rstrip("/") + root_path}]}
            )
        return JsonResponse(document)

    endpoints = [
        *API_ENDPOINTS,
        *SYSTEM_ENDPOINTS,
        Endpoint(method="GET", path="/openapi.json", handler=get_openapi_document,
                 tag="system", summary="This OpenAPI 3.1 document",
                 response_schema={"type": "object"}, uses_services=False),
    ]  # fmt: skip
    document = openapi_document(endpoints, version=afisha_core.__version__, server_url=public_url)
    routes = [_route(e) for e in endpoints]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        built = runtime
        if built is None and runtime_factory is not None:
            built = await runtime_factory()
        if built is None:
            raise RuntimeError("create_app needs a runtime or a runtime_factory")
        app.state.runtime = built
        stop = await on_startup(built) if on_startup else None
        try:
            yield
        finally:
            if stop is not None:
                await stop()
            if runtime is None:
                await built.aclose()

    middleware = [Middleware(RequestIdMiddleware)]
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID", "Retry-After"],
            )
        )
    handlers: dict[Any, Any] = {
        AfishaError: handle_afisha_error,
        HTTPException: handle_http,
    }
    app = Starlette(
        routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan
    )
    if runtime is not None:
        app.state.runtime = runtime  # usable without running the lifespan (tests)
    app.state.endpoints = endpoints
    app.state.metrics_token = metrics_token
    app.state.route_templates = {route.endpoint: route.path for route in routes}
    return app
