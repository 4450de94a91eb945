"""The endpoints outside ``/v1``: health, readiness, metrics, media and the docs page."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from afisha_core.errors import NotAuthenticated, NotFound
from afisha_core.images import IMAGE_TYPES
from afisha_starlette import metrics
from afisha_starlette.docs_page import (
    DOCS_ASSETS,
    DOCS_INIT_JS,
    docs_html,
    swagger_ui_folder,
)
from afisha_starlette.endpoints import Endpoint
from afisha_starlette.problems import JsonResponse, problem
from afisha_starlette.routes.pages import PAGES
from afisha_starlette.runtime import Runtime
from afisha_starlette.schemas import Health

__all__ = ["SYSTEM_ENDPOINTS"]

READY_TIMEOUT = 3.0


async def healthz(_request: Request, rt: Runtime) -> Response:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok", "checks": {}})


async def readyz(request: Request, rt: Runtime) -> Response:
    """Readiness: every backing service answers; otherwise 503 naming those that don't.

    The mail server is not one of them: mail waits in the outbox, and an SMTP outage
    must not take every API replica out of the load balancer.
    """
    checks = rt.checks

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


async def metrics_endpoint(request: Request, rt: Runtime) -> Response:
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
    body = await metrics.render(rt.backlog)
    return Response(body, media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


async def get_media(request: Request, rt: Runtime) -> Response:
    """Serve a picture from local storage (only when storage is local files)."""
    runtime = rt
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


async def docs_page(request: Request, rt: Runtime) -> Response:
    """Swagger UI on this API's document: "try it out" and bearer login included."""
    return HTMLResponse(docs_html(request.scope.get("root_path", "")))


async def get_docs_asset(request: Request, rt: Runtime) -> Response:
    """A file of the docs page: Swagger UI's own (from its package) or the starter script."""
    name = request.path_params["name"]
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    if name == "afisha-docs.js":
        return Response(DOCS_INIT_JS, media_type="text/javascript; charset=utf-8", headers=headers)
    if name not in DOCS_ASSETS:
        raise NotFound
    return FileResponse(swagger_ui_folder() / name, media_type=DOCS_ASSETS[name], headers=headers)


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
    Endpoint(method="GET", path="/docs", handler=docs_page, tag="system",
             summary="This API in Swagger UI: try it out, log in with a bearer token",
             response_media=("text/html",), uses_services=False),
    Endpoint(method="GET", path="/docs/assets/{name}", handler=get_docs_asset, tag="system",
             summary="A file of the docs page (Swagger UI, shipped with the server)",
             response_media=("text/css", "text/javascript", "image/png"), errors=(NotFound,),
             uses_services=False),
    *PAGES,
]  # fmt: skip
