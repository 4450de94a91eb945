"""Logging in and out, and one's sessions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from afisha_core.errors import (
    InvalidCredentials,
    NotFound,
    RateLimited,
)
from afisha_starlette import schemas as s
from afisha_starlette.endpoints import Endpoint
from afisha_starlette.parsing import (
    path_uuid,
    query_cursor,
    query_limit,
)
from afisha_starlette.routes._shared import (
    CURSOR,
    LIMIT,
    client_of,
    login_out,
    page_of,
    parse_body,
    principal_of,
    render,
)
from afisha_starlette.runtime import Runtime

__all__ = ["ENDPOINTS"]


async def login(request: Request, rt: Runtime) -> Response:
    body: s.LoginIn = await parse_body(request, rt, s.LoginIn)
    agent, address = client_of(request)
    result = await rt.afisha.sessions.login(
        body.login,
        body.password,
        totp_code=body.totp_code,
        user_agent=agent,
        client_address=address,
    )
    return render(rt, login_out(result), 201)


async def list_sessions(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    page = await rt.afisha.sessions.list_sessions(
        principal.user, limit=query_limit(request), cursor=query_cursor(request)
    )
    items = [s.SessionOut.of(x, principal.session.uid) for x in page.items]
    return page_of(rt, s.SessionList, items, page.next_cursor)


async def logout(request: Request, rt: Runtime) -> Response:
    await rt.afisha.sessions.logout(await principal_of(request, rt))
    return Response(status_code=204)


async def revoke_session(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    await rt.afisha.sessions.revoke(
        principal.user, path_uuid(request, "uid"), client_address=client_of(request)[1]
    )
    return Response(status_code=204)


ENDPOINTS: list[Endpoint] = [
    Endpoint(method="POST", path="/v1/sessions", handler=login, tag="sessions",
             summary="Log in by email or username", body=s.LoginIn, response=s.LoginOut,
             status=201, errors=(InvalidCredentials, RateLimited)),
    Endpoint(method="GET", path="/v1/sessions", handler=list_sessions, tag="sessions",
             summary="List one's own sessions", access="user", response=s.SessionList,
             query=(LIMIT, CURSOR)),
    Endpoint(method="DELETE", path="/v1/sessions/current", handler=logout,
             tag="sessions", summary="Log out: the calling token stops working",
             access="user", status=204),
    Endpoint(method="DELETE", path="/v1/sessions/{uid}", handler=revoke_session,
             tag="sessions", summary="Revoke one of one's sessions", access="user",
             status=204, errors=(NotFound,)),
]  # fmt: skip
