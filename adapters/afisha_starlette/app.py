"""The Starlette application: routes, errors as problem documents, health, media, docs."""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import afisha_core
from afisha_core.errors import AfishaError, NotAuthenticated, NotFound
from afisha_core.images import IMAGE_TYPES
from afisha_starlette import metrics
from afisha_starlette.api import API_ENDPOINTS
from afisha_starlette.docs_page import (
    DOCS_ASSETS,
    DOCS_INIT_JS,
    RECOVERY_HTML,
    docs_html,
    swagger_ui_folder,
)
from afisha_starlette.endpoints import Endpoint
from afisha_starlette.http import path_uuid
from afisha_starlette.openapi import openapi_document
from afisha_starlette.pages import event_page_html
from afisha_starlette.problems import JsonResponse, handle_afisha_error, handle_http, problem
from afisha_starlette.runtime import Runtime
from afisha_starlette.schemas import Health

__all__ = ["SYSTEM_ENDPOINTS", "RequestIdMiddleware", "create_app"]

access_log = logging.getLogger("afisha.access")
error_log = logging.getLogger("afisha.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Paths that carry a secret token: it never reaches the logs.
_SECRET_PATHS = re.compile(r"^(/v1/registrations/|/v1/password-recovery/|/password-recovery/)[^/]+")


def loggable_path(path: str) -> str:
    """``path`` with any token in it replaced by ``***``."""
    return _SECRET_PATHS.sub(r"\1***", path)


READY_TIMEOUT = 3.0


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


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def healthz(_request: Request) -> Response:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok", "checks": {}})


async def readyz(request: Request) -> Response:
    """Readiness: every backing service answers; otherwise 503 naming those that don't.

    The mail server is not one of them: mail waits in the outbox, and an SMTP outage
    must not take every API replica out of the load balancer.
    """
    checks = _runtime(request).checks

    async def run(check: Callable[[], Awaitable[None]]) -> str:
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await check()
        except Exception as exc:  # any failure means not ready; say which
            return f"unavailable: {type(exc).__name__}"
        return "ok"

    results = await asyncio.gather(*(run(c) for c in checks.values()))
    states = dict(zip(checks, results, strict=True))
    down = [name for name, state in states.items() if state != "ok"]
    body = {"status": "ok" if not down else "unavailable", "checks": states}
    if down:
        body["detail"] = "unavailable: " + ", ".join(down)
        return JsonResponse(body, status_code=503, headers={"Retry-After": "5"})
    return JsonResponse(body)


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format; with ``AFISHA_METRICS_TOKEN`` set, only for that bearer."""
    token: str | None = request.app.state.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return problem(
                401,
                "not_authenticated",
                "The metrics need the bearer token of AFISHA_METRICS_TOKEN.",
                headers={"WWW-Authenticate": "Bearer"},
            )
    body = await metrics.render(_runtime(request).backlog)
    return Response(body, media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


async def get_media(request: Request) -> Response:
    """Serve a picture from local storage (only when storage is local files)."""
    runtime = _runtime(request)
    if not runtime.serve_media:
        raise NotFound
    key = request.path_params["key"]
    try:
        found = await runtime.afisha.storage.get(key)
    except ValueError:
        raise NotFound from None
    if found is None:
        raise NotFound
    return Response(
        found.data,
        media_type=found.content_type,
        headers={
            # Keys are unique per upload, so the bytes under one never change.
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def recovery_page(_request: Request) -> Response:
    """The page a recovery email links to: a form that sets the new password."""
    return HTMLResponse(RECOVERY_HTML, headers={"Referrer-Policy": "no-referrer"})


async def event_page(request: Request) -> Response:
    """The page about an event that links for people point at (a cancelled one too)."""
    runtime = _runtime(request)
    view = await runtime.afisha.events.get(None, path_uuid(request, "event_id"))
    calendar_url = f"{request.scope.get('root_path', '')}/v1/events/{view.event.id}/calendar.ics"
    return HTMLResponse(event_page_html(view, calendar_url=calendar_url))


async def docs_page(request: Request) -> Response:
    """Swagger UI on this API's document: "try it out" and bearer login included."""
    return HTMLResponse(docs_html(request.scope.get("root_path", "")))


async def get_docs_asset(request: Request) -> Response:
    """A file of the docs page: Swagger UI's own (from its package) or the starter script."""
    name = request.path_params["name"]
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    if name == "afisha-docs.js":
        return Response(DOCS_INIT_JS, media_type="text/javascript; charset=utf-8", headers=headers)
    if name not in DOCS_ASSETS:
        raise NotFound
    return FileResponse(swagger_ui_folder() / name, media_type=DOCS_ASSETS[name], headers=headers)


def _route(endpoint: Endpoint) -> Route:
    if endpoint.method == "GET":
        return Route(endpoint.path, endpoint.handler, methods=["GET"])
    handler = endpoint.handler

    async def write(request: Request) -> Response:
        response = await handler(request)
        wake = _runtime(request).wake_mail
        if wake is not None and response.status_code < 400:
            wake()
        return response

    return Route(endpoint.path, write, methods=[endpoint.method])


SYSTEM_ENDPOINTS: list[Endpoint] = [
    Endpoint(method="GET", path="/healthz", handler=healthz, tag="system",
             operation_id="check_liveness", summary="Liveness: 200 while the process is up",
             response=Health, uses_services=False),
    Endpoint(method="GET", path="/readyz", handler=readyz, tag="system",
             operation_id="check_readiness",
             summary="Readiness: 200 when every backing service answers, 503 naming "
             "those that don't", response=Health, other_responses=((503, Health),)),
    Endpoint(method="GET", path="/metrics", handler=metrics_endpoint, tag="system",
             summary="Prometheus metrics (a bearer token when AFISHA_METRICS_TOKEN is set)",
             response_media=("text/plain",), response_schema={"type": "string"},
             errors=(NotAuthenticated,)),
    Endpoint(method="GET", path="/media/{key:path}", handler=get_media, tag="system",
             summary="A picture, when storage is local files (the app serves it itself)",
             response_media=(*IMAGE_TYPES, "application/octet-stream"),
             response_schema={"type": "string", "format": "binary"},
             description="Answers with the picture's own type (PNG, JPEG or WebP).",
             errors=(NotFound,)),
    Endpoint(method="GET", path="/password-recovery/{recovery_token}", handler=recovery_page,
             tag="pages", summary="The page recovery emails link to (HTML form)",
             response_media=("text/html",), uses_services=False),
    Endpoint(method="GET", path="/events/{event_id}", handler=event_page, tag="pages",
             summary="The page about an event (HTML; a cancelled one says so)",
             response_media=("text/html",), errors=(NotFound,)),
    Endpoint(method="GET", path="/docs", handler=docs_page, tag="system",
             summary="This API in Swagger UI: try it out, log in with a bearer token",
             response_media=("text/html",), uses_services=False),
    Endpoint(method="GET", path="/docs/assets/{name}", handler=get_docs_asset, tag="system",
             summary="A file of the docs page (Swagger UI, shipped with the server)",
             response_media=("text/css", "text/javascript", "image/png"), errors=(NotFound,),
             uses_services=False),
]  # fmt: skip


def create_app(
    runtime: Runtime | None = None,
    *,
    runtime_factory: Callable[[], Awaitable[Runtime]] | None = None,
    on_startup: Callable[[Runtime], Awaitable[Callable[[], Awaitable[None]] | None]] | None = None,
    cors_origins: tuple[str, ...] = (),
    public_url: str = "http://127.0.0.1:8080",
    metrics_token: str | None = None,
) -> Starlette:
    """The ASGI application of API.md.

    Give a ready ``runtime`` (tests, embedding) or a ``runtime_factory`` that the
    lifespan awaits at start-up and closes at shutdown. ``on_startup`` may start
    background work (the in-process scheduler) and return how to stop it.
    ``metrics_token``, when given, is the bearer token ``/metrics`` asks for.
    """

    async def get_openapi_document(request: Request) -> Response:
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
