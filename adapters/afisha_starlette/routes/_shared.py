"""What every route module shares: the caller, the body, rendering, paging parameters.

Handlers get the :class:`~afisha_starlette.runtime.Runtime` as an argument (the
route table passes it), never from a global.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from afisha_core.domain import User
from afisha_core.errors import Forbidden, RateLimited, TotpSetupRequired
from afisha_core.usecases import Principal
from afisha_starlette import schemas as s
from afisha_starlette.endpoints import QueryParam
from afisha_starlette.parsing import bearer_token, read_json, structure_body
from afisha_starlette.problems import JsonResponse
from afisha_starlette.runtime import Runtime

__all__ = [
    "CURSOR",
    "LIMIT",
    "STATUS",
    "admin_of",
    "client_of",
    "limit_mail_by_address",
    "login_out",
    "page_of",
    "parse_body",
    "principal_of",
    "render",
    "render_event",
    "viewer_of",
]


def render(runtime: Runtime, value: Any, status: int = 200) -> JSONResponse:
    return JsonResponse(runtime.converter.unstructure(value), status_code=status)


def client_of(request: Request) -> tuple[str, str | None]:
    agent = request.headers.get("user-agent", "")
    return agent, request.client.host if request.client else None


async def principal_of(request: Request, rt: Runtime) -> Principal:
    cached: Principal | None = request.scope.get("afisha.principal")
    if cached is None:
        # ``last_seen_at`` is written after the response (see the app's routes).
        cached = await rt.afisha.sessions.authenticate(bearer_token(request), record_seen=False)
        request.scope["afisha.principal"] = cached
    return cached


async def viewer_of(request: Request, rt: Runtime) -> User | None:
    """The caller on a public endpoint: anonymous without a token, 401 for a bad one."""
    if "authorization" not in request.headers:
        return None
    return (await principal_of(request, rt)).user


async def admin_of(request: Request, rt: Runtime) -> User:
    user = (await principal_of(request, rt)).user
    if not user.is_admin:
        raise Forbidden
    if rt.afisha.settings.require_admin_totp and not user.totp_enabled:
        raise TotpSetupRequired
    return user


async def parse_body(
    request: Request, rt: Runtime, cls: type[Any], *, optional: bool = False
) -> Any:
    data = await read_json(request, optional=optional)
    return structure_body(rt.converter, data or {}, cls)


def login_out(result: Any) -> s.LoginOut:
    return s.LoginOut(
        token=result.token,
        session=s.SessionOut.of(result.session, result.session.uid),
        user=s.UserOut.of(result.user),
    )


def page_of(runtime: Runtime, cls: type[Any], items: list[Any], cursor: str | None) -> JSONResponse:
    return render(runtime, cls(items=items, next_cursor=cursor))


async def limit_mail_by_address(request: Request, rt: Runtime) -> None:
    """Count a request that makes the server send mail against the client address.

    The per-email limits stop mail bombing of one address; this one stops a single
    client from making the server mail any number of addresses. Past it: 429.
    """
    _agent, address = client_of(request)
    if address is None:
        return
    afisha = rt.afisha
    limit = afisha.settings.mail_requests_per_address
    result = await afisha.limiter.hit(
        f"mail-requests:address:{address}", limit=limit.count, window=limit.window
    )
    if not result.allowed:
        raise RateLimited(result.retry_after, "Too many requests that send mail; try again later.")


LIMIT = QueryParam(
    name="limit",
    schema={"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    description="Page size.",
)

CURSOR = QueryParam(
    name="cursor", schema={"type": "string"}, description="`next_cursor` of the previous page."
)

STATUS = QueryParam(
    name="status",
    schema={"$ref": "#/components/schemas/ParticipationStatus"},
    description="Only participations with this status.",
)


def render_event(rt: Runtime, view: Any, status: int = 200) -> JSONResponse:
    """An event as its document (``image_url`` from the storage)."""
    runtime = rt
    return render(runtime, s.EventOut.of(view, runtime.afisha.storage), status)
