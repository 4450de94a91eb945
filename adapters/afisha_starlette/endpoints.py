"""How an endpoint is described once, for the router and for the OpenAPI document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import attrs
from starlette.requests import Request
from starlette.responses import Response

from afisha_core.errors import AfishaError

if TYPE_CHECKING:
    from afisha_starlette.runtime import Runtime

__all__ = ["Access", "Endpoint", "Handler", "QueryParam"]

Access = Literal["anyone", "user", "admin"]
#: A handler is given the request and the app's runtime (the core and its adapters).
Handler = Callable[[Request, "Runtime"], Awaitable[Response]]


@attrs.frozen(kw_only=True)
class QueryParam:
    """One query parameter: its name, JSON Schema and description."""

    name: str
    schema: dict[str, Any]
    description: str = ""


@attrs.frozen(kw_only=True)
class Endpoint:
    """One route: the handler, who may call it, and the shapes it reads and writes.

    ``operation_id`` defaults to the handler's name, so name handlers for what they
    do (``list_events``, ``join_event``). ``optional_auth`` marks a public endpoint
    that answers differently with a token (``my_status``), so the document declares
    the bearer scheme as optional there. ``errors`` are the domain errors the endpoint
    may answer with beyond those every endpoint of its kind has (a bad token, a
    malformed body, an unavailable service): the document lists each status with
    the ``code`` of each error.
    """

    method: str
    path: str
    handler: Handler
    summary: str
    operation_id: str = ""
    description: str = ""
    access: Access = "anyone"
    optional_auth: bool = False
    body: type | None = None
    body_required: bool = True
    body_media: tuple[str, ...] = ("application/json",)
    response: type | None = None
    response_media: tuple[str, ...] = ("application/json",)
    #: The body's schema when ``response`` is not an attrs class (e.g. the OpenAPI document).
    response_schema: dict[str, Any] | None = None
    status: int = 200
    query: tuple[QueryParam, ...] = ()
    errors: tuple[type[AfishaError], ...] = ()
    #: Whether it reads a backing service (and so may answer 503 when one is down).
    uses_services: bool = True
    #: Statuses answered with a JSON body of this class instead of a problem document.
    other_responses: tuple[tuple[int, type], ...] = ()
    #: Statuses answered in ``response_media`` too (a page showing what went wrong).
    other_statuses: tuple[int, ...] = ()
    tag: str = "api"

    @property
    def name(self) -> str:
        """The OpenAPI ``operationId``."""
        return self.operation_id or self.handler.__name__
