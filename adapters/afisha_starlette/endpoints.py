"""How an endpoint is described once, for the router and for the OpenAPI document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import attrs
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["Access", "Endpoint", "QueryParam"]

Access = Literal["anyone", "user", "admin"]
Handler = Callable[[Request], Awaitable[Response]]


@attrs.frozen(kw_only=True)
class QueryParam:
    """One query parameter: its name, JSON Schema and description."""

    name: str
    schema: dict[str, Any]
    description: str = ""


@attrs.frozen(kw_only=True)
class Endpoint:
    """One route: the handler, who may call it, and the shapes it reads and writes."""

    method: str
    path: str
    handler: Handler
    summary: str
    access: Access = "anyone"
    body: type | None = None
    body_required: bool = True
    body_media: tuple[str, ...] = ("application/json",)
    response: type | None = None
    response_media: tuple[str, ...] = ("application/json",)
    #: The body's schema when ``response`` is not an attrs class (e.g. the OpenAPI document).
    response_schema: dict[str, Any] | None = None
    status: int = 200
    query: tuple[QueryParam, ...] = ()
    errors: tuple[int, ...] = ()
    tag: str = "api"
